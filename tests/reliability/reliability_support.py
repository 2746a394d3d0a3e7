"""Helpers of the fault tests: private servers, direct module runs, a clean environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
for extra in (REPO / "tests" / "local_platform", REPO / "tests" / "integration", REPO / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import postgres_fixture  # noqa: E402

ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
# Fake credentials for the private moto only.
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without anything pointing at the shared local platform, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PG", "AWS_", "OLLAMA_", "K8S_AUTH_", "LP_")) and k not in ("KUBECONFIG", "REDIS_URL")}
    env.update(AWS_ENV, ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_FORCE_COLOR="0")
    env.update(extra)
    return env


def pg_restart(server: postgres_fixture.PgServer, mode: str = "fast") -> None:
    """Restart a private cluster (every session is terminated, open transactions roll back)."""
    # The new postmaster must not inherit our pipes (run() would wait for their EOF forever): -l log.
    subprocess.run(postgres_fixture._as_pg_user(
        [str(postgres_fixture.PG_BIN / "pg_ctl"), "-D", str(server.private_dir / "data"), "-m", mode,
         "-l", str(server.private_dir / "log"), "-w", "-t", "60", "restart"]),
        check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=90)


def direct_cmd(tmp_path: Path, module: str, args: dict, name: str = "args") -> list[str]:
    """Command running one of our modules directly (as Ansible's module runner would), without a playbook.

    Far cheaper than ansible-playbook on a loaded machine; the module code is the same.
    """
    args_file = tmp_path / f"{name}.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": False}}))
    path = REPO / "plugins" / "modules" / (module.rsplit(".", 1)[1] + ".py")
    return [sys.executable, str(path), str(args_file)]


def direct_env(**extra: str) -> dict[str, str]:
    return clean_env(PYTHONPATH=str(REPO / ".collections"), **extra)


def module_result(stdout: str) -> dict:
    """The module's JSON result (the last line that parses)."""
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError("no module result in:\n" + stdout)


def run_direct(tmp_path: Path, module: str, args: dict, *, env: dict[str, str] | None = None,
               name: str = "args") -> dict:
    proc = subprocess.run(direct_cmd(tmp_path, module, args, name), cwd=REPO, env=env or direct_env(),
                          capture_output=True, text=True, timeout=300, check=False)
    return module_result(proc.stdout + "\n" + proc.stderr if not proc.stdout.strip() else proc.stdout)


def k8s_call(k8s, method: str, path: str, body: dict | None = None) -> dict:
    """A call to a private Kubernetes emulator (its /_emulator/... control paths too); the JSON answer."""
    req = urllib.request.Request(k8s.url + path, method=method,  # noqa: S310 - own http URL
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - own http URL
        return json.loads(resp.read() or b"{}")
