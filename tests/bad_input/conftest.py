"""Bad-input suite: shared helpers, and a count of the malformed inputs that were refused.

Every test here feeds one malformed input (to preflight, to a role's argument spec or to a
module) and asserts that the run failed, that the message names the field, and that nothing
changed. The terminal summary reports how many such cases passed: ``bad input: N cases refused``.

pytest imports this file as the module ``conftest`` (replacing tests/conftest.py in
``sys.modules``), so the root helpers that test modules import with ``from conftest import ...``
are re-exported here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_ROOT_CONFTEST = Path(__file__).parents[1] / "conftest.py"
_spec = importlib.util.spec_from_file_location("_llm_saas_tests_root_conftest", _ROOT_CONFTEST)
_root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root)

LOCAL_PLATFORM = _root.LOCAL_PLATFORM
REPO = _root.REPO
recap = _root.recap
run_playbook = _root.run_playbook

MARKER = "refused"
_refused: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: one malformed input that must be refused before any change")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and MARKER in report.keywords:
        _refused.append(report.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _refused:
        terminalreporter.write_sep("-", f"bad input: {len(_refused)} cases refused")


def adhoc(module: str, args: dict, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``ansible localhost -m <module> -a <json>``; return the process and the host's result.

    The json callback gives the task result and the run's stats, whose ``changed`` count plays the
    role of the recap's changed=.
    """
    cmd = [str(Path(sys.executable).parent / "ansible"), "localhost", "-m", module, "-a", json.dumps(args)]
    proc = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, check=False,
        env={**os.environ, **(env or {}), "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json"},
    )
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"no JSON from {' '.join(cmd)}:\n{proc.stdout}\n{proc.stderr}") from exc
    result = data["plays"][0]["tasks"][0]["hosts"]["localhost"]
    result["_stats"] = data["stats"]["localhost"]
    return proc, result
