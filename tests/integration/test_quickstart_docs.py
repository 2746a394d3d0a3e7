"""A newcomer following docs/quickstart.md onboards and offboards a tenant on the local platform.

The test runs the documented commands themselves — every fenced bash block marked
`<!-- test: onboard -->` / `<!-- test: offboard -->` — against a copy of inventories/local and a
unique tenant name, then checks the result in the Kubernetes emulator and PostgreSQL itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from platform_helpers import ensure_backups_bucket

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "quickstart.md"
DOC_TENANT = "hooli"
BLOCK = re.compile(r"<!-- test: (?P<stage>[a-z]+) -->\s*\n```bash\n(?P<body>.*?)\n```", re.S)


def documented_blocks(stage: str) -> list[str]:
    return [m["body"] for m in BLOCK.finditer(DOC.read_text()) if m["stage"] == stage]


def adapt(script: str, inventory: Path, tenant: str) -> str:
    """The documented commands, pointed at the copied inventory and the unique tenant."""
    script = script.replace("inventories/local", str(inventory))
    # Not \b: "_" is a word character, and tenant_hooli (the schema) must change too.
    return re.sub(rf"(?<![a-z0-9]){DOC_TENANT}(?![a-z0-9])", tenant, script)


def run_stage(stage: str, inventory: Path, tenant: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # One shell for all of a stage's blocks: later blocks rely on the first one's `eval`.
    script = "set -euo pipefail\n" + "\n".join(adapt(b, inventory, tenant) for b in documented_blocks(stage))
    return subprocess.run(["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=False)


def test_the_document_marks_what_the_test_runs() -> None:
    onboard = "\n".join(documented_blocks("onboard"))
    assert "playbooks/tenants.yml --limit hooli" in onboard
    assert "playbooks/models.yml" in onboard
    assert "kubectl get namespace tenant-hooli" in onboard
    assert "playbooks/tenant_offboard.yml" in "\n".join(documented_blocks("offboard"))


@pytest.fixture
def platform_ready(local_platform: dict[str, str]) -> dict[str, str]:
    """What `make demo` (section 1 of the guide) leaves behind, without its two full site.yml runs:
    the shared database, and the backups bucket offboarding writes to."""
    env = {**os.environ, **local_platform}
    ensure_backups_bucket(env)
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", "inventories/local",
         "playbooks/tenants.yml", "--limit", "platform"],
        cwd=REPO, env=env, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    return env


def _schemas(env: dict[str, str], schema: str) -> str:
    """How many schemas of that name exist (psql quotes the name itself: :'schema')."""
    sql = "select count(*) from information_schema.schemata where schema_name = :'schema'"
    return subprocess.run(["psql", "-d", "openwebui", "-tA", "-v", f"schema={schema}"], input=sql, env=env,
                          capture_output=True, text=True, check=True).stdout.strip()


def test_newcomer_onboards_and_offboards_a_tenant(platform_ready: dict[str, str], tmp_path: Path) -> None:
    env = platform_ready
    inventory = tmp_path / "inventory"
    shutil.copytree(REPO / "inventories" / "local", inventory)
    tenant = f"qs{uuid.uuid4().hex[:8]}"
    schema = f"tenant_{tenant}"

    onboard = run_stage("onboard", inventory, tenant, env)
    try:
        assert onboard.returncode == 0, onboard.stdout[-4000:] + onboard.stderr[-2000:]
        # The guide's own checks printed the namespace and the schema ...
        assert f"tenant-{tenant}" in onboard.stdout
        assert schema in onboard.stdout.split()
        # ... and they are really there.
        ns = subprocess.run(["kubectl", "get", "namespace", f"tenant-{tenant}", "-o", "jsonpath={.status.phase}"],
                            env=env, capture_output=True, text=True, check=False)
        assert ns.stdout == "Active", ns.stderr
        assert _schemas(env, schema) == "1"
        assert (inventory / f"{tenant}.yml").is_file(), "the guide writes the tenant's inventory file"
    finally:
        offboard = run_stage("offboard", inventory, tenant, env)

    assert offboard.returncode == 0, offboard.stdout[-4000:] + offboard.stderr[-2000:]
    assert _schemas(env, schema) == "0"
    gone = subprocess.run(["kubectl", "get", "namespace", f"tenant-{tenant}"], env=env,
                          capture_output=True, text=True, check=False)
    assert gone.returncode != 0
    assert not (inventory / f"{tenant}.yml").exists()
