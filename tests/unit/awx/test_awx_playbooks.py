"""The AWX playbooks parse, and refuse bad input before they touch anything.

There is no AWX here, so awx_configure.yml is not run against a controller (not even in check
mode: every awx.awx module looks objects up over the API first); its data is covered by
test_surveys.py and its input checks run before the first API call.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PLAYBOOK), "-i", str(REPO / "inventories" / "local"), *args],
        cwd=REPO, capture_output=True, text=True, check=False,
    )


@pytest.mark.parametrize("playbook", ["playbooks/awx_configure.yml", "playbooks/awx_tenant_register.yml"])
def test_syntax(playbook: str) -> None:
    proc = _run("--syntax-check", playbook)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_awx_configure_names_every_missing_input() -> None:
    proc = _run("playbooks/awx_configure.yml", "-e", "awx_environment=prod")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    for field in ("awx_environment", "awx_project_scm_url", "awx_ee_image", "awx_credential_inputs"):
        assert field in out
    # It stopped at the input check: no task talked to a controller.
    assert "TASK [Organization]" not in out


def test_awx_configure_refuses_a_latest_image() -> None:
    inputs = {
        "awx_environment": "staging",
        "awx_project_scm_url": "https://git.example.com/llm_saas/platform.git",
        "awx_ee_image": "registry.example.com/llm-saas-ee:latest",
        "awx_credential_inputs": {k: {} for k in ("aws", "kubernetes", "database", "controller")},
    }
    proc = _run("playbooks/awx_configure.yml", "-e", json.dumps(inputs))
    assert proc.returncode != 0
    assert "not :latest" in proc.stdout
    assert "TASK [Organization]" not in proc.stdout


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"onboard_tenant": "Hooli_Corp", "onboard_tier": "standard", "onboard_admin_group": "g"}, "onboard_tenant"),
        ({"onboard_tenant": "hooli", "onboard_tier": "gold", "onboard_admin_group": "g"}, "onboard_tier"),
        ({"onboard_tenant": "hooli", "onboard_tier": "standard"}, "onboard_admin_group"),
        ({"onboard_tenant": "hooli", "onboard_tier": "standard", "onboard_admin_group": "g",
          "onboard_models": ["gpt-5"]}, "gpt-5"),
    ],
    ids=["bad-name", "unknown-tier", "no-admin-group", "unknown-model"],
)
def test_onboarding_refuses_bad_answers_before_any_change(answers: dict, field: str) -> None:
    proc = _run("playbooks/awx_tenant_register.yml", "-e", json.dumps(answers))
    assert proc.returncode != 0
    assert field in proc.stdout
    assert "nothing was changed" in proc.stdout
    # any_errors_fatal: no later play (preflight, models, tenant) started.
    assert "PLAY [Onboard — preflight" not in proc.stdout
    assert "changed=0" in proc.stdout and "changed=1" not in proc.stdout
