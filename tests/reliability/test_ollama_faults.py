"""Ollama pulls under faults: a cut connection, an error line mid-stream, a throttling API server.

The model store must never hold half a model: after every failure the server lists the model as
absent (its manifest is only written after the last blob), and the re-run completes it.
"""

from __future__ import annotations

import json

from reliability_support import k8s_call, run_direct

MODULE = "llm_saas.platform.ollama_model"


def warnings(result: dict) -> list[str]:
    """Warning texts (ansible-core 2.19 gives a module run outside a playbook structured warnings)."""
    out = []
    for warning in result.get("warnings", []):
        out.append(warning if isinstance(warning, str) else warning.get("event", {}).get("msg", str(warning)))
    return out


def installed(server) -> dict[str, dict]:
    return {m["name"]: m for m in server.call("GET", "/api/tags")["models"]}


def state_file(server) -> dict:
    with open(f"{server.state_dir}/ollama-state.json") as handle:
        return json.load(handle)


def assert_absent_or_complete(server, name: str, *, present: bool) -> None:
    """The server's state: either no manifest for ``name`` or a complete one (all blobs done)."""
    models = installed(server)
    assert (name in models) is present, models
    if present:
        show = server.call("POST", "/api/show", {"model": name})
        assert show["details"]["parameter_size"]
        assert models[name]["size"] > 0 and len(models[name]["digest"]) == 64
    saved = json.dumps(state_file(server))
    # No manifest of the failed model sits in the persisted state (partial blobs are resume data).
    if not present:
        assert f'"name": "{name}"' not in saved


def test_cut_and_error_line_mid_pull_are_reported_and_rerun_completes(ollama, tmp_path):
    ollama.reset()
    ollama.reset_stats()
    # A cut with no retries left: the message says what happened and that a re-run resumes.
    ollama.faults(cut_after_lines=4, times=1)
    cut = run_direct(tmp_path, MODULE, {"name": "phi3:mini", "api_url": ollama.url, "retries": 0}, name="cut")
    assert cut["failed"] is True
    assert "connection dropped mid-stream" in cut["msg"], cut["msg"]
    assert "failed after 1 attempt(s) (retries=0)" in cut["msg"]
    assert "re-running resumes" in cut["msg"]
    assert_absent_or_complete(ollama, "phi3:mini", present=False)

    # Ollama itself reports an error line in the middle of the stream: not retried, reported as is.
    ollama.faults(error_after_lines=3, message="write /root/.ollama/models/blobs: no space left on device")
    err = run_direct(tmp_path, MODULE, {"name": "tinyllama", "api_url": ollama.url, "retry_delay": 0.05},
                     name="err")
    assert err["failed"] is True
    assert "failed to pull 'tinyllama:latest'" in err["msg"] and "no space left on device" in err["msg"], err["msg"]
    assert_absent_or_complete(ollama, "tinyllama:latest", present=False)
    pulls_before = ollama.stats()["requests"]["POST /api/pull"]
    assert pulls_before == 2, "an error line is final: it must not be retried"

    # Re-run, with one more cut on the way that the module's own retry absorbs: both complete.
    ollama.faults(cut_after_lines=2, times=1)
    phi3, tiny, phi3_again = (
        run_direct(tmp_path, MODULE, args, name=f"again{i}")
        for i, args in enumerate(({"name": "phi3:mini", "api_url": ollama.url, "retry_delay": 0.05},
                                  {"name": "tinyllama", "api_url": ollama.url, "retry_delay": 0.05},
                                  {"name": "phi3:mini", "api_url": ollama.url})))
    assert phi3.get("failed") is not True and phi3["changed"] is True, phi3
    assert any("interrupted" in w and "retry 1" in w for w in warnings(phi3)), phi3
    assert tiny.get("failed") is not True and tiny["changed"] is True, tiny
    assert phi3_again["changed"] is False
    assert_absent_or_complete(ollama, "phi3:mini", present=True)
    assert_absent_or_complete(ollama, "tinyllama:latest", present=True)
    # The cut attempt resumed the blobs it had: the re-run pulled the same digest as a clean pull.
    assert phi3["model"]["digest"] == installed(ollama)["phi3:mini"]["digest"]


def test_api_server_429_and_500_on_the_service_proxy_are_retried(ollama, k8s, tmp_path):
    """ollama_model through the Kubernetes service proxy while the API server throttles and fails."""
    ollama.reset()
    k8s_call(k8s, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rel"}})
    k8s_call(k8s, "POST", "/api/v1/namespaces/rel/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "ollama"},
        "spec": {"selector": {"app": "ollama"}, "ports": [{"name": "http", "port": 11434}]}})
    proxy = "/api/v1/namespaces/rel/services/ollama:11434/proxy"
    for status, count, path in ((429, 2, "/api/tags"), (500, 1, "/api/tags"), (500, 2, "/api/pull"),
                                (429, 1, "/api/pull")):
        fault = {"status": status, "count": count, "path_regex": "^" + proxy + path + "$"}
        k8s_call(k8s, "POST", "/_emulator/faults", fault)
    args = {"name": "nomic-embed-text", "service": {"namespace": "rel", "name": "ollama", "port": 11434},
            "kubeconfig": str(k8s.kubeconfig), "retry_delay": 0.1}
    result = run_direct(tmp_path, MODULE, args, name="proxy")
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    assert result["pull_status"][-1] == "success"
    # Every injected answer was consumed: the module came back after each of them.
    assert k8s_call(k8s, "GET", "/_emulator/stats")["faults"] == []
    retries = [w for w in warnings(result) if "interrupted" in w]
    assert len(retries) == 3, result.get("warnings")
    assert any("HTTP 500" in w for w in retries) and any("HTTP 429" in w for w in retries), retries
    assert_absent_or_complete(ollama, "nomic-embed-text:latest", present=True)
