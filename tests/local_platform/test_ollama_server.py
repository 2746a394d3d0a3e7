"""Self-tests of the local Ollama emulator against the documented API contract."""

import http.client
import json
import os
import sys
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ollama_server.harness import OllamaServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = OllamaServer(str(tmp_path_factory.mktemp("ollama-state"))).start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def clean(server):
    server.reset()
    server.reset_stats()
    yield


def stream_pull(server, model, **extra):
    """Return (lines, complete) where complete is False when the body was cut."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    body = json.dumps(dict({"model": model}, **extra))
    conn.request("POST", "/api/pull", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type").startswith("application/x-ndjson")
    lines = []
    complete = True
    pending = b""
    try:
        while True:
            # read1() raises IncompleteRead on a truncated chunked body, where
            # readline() would silently report end of stream.
            chunk = resp.read1(4096)
            if not chunk:
                break
            pending += chunk
            *done, pending = pending.split(b"\n")
            lines.extend(json.loads(raw) for raw in done if raw.strip())
    except http.client.IncompleteRead as exc:
        pending += exc.partial
        lines.extend(json.loads(raw) for raw in pending.split(b"\n") if raw.strip())
        complete = False
    except ConnectionError:
        complete = False
    conn.close()
    return lines, complete


def post(server, path, body, method="POST"):
    req = urllib.request.Request(server.url + path, data=json.dumps(body).encode(), method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_root_and_version(server):
    with urllib.request.urlopen(server.url + "/") as resp:  # noqa: S310
        assert resp.read() == b"Ollama is running"
    assert "version" in server.call("GET", "/api/version")


def test_pull_streams_statuses_in_order_and_installs(server):
    lines, complete = stream_pull(server, "llama3:8b")
    assert complete
    statuses = [line["status"] for line in lines]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    layer_lines = [line for line in lines if "digest" in line]
    assert layer_lines, "per-layer progress lines expected"
    for line in layer_lines:
        assert line["status"] == "pulling " + line["digest"][7:19]
        assert line["digest"].startswith("sha256:") and len(line["digest"]) == 71
        assert line.get("completed", 0) <= line["total"]
    # each layer finishes at its total and progress never goes backwards
    by_digest = {}
    for line in layer_lines:
        assert line.get("completed", 0) >= by_digest.get(line["digest"], 0)
        by_digest[line["digest"]] = line.get("completed", 0)
    finals = {line["digest"]: line["total"] for line in layer_lines}
    assert by_digest == finals

    models = server.call("GET", "/api/tags")["models"]
    assert [m["name"] for m in models] == ["llama3:8b"]
    entry = models[0]
    assert entry["model"] == "llama3:8b"
    assert entry["size"] == sum(finals.values())
    assert len(entry["digest"]) == 64
    assert entry["details"]["family"] == "llama"
    assert entry["details"]["parameter_size"] == "8.0B"
    assert entry["details"]["quantization_level"] == "Q4_0"


def test_stream_false_returns_one_object(server):
    status, body = post(server, "/api/pull", {"model": "tinyllama", "stream": False})
    assert (status, body) == (200, {"status": "success"})
    assert [m["name"] for m in server.call("GET", "/api/tags")["models"]] == ["tinyllama:latest"]


def test_unknown_model_errors_in_stream_and_500_without_stream(server):
    lines, complete = stream_pull(server, "no-such-model:1b")
    assert complete
    assert lines == [{"status": "pulling manifest"}, {"error": "pull model manifest: file does not exist"}]
    status, body = post(server, "/api/pull", {"model": "no-such-model", "stream": False})
    assert status == 500
    assert body == {"error": "pull model manifest: file does not exist"}


def test_name_normalisation_and_legacy_name_field(server):
    status, _ = post(server, "/api/pull", {"name": "registry.ollama.ai/library/mistral", "stream": False})
    assert status == 200
    assert [m["name"] for m in server.call("GET", "/api/tags")["models"]] == ["mistral:latest"]
    status, show = post(server, "/api/show", {"model": "mistral:latest"})
    assert status == 200 and show["details"]["parameter_size"] == "7.2B"
    status, _ = post(server, "/api/show", {"name": "library/mistral"})
    assert status == 200


def test_show_and_delete_absent_model_404(server):
    assert post(server, "/api/show", {"model": "llama3"}) == (404, {"error": "model 'llama3' not found"})
    assert post(server, "/api/delete", {"model": "llama3"}, method="DELETE") == (
        404, {"error": "model 'llama3' not found"})
    post(server, "/api/pull", {"model": "llama3", "stream": False})
    assert post(server, "/api/delete", {"model": "llama3"}, method="DELETE")[0] == 200
    assert server.call("GET", "/api/tags")["models"] == []


def test_cut_mid_pull_then_resume_completes(server):
    server.faults(cut_after_lines=4, times=1)
    lines, complete = stream_pull(server, "gemma2:9b")
    assert not complete
    assert len(lines) == 4
    assert lines[-1]["status"] != "success"
    seen = max(line.get("completed", 0) for line in lines)
    assert seen > 0
    assert server.call("GET", "/api/tags")["models"] == []

    lines, complete = stream_pull(server, "gemma2:9b")
    assert complete and lines[-1] == {"status": "success"}
    big = [line for line in lines if line.get("total", 0) > 10 ** 9]
    # the resumed pull starts from the bytes already on disk, not from zero
    assert big[0]["completed"] >= seen


def test_error_fault_inside_stream(server):
    server.faults(error_after_lines=2, message="max retries exceeded: unexpected EOF", times=1)
    lines, complete = stream_pull(server, "phi3:mini")
    assert complete
    assert lines[-1] == {"error": "max retries exceeded: unexpected EOF"}
    assert len(lines) == 3


def test_progress_lines_fault(server):
    server.faults(progress_lines=2000)
    lines, complete = stream_pull(server, "nomic-embed-text")
    server.clear_faults()
    assert complete
    assert 2000 <= len(lines) <= 2020


def test_state_survives_restart(server):
    post(server, "/api/pull", {"model": "qwen2.5:7b", "stream": False})
    before = server.call("GET", "/api/tags")["models"]
    server.restart()
    assert server.call("GET", "/api/tags")["models"] == before


def test_stats_count_requests_by_method_and_path(server):
    server.call("GET", "/api/tags")
    server.call("GET", "/api/tags")
    post(server, "/api/show", {"model": "x"})
    stats = server.stats()
    assert stats["requests"] == {"GET /api/tags": 2, "POST /api/show": 1}
    assert stats["total"] == 3


def test_publish_changes_digest_of_model_and_alias(server):
    post(server, "/api/pull", {"model": "llama3:8b", "stream": False})
    post(server, "/api/pull", {"model": "llama3:latest", "stream": False})
    tags = {m["name"]: m["digest"] for m in server.call("GET", "/api/tags")["models"]}
    assert tags["llama3:8b"] == tags["llama3:latest"]
    server.publish("llama3:8b")
    post(server, "/api/pull", {"model": "llama3:8b", "stream": False})
    after = {m["name"]: m["digest"] for m in server.call("GET", "/api/tags")["models"]}
    assert after["llama3:8b"] != tags["llama3:8b"]
    assert after["llama3:latest"] == tags["llama3:latest"]


def test_preload_and_unload_via_generate(server):
    post(server, "/api/pull", {"model": "tinyllama", "stream": False})
    status, body = post(server, "/api/generate", {"model": "tinyllama", "prompt": "", "keep_alive": "10m"})
    assert status == 200 and body["done_reason"] == "load"
    running = server.call("GET", "/api/ps")["models"]
    assert [m["name"] for m in running] == ["tinyllama:latest"]
    assert running[0]["size_vram"] > 0 and running[0]["expires_at"]
    status, body = post(server, "/api/chat", {"model": "tinyllama", "messages": [], "keep_alive": 0})
    assert body["done_reason"] == "unload"
    assert server.call("GET", "/api/ps")["models"] == []
    assert post(server, "/api/generate", {"model": "llama3", "prompt": ""})[0] == 404


def test_copy(server):
    assert post(server, "/api/copy", {"source": "llama3", "destination": "x"})[0] == 404
    post(server, "/api/pull", {"model": "tinyllama", "stream": False})
    assert post(server, "/api/copy", {"source": "tinyllama", "destination": "team/tiny:v1"})[0] == 200
    names = sorted(m["name"] for m in server.call("GET", "/api/tags")["models"])
    assert names == ["team/tiny:v1", "tinyllama:latest"]
