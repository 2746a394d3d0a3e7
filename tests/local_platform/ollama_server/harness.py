"""Start/stop a private emulator instance for tests (free port, own state dir)."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OllamaServer:
    def __init__(self, state_dir, log_path=None, port=None):
        self.state_dir = state_dir
        self.port = port or free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log_path = log_path or os.path.join(state_dir, "ollama_server.log")
        self.proc = None

    def start(self, wait=15.0):
        os.makedirs(self.state_dir, exist_ok=True)
        env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
        # Stays open for the life of the child process, closed in stop().
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ollama_server", "--host", "127.0.0.1", "--port", str(self.port),
             "--state-dir", self.state_dir],
            env=env, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ollama_server exited early, see %s" % self.log_path)
            try:
                with urllib.request.urlopen(self.url + "/", timeout=1) as resp:  # noqa: S310 - own http URL
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("ollama_server did not answer on %s" % self.url)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._log.close()
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,  # noqa: S310 - own http URL
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - own http URL
            raw = resp.read()
        return json.loads(raw) if raw else None

    def stats(self):
        return self.call("GET", "/_emulator/stats")

    def reset_stats(self):
        return self.call("POST", "/_emulator/stats/reset", {})

    def faults(self, **spec):
        return self.call("POST", "/_emulator/faults", spec)

    def clear_faults(self):
        return self.call("POST", "/_emulator/faults/clear", {})

    def publish(self, model):
        return self.call("POST", "/_emulator/catalog/publish", {"model": model})

    def reset(self):
        return self.call("POST", "/_emulator/reset", {})
