"""Peak memory of a pull must not depend on the length of Ollama's progress stream.

Each measurement runs in a fresh interpreter that pulls through the real client
against the local Ollama emulator and reports its peak RSS. A 100,000-line stream
(~18 MB of NDJSON) is compared with a 1,000-line one. The control reader, which
buffers the body the naive way, proves the measurement would catch buffering.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "local_platform"))

from ollama_server.harness import OllamaServer  # noqa: E402

BOUND_BYTES = 4 * 1024 * 1024

PROBE = textwrap.dedent("""
    import json, sys, urllib.request
    sys.path.insert(0, %(collections)r)
    from ansible_collections.llm_saas.platform.plugins.module_utils import ollama_client as oc
    url, mode = sys.argv[1], sys.argv[2]
    if mode == "client":
        progress = oc.OllamaClient(url).pull("tinyllama", retries=0, timeout=600)
        lines, ok = progress.lines, progress.success
    else:
        req = urllib.request.Request(url + "/api/pull", data=json.dumps({"model": "tinyllama"}).encode())
        with urllib.request.urlopen(req) as resp:
            objects = [json.loads(line) for line in resp.read().splitlines() if line.strip()]
        lines, ok = len(objects), objects[-1] == {"status": "success"}
    # VmHWM is this process's own peak; ru_maxrss would also carry the peak of the (large)
    # pytest worker it was forked from, which survives exec.
    with open("/proc/self/status") as status:
        hwm = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
    print(json.dumps({"lines": lines, "ok": ok, "maxrss": hwm * 1024}))
""") % {"collections": os.path.join(REPO, ".collections")}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = OllamaServer(str(tmp_path_factory.mktemp("ollama-mem"))).start()
    yield srv
    srv.stop()


def peak(server, mode, progress_lines):
    # A fresh state so the model blob is downloaded (and reported) again.
    server.reset()
    server.faults(progress_lines=progress_lines)
    probe = subprocess.run([sys.executable, "-c", PROBE, server.url, mode], capture_output=True, text=True,
                           timeout=600, check=False)
    assert probe.returncode == 0, probe.stderr[-3000:]
    result = json.loads(probe.stdout)
    assert result["ok"]
    assert result["lines"] >= progress_lines
    return result["maxrss"]


def test_client_memory_is_flat_over_100k_progress_lines(server):
    small = peak(server, "client", 1000)
    large = peak(server, "client", 100000)
    assert large - small < BOUND_BYTES, "peak RSS grew %d bytes with the stream" % (large - small)


def test_measurement_detects_a_buffering_reader(server):
    small = peak(server, "buffered", 1000)
    large = peak(server, "buffered", 100000)
    assert large - small > BOUND_BYTES, "buffering reader grew only %d bytes" % (large - small)
