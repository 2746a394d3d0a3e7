"""Shared pytest fixtures: the local platform, and ansible runs from the repository root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LOCAL_PLATFORM = REPO / "scripts" / "local-platform"
sys.path.insert(0, str(REPO / "tests" / "local_platform"))


def _platform_env(names: list[str]) -> dict[str, str]:
    subprocess.run([sys.executable, str(LOCAL_PLATFORM), "start", *names], check=True, cwd=REPO)
    out = subprocess.run(
        [sys.executable, str(LOCAL_PLATFORM), "env"], check=True, cwd=REPO, capture_output=True, text=True
    ).stdout
    env = {}
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip("'")
    return env


@pytest.fixture(scope="session")
def local_platform() -> dict[str, str]:
    """Ensure every local-platform service runs; return its environment (KUBECONFIG, PGHOST, ...).

    The services are left running: `make test` stops them at the end, and a developer's
    already-running platform is reused as is.
    """
    env = _platform_env([])
    os.environ.update(env)
    return env


def run_playbook(
    playbook: str | Path,
    *args: str,
    inventory: str | Path = REPO / "inventories" / "local",
    extra_vars: dict | None = None,
    env: dict[str, str] | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess:
    """Run ansible-playbook from the repository root (so ansible.cfg and the collection link apply)."""
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook), *args]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    proc = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def recap(stdout: str) -> dict[str, dict[str, int]]:
    """Parse PLAY RECAP lines into {host: {ok: n, changed: n, failed: n, ...}}."""
    result: dict[str, dict[str, int]] = {}
    in_recap = False
    for line in stdout.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            result = {}
            continue
        if in_recap and not line.strip():
            in_recap = False
            continue
        if in_recap and ":" in line and "=" in line:
            host, _, counters = line.partition(":")
            result[host.strip()] = {k: int(v) for k, v in (c.split("=") for c in counters.split())}
    return result


# Tests that converge against the one shared local platform (the `local_platform` fixture, the
# integration tests, playbooks run on inventories/local) assert whole-platform facts such as
# "a second site.yml run changes nothing", so under pytest-xdist they run one after another in a
# single worker; everything with private servers or no servers spreads over the other workers.
_SHARED_PLATFORM_DIRS = {"integration"}
_SHARED_PLATFORM_FILES = {"test_roles.py", "test_modules.py", "test_no_secret_in_verbose_output.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.fspath))
        if ("local_platform" in getattr(item, "fixturenames", ()) or path.parent.name in _SHARED_PLATFORM_DIRS
                or path.name in _SHARED_PLATFORM_FILES):
            item.add_marker(pytest.mark.xdist_group("shared-platform"))


# Unit tests run in-process (moto's mock_aws, botocore's Stubber), never against the local
# platform: `make pytest` exports its AWS_ENDPOINT_URL, which would route boto3 past mock_aws to
# the shared moto server, where tests see each other's resources.
_PLATFORM_AWS_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "AWS_SESSION_TOKEN")


@pytest.fixture(autouse=True)
def _unit_tests_use_in_process_aws(request, monkeypatch):
    if "unit" not in Path(str(request.node.fspath)).relative_to(REPO / "tests").parts[:1]:
        return
    for name in [*_PLATFORM_AWS_VARIABLES, *(n for n in os.environ if n.startswith("AWS_ENDPOINT_URL_"))]:
        monkeypatch.delenv(name, raising=False)
