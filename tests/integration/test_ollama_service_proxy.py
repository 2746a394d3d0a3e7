"""ollama_model through the Kubernetes API server service proxy (local k8s emulator -> local Ollama emulator)."""

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LOCAL_PLATFORM = os.path.join(REPO, "tests", "local_platform")
sys.path.insert(0, LOCAL_PLATFORM)
sys.path.insert(0, HERE)

from ollama_server.harness import OllamaServer, free_port  # noqa: E402
from test_ollama_model import run_module  # noqa: E402

if not os.path.isdir(os.path.join(LOCAL_PLATFORM, "k8s_emulator")):
    pytest.skip("k8s_emulator not available", allow_module_level=True)


@pytest.fixture(scope="module")
def ollama(tmp_path_factory):
    srv = OllamaServer(str(tmp_path_factory.mktemp("ollama-proxy"))).start()
    yield srv
    srv.stop()


def _kube(api, method, path, body=None):
    # The emulator's own plain-http URL, so S310's file:/custom-scheme concern does not apply.
    req = urllib.request.Request(api + path, method=method,  # noqa: S310
                                 data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json", "Authorization": "Bearer test"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def kube(tmp_path_factory, ollama):
    state = tmp_path_factory.mktemp("k8s-proxy")
    port = free_port()
    kubeconfig = str(state / "kubeconfig")
    log = open(state / "k8s.log", "wb")  # noqa: SIM115 - outlives this block, closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "k8s_emulator", "--host", "127.0.0.1", "--port", str(port), "--state-dir",
         str(state / "data"), "--proxy-backend", "tenant-*/ollama:11434=%s" % ollama.url,
         "--kubeconfig-out", kubeconfig],
        env=dict(os.environ, PYTHONPATH=LOCAL_PLATFORM), stdout=log, stderr=log)
    api = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + 30
    while True:
        try:
            _kube(api, "GET", "/api/v1/namespaces")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("k8s emulator did not start, see %s" % (state / "k8s.log"))
            time.sleep(0.2)
    _kube(api, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": "tenant-a"}})
    _kube(api, "POST", "/api/v1/namespaces/tenant-a/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "ollama", "namespace": "tenant-a"},
        "spec": {"selector": {"app": "ollama"}, "ports": [{"name": "http", "port": 11434, "targetPort": 11434}]}})
    yield {"api": api, "kubeconfig": kubeconfig}
    proc.terminate()
    proc.wait(10)
    log.close()


def test_present_through_service_proxy_end_to_end(ollama, kube, tmp_path):
    ollama.reset()
    ollama.reset_stats()
    args = {"name": "llama3:8b", "service": {"namespace": "tenant-a", "name": "ollama", "port": "11434"},
            "kubeconfig": kube["kubeconfig"]}
    first = run_module(tmp_path, "llm_saas.platform.ollama_model", args)
    assert first["changed"] is True, json.dumps(first)
    assert first["pull_status"][-1] == "success"
    assert first["target"] == "service tenant-a/ollama:11434 via %s" % kube["api"]
    assert "llama3:8b" in {m["name"] for m in ollama.call("GET", "/api/tags")["models"]}
    # The requests reached Ollama through the proxy.
    assert ollama.stats()["requests"]["POST /api/pull"] == 1

    second = run_module(tmp_path, "llm_saas.platform.ollama_model", dict(args, service={
        "namespace": "tenant-a", "name": "ollama", "port": "http"}))
    assert second["changed"] is False
    assert second["model"]["digest"] == first["model"]["digest"]

    info = run_module(tmp_path, "llm_saas.platform.ollama_model_info",
                      {"service": args["service"], "host": kube["api"], "api_key": "any-token"})
    assert [m["name"] for m in info["models"]] == ["llama3:8b"]


def test_wrong_service_is_a_clear_error(ollama, kube, tmp_path):
    result = run_module(tmp_path, "llm_saas.platform.ollama_model", {
        "name": "llama3:8b", "service": {"namespace": "tenant-a", "name": "olama", "port": "11434"},
        "kubeconfig": kube["kubeconfig"]})
    assert result["failed"] is True
    assert "Kubernetes API server refused the service proxy request to service tenant-a/olama:11434" in result["msg"]
    assert 'services "olama" not found' in result["msg"]


def test_bad_kubeconfig_is_a_clear_error(tmp_path):
    result = run_module(tmp_path, "llm_saas.platform.ollama_model", {
        "name": "llama3:8b", "service": {"namespace": "tenant-a", "name": "ollama"},
        "kubeconfig": str(tmp_path / "missing-kubeconfig")})
    assert result["failed"] is True
    assert "Could not load kubeconfig" in result["msg"]
