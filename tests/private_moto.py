"""A moto server of one test module's own, in a separate process.

moto keeps its backends in module-level globals: two servers in the pytest process (or a
server beside mock_aws) share accounts, and whichever creates the IAM backend first decides
whether AWS managed policies exist. A subprocess gives each module clean, private state.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def private_moto(
    cert_file: str | Path | None = None,
    key_file: str | Path | None = None,
    launcher: str | Path | None = None,
):
    """Yield the endpoint URL of a fresh moto server (HTTPS when a certificate is given).

    launcher: a Python script run instead of ``moto_server`` with the same arguments (one that
    patches moto before starting it, e.g. tests/integration/moto_dr_server.py).
    """
    port = _free_port()
    server = [sys.executable, str(launcher)] if launcher else [str(Path(sys.executable).parent / "moto_server")]
    cmd = [*server, "-H", "127.0.0.1", "-p", str(port)]
    scheme = "http"
    if cert_file:
        cmd += ["-c", str(cert_file), "-k", str(key_file)]
        scheme = "https"
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError("moto_server exited with %s" % proc.returncode)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        if scheme == "http":
            urllib.request.urlopen("http://127.0.0.1:%d/moto-api/" % port, timeout=30).close()  # noqa: S310 - loopback
        yield "%s://127.0.0.1:%d" % (scheme, port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
