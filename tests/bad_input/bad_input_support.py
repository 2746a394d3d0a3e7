"""Helpers of the bad-input tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from platform_helpers import REPO


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
