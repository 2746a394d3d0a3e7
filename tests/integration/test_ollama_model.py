"""ollama_model / ollama_model_info run through ansible-playbook against the local Ollama emulator."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "local_platform"))

from ollama_server.harness import OllamaServer  # noqa: E402

PYTHON = sys.executable


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = OllamaServer(str(tmp_path_factory.mktemp("ollama-int"))).start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def clean(server):
    server.reset()
    server.reset_stats()
    yield


def run_module(tmp_path, module, args, *, check=False, diff=False, env=None):
    """Run one task with ansible-playbook and return the registered result."""
    playbook = tmp_path / "play.yml"
    task = {"name": "under test", module: args, "register": "r", "ignore_errors": True}
    playbook.write_text(textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          tasks:
            - %s
            - name: emit
              ansible.builtin.copy:
                content: "{{ r | to_json }}"
                dest: %s
              check_mode: false
              diff: false
        """) % (json.dumps(task), tmp_path / "result.json"))
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
           "-e", "ansible_python_interpreter=%s" % PYTHON]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    run_env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0")
    run_env.pop("OLLAMA_HOST", None)
    run_env.update(env or {})
    proc = subprocess.run(cmd, cwd=REPO, env=run_env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(tmp_path / "result.json") as handle:
        return json.load(handle)


def tags(server):
    return {m["name"]: m for m in server.call("GET", "/api/tags")["models"]}


def test_present_pulls_then_second_run_is_one_request_and_unchanged(server, tmp_path):
    first = run_module(tmp_path, "llm_saas.platform.ollama_model", {"name": "llama3", "api_url": server.url})
    assert first["changed"] is True, first
    assert first["model"]["name"] == "llama3:latest"
    assert first["model"]["digest"] == tags(server)["llama3:latest"]["digest"]
    assert first["model"]["details"]["parameter_size"] == "8.0B"
    assert first["pull_status"][-1] == "success"
    assert "pulling manifest" in first["pull_status"]
    assert isinstance(first["elapsed"], float)

    server.reset_stats()
    second = run_module(tmp_path, "llm_saas.platform.ollama_model",
                        {"name": "registry.ollama.ai/library/llama3:latest", "api_url": server.url})
    assert second["changed"] is False
    assert second["model"]["digest"] == first["model"]["digest"]
    assert server.stats() == {"total": 1, "requests": {"GET /api/tags": 1}}


def test_check_mode_never_pulls_and_diff_shows_lists(server, tmp_path):
    result = run_module(tmp_path, "llm_saas.platform.ollama_model",
                        {"name": "mistral:7b", "api_url": server.url}, check=True, diff=True)
    assert result["changed"] is True
    assert result["diff"] == {"before": {"models": []}, "after": {"models": ["mistral:7b"]}}
    assert "POST /api/pull" not in server.stats()["requests"]
    assert tags(server) == {}

    run_module(tmp_path, "llm_saas.platform.ollama_model", {"name": "mistral:7b", "api_url": server.url})
    server.reset_stats()
    result = run_module(tmp_path, "llm_saas.platform.ollama_model",
                        {"name": "mistral:7b", "api_url": server.url, "state": "absent"}, check=True, diff=True)
    assert result["changed"] is True
    assert result["diff"] == {"before": {"models": ["mistral:7b"]}, "after": {"models": []}}
    assert "DELETE /api/delete" not in server.stats()["requests"]
    assert "mistral:7b" in tags(server)


def test_latest_reports_change_only_when_digest_changes(server, tmp_path):
    args = {"name": "qwen2.5:7b", "api_url": server.url, "state": "latest"}
    first = run_module(tmp_path, "llm_saas.platform.ollama_model", args)
    assert first["changed"] is True
    same = run_module(tmp_path, "llm_saas.platform.ollama_model", args)
    assert same["changed"] is False
    assert same["pull_status"][-1] == "success"
    assert same["model"]["digest"] == first["model"]["digest"]

    server.publish("qwen2.5:7b")
    updated = run_module(tmp_path, "llm_saas.platform.ollama_model", args, diff=True)
    assert updated["changed"] is True
    assert updated["model"]["digest"] != first["model"]["digest"]
    assert updated["model"]["digest"] == tags(server)["qwen2.5:7b"]["digest"]


def test_absent_twice(server, tmp_path):
    run_module(tmp_path, "llm_saas.platform.ollama_model", {"name": "tinyllama", "api_url": server.url})
    args = {"name": "tinyllama:latest", "api_url": server.url, "state": "absent"}
    assert run_module(tmp_path, "llm_saas.platform.ollama_model", args)["changed"] is True
    assert tags(server) == {}
    server.reset_stats()
    again = run_module(tmp_path, "llm_saas.platform.ollama_model", args)
    assert again["changed"] is False
    assert server.stats()["requests"] == {"GET /api/tags": 1}


def test_unknown_model_fails_with_ollama_message(server, tmp_path):
    result = run_module(tmp_path, "llm_saas.platform.ollama_model",
                        {"name": "does-not-exist:1b", "api_url": server.url})
    assert result["failed"] is True
    assert "pull model manifest: file does not exist" in result["msg"]
    # Ollama's own errors are not transport errors, so no retry.
    assert server.stats()["requests"]["POST /api/pull"] == 1


def test_bad_name_fails_before_any_request(server, tmp_path):
    result = run_module(tmp_path, "llm_saas.platform.ollama_model",
                        {"name": "a/b/c/d:x", "api_url": server.url})
    assert result["failed"] is True
    assert "'name'" in result["msg"] and "[registry/][namespace/]model[:tag]" in result["msg"]
    result = run_module(tmp_path, "llm_saas.platform.ollama_model",
                        {"name": "llama3:bad tag", "api_url": server.url})
    assert result["failed"] is True and "'name'" in result["msg"]
    assert server.stats()["total"] == 0


def test_cut_mid_pull_is_retried_and_resumes(server, tmp_path):
    server.faults(cut_after_lines=5, times=2)
    result = run_module(tmp_path, "llm_saas.platform.ollama_model",
                        {"name": "gemma2:9b", "api_url": server.url, "retry_delay": 0.05})
    assert result["changed"] is True, result
    assert result["pull_status"][-1] == "success"
    assert server.stats()["requests"]["POST /api/pull"] == 3
    assert "gemma2:9b" in tags(server)
    assert sum("interrupted" in w for w in result.get("warnings", [])) == 2


def test_persistent_cut_fails_after_retries(server, tmp_path):
    server.faults(cut_after_lines=3, times=10)
    result = run_module(tmp_path, "llm_saas.platform.ollama_model",
                        {"name": "phi3:mini", "api_url": server.url, "retries": 2, "retry_delay": 0.05})
    assert result["failed"] is True
    assert "failed after 3 attempt(s) (retries=2)" in result["msg"]
    assert "connection dropped mid-stream" in result["msg"]
    assert server.stats()["requests"]["POST /api/pull"] == 3
    assert tags(server) == {}


def test_error_line_mid_stream_fails_with_its_message(server, tmp_path):
    server.faults(error_after_lines=3, message="write /root/.ollama/models/blobs: no space left on device")
    result = run_module(tmp_path, "llm_saas.platform.ollama_model", {"name": "phi3:mini", "api_url": server.url})
    assert result["failed"] is True
    assert "no space left on device" in result["msg"]


def test_total_timeout_bounds_a_slow_pull(server, tmp_path):
    server.faults(delay_per_line=0.5)
    try:
        result = run_module(tmp_path, "llm_saas.platform.ollama_model",
                            {"name": "tinyllama", "api_url": server.url, "timeout": 1, "retries": 3})
    finally:
        server.clear_faults()
    assert result["failed"] is True
    assert "did not finish within timeout=1.0s" in result["msg"]
    # A deadline is not a dropped connection: no retry.
    assert server.stats()["requests"]["POST /api/pull"] == 1


def test_preload_loads_model_and_info_lists_it(server, tmp_path):
    result = run_module(tmp_path, "llm_saas.platform.ollama_model",
                        {"name": "tinyllama", "api_url": server.url, "preload": True, "keep_alive": "1h"})
    assert result["changed"] is True and result["preloaded"] is True
    info = run_module(tmp_path, "llm_saas.platform.ollama_model_info",
                      {"api_url": server.url, "details": True})
    assert [m["name"] for m in info["models"]] == ["tinyllama:latest"]
    assert info["models"][0]["show"]["details"]["family"] == "llama"
    assert [m["name"] for m in info["running"]] == ["tinyllama:latest"]
    assert info["running"][0]["size_vram"] > 0
    assert info["changed"] is False


def test_ollama_host_env_without_scheme(server, tmp_path):
    result = run_module(tmp_path, "llm_saas.platform.ollama_model_info", {},
                        env={"OLLAMA_HOST": "127.0.0.1:%d" % server.port})
    assert result["target"] == server.url
    assert result["models"] == []


def test_unreachable_endpoint_is_a_clear_error(tmp_path):
    result = run_module(tmp_path, "llm_saas.platform.ollama_model",
                        {"name": "llama3", "api_url": "http://127.0.0.1:9", "request_timeout": 5})
    assert result["failed"] is True
    assert "cannot reach Ollama at http://127.0.0.1:9" in result["msg"]
