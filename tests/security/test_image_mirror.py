"""Supply chain: the image mirror plan covers every pinned image, and its ECR repositories are hardened.

The plan is checked against an independent reading of the same variable files (plain YAML here, the
role's Jinja there). The repositories are converged against a moto server of this test's own (ECR is
account-wide, so a private server keeps other tests' repositories out of the assertions), twice: the
second run must report changed=0, and a check-mode run after it too. The copy itself needs skopeo or
crane and real registries; here neither exists, so the role must say so and copy nothing.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from platform_helpers import REPO, recap, run_playbook
from private_moto import private_moto
from render_tenant import render_tenants

PATTERN = re.compile(r"^[a-z0-9_]+_images?$")
MIRROR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
PLAYBOOK = REPO / "playbooks" / "mirror_images.yml"
# The role's plan entry alone: no ECR calls besides the caller identity.
PLAN_PLAYBOOK = """\
- name: Plan the image mirror
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  vars_files:
    - %s
  module_defaults:
    group/aws:
      endpoint_url: "{{ lookup('ansible.builtin.env', 'AWS_ENDPOINT_URL') }}"
      region: us-east-1
  tasks:
    - name: Plan
      ansible.builtin.include_role:
        name: llm_saas.platform.image_mirror
        tasks_from: plan
""" % (REPO / "group_vars" / "all" / "platform.yml")


def _pinned_images() -> set[str]:
    """repository:tag of every image dict in the roles' defaults and the product group_vars."""
    files = sorted((REPO / "group_vars" / "all").glob("*.yml")) + sorted((REPO / "roles").glob("*/defaults/main.yml"))
    found = set()
    for path in files:
        data = yaml.safe_load(path.read_text()) or {}
        for key, value in data.items():
            if not PATTERN.match(key) or not isinstance(value, dict):
                continue
            candidates = [value] if "repository" in value else [v for v in value.values() if isinstance(v, dict)]
            found |= {"%s:%s" % (c["repository"], c["tag"]) for c in candidates if "repository" in c}
    return found


@pytest.fixture(scope="module")
def moto_endpoint():
    with private_moto() as endpoint:
        yield endpoint


def _env(endpoint):
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        # No copy tool on PATH, whatever the developer has installed.
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
    }


def _plan(tmp_path, endpoint, extra_vars):
    playbook = tmp_path / "plan.yml"
    playbook.write_text(PLAN_PLAYBOOK)
    return run_playbook(playbook, extra_vars=extra_vars, env=_env(endpoint))


@pytest.fixture(scope="module")
def full_plan(tmp_path_factory, moto_endpoint):
    """The plan over every role, with this account's ECR registry derived from moto's caller identity."""
    work = tmp_path_factory.mktemp("plan")
    proc = _plan(work, moto_endpoint, {"image_mirror_plan_file": str(work / "plan.json")})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((work / "plan.json").read_text())


def test_plan_covers_every_pinned_image(full_plan):
    pinned = _pinned_images()
    assert len(pinned) >= 20
    destinations = {e["destination"] for e in full_plan}
    assert {MIRROR + "/" + ref for ref in pinned} == destinations
    for entry in full_plan:
        upstream_registry = entry["source"].split("/", 1)[0]
        assert "." in upstream_registry and upstream_registry != MIRROR, entry
        assert entry["source"].split("/", 1)[1] == entry["destination"].split("/", 1)[1]
        assert not entry["source"].endswith(":latest")


def test_mirrored_tenant_references_are_in_the_plan(full_plan, tmp_path):
    """What the tenant role renders with platform_image_registry = the mirror is exactly what gets mirrored."""
    docs = render_tenants(tmp_path, ("initech",), {"platform_image_registry": MIRROR})["initech"]
    images = {
        c["image"]
        for d in docs
        if d["kind"] == "Deployment"
        for c in d["spec"]["template"]["spec"]["containers"] + d["spec"]["template"]["spec"].get("initContainers", [])
    }
    assert images and images <= {e["destination"] for e in full_plan}


def test_repositories_hardened_and_idempotent(moto_endpoint, tmp_path):
    extra = {
        # The tenant layer's images: enough repositories to prove the settings without 20+ slow calls.
        "image_mirror_source_files": [
            str(REPO / "group_vars" / "all" / "images.yml"),
            str(REPO / "group_vars" / "all" / "ollama_metrics_sidecar.yml"),
        ],
        "image_mirror_registry": MIRROR,
    }
    env = _env(moto_endpoint)
    first = run_playbook(PLAYBOOK, extra_vars=extra, env=env)
    assert first.returncode == 0, first.stdout[-3000:]
    assert recap(first.stdout)["controller"]["changed"] >= 1
    assert "None of skopeo, crane is installed" in first.stdout

    second = run_playbook(PLAYBOOK, extra_vars=extra, env=env)
    assert second.returncode == 0, second.stdout[-3000:]
    assert recap(second.stdout)["controller"]["changed"] == 0

    checked = run_playbook(PLAYBOOK, "--check", "--diff", extra_vars=extra, env=env)
    assert checked.returncode == 0, checked.stdout[-3000:]
    assert recap(checked.stdout)["controller"]["changed"] == 0

    ecr = boto3.client(
        "ecr",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    repos = {r["repositoryName"]: r for r in ecr.describe_repositories()["repositories"]}
    expected = {"open-webui/open-webui", "ollama/ollama", "library/postgres", "envoyproxy/envoy"}
    assert expected <= set(repos)
    for name in expected:
        repo = repos[name]
        assert repo["imageTagMutability"] == "IMMUTABLE"
        assert repo["imageScanningConfiguration"]["scanOnPush"] is True
        assert repo["encryptionConfiguration"]["encryptionType"] == "AES256"
        rules = json.loads(ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])["rules"]
        assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"]
        assert rules[0]["selection"]["countNumber"] == 14 and rules[1]["selection"]["countNumber"] == 50
        assert all(r["action"]["type"] == "expire" for r in rules)


def test_clashing_sources_fail_naming_the_fix(moto_endpoint, tmp_path):
    clash = [{"registry": "quay.io", "repository": "ollama/ollama", "tag": "0.12.6"}]
    proc = _plan(tmp_path, moto_endpoint, {"image_mirror_extra_sources": clash, "image_mirror_registry": MIRROR})
    assert proc.returncode != 0
    assert "no two sources may land on one destination" in proc.stdout
    assert MIRROR + "/ollama/ollama:0.12.6" in proc.stdout
