"""Render the cluster-platform roles with ansible-playbook for offline checks (shared by the tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent

# Dummy receiver secrets: rendering must never need Secrets Manager.
RENDER_VARS = {
    "monitoring_alertmanager_receiver_secrets": {
        "pagerduty_routing_key": "dummy-routing-key",
        "slack_api_url": "https://hooks.slack.invalid/services/T000/B000/XXXX",
        "smtp_auth_password": "dummy-smtp-password",
        "grafana_admin_password": "dummy-grafana-admin-password",
    },
    "logging_tenants": ["acme", "globex"],
    "edge_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
    "edge_waf_acl_arn": "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/llm-saas/00000000",
    "gpu_time_slicing_enabled": True,
    "autoscaling_cluster_name": "llm-saas-test",
}


def render(out_dir: Path, extra_vars: dict | None = None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    variables = dict(RENDER_VARS, platform_render_dir=str(out_dir))
    variables.update(extra_vars or {})
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    bin_dir = Path(sys.executable).parent
    proc = subprocess.run(
        [str(bin_dir / "ansible-playbook"), str(HERE / "render.yml"), "-e", json.dumps(variables)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError("rendering failed:\n%s\n%s" % (proc.stdout[-4000:], proc.stderr[-4000:]))
    return out_dir


def load_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
