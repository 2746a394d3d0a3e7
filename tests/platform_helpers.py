"""Helpers every test directory shares: the repository root, the local platform, ansible runs.

A plain module (not a conftest): pytest imports each directory's conftest.py under the one name
``conftest``, so ``from conftest import ...`` would find whichever was loaded last.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOCAL_PLATFORM = REPO / "scripts" / "local-platform"
# platform_resource_prefix of inventories/local, and the security baseline's audit bucket there.
LOCAL_PREFIX = "llm-saas-local"
AUDIT_BUCKET = f"{LOCAL_PREFIX}-audit-logs"
sys.path.insert(0, str(REPO / "tests" / "local_platform"))


def platform_env(names: list[str]) -> dict[str, str]:
    subprocess.run([sys.executable, str(LOCAL_PLATFORM), "start", *names], check=True, cwd=REPO)
    out = subprocess.run(
        [sys.executable, str(LOCAL_PLATFORM), "env"], check=True, cwd=REPO, capture_output=True, text=True
    ).stdout
    env = {}
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip("'")
    return env


def run_playbook(
    playbook: str | Path,
    *args: str,
    inventory: str | Path = REPO / "inventories" / "local",
    extra_vars: dict | None = None,
    env: dict[str, str] | None = None,
    check: bool = False,
    stock_strategy: bool = False,
) -> subprocess.CompletedProcess:
    """Run ansible-playbook from the repository root (so ansible.cfg and the collection link apply).

    ``make test`` runs ansible with Mitogen's strategy for speed; ``stock_strategy`` runs this playbook
    with Ansible's own linear strategy instead, as AWX and ``make demo`` run it."""
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook), *args]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    run_env = {**os.environ, **(env or {})}
    if stock_strategy:
        for name in ("ANSIBLE_STRATEGY", "ANSIBLE_STRATEGY_PLUGINS"):
            run_env.pop(name, None)
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=run_env, check=False)
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


def changed_tasks(stdout: str) -> list[str]:
    """The "TASK [...]" headers under which ansible-playbook's default output reported a change, in order:
    what an idempotence assertion prints when a re-run was not changed=0."""
    found: list[str] = []
    task = ""
    for line in stdout.splitlines():
        if line.startswith("TASK ["):
            task = line.split("]", 1)[0][len("TASK ["):]
        elif line.startswith("changed:") and task and (not found or found[-1] != task):
            found.append(task)
    return found


def _moto_s3(env: dict[str, str], region: str):
    import boto3

    session = boto3.Session(aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "testing"),
                            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "testing"), region_name=region)
    account = session.client("sts", endpoint_url=env["AWS_ENDPOINT_URL"]).get_caller_identity()["Account"]
    return session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]), account


def ensure_tenant_buckets(env: dict[str, str], region: str = "us-east-1") -> dict[str, str]:
    """The buckets of inventories/local the tenant role writes to, made if a test converges tenants before
    (or without) the foundation and the security baseline: {purpose: name}.

    backups and uploads are made versioned, as data_services makes them: an unversioned bucket that the
    foundation later adopts keeps its objects under the version id "null", and amazon.aws.s3_bucket
    ``force`` (10.1) deletes those without a version id, which on a versioned bucket only adds a delete
    marker — the teardown then fails with BucketNotEmpty (on AWS as on moto). The audit bucket (an audit
    record per tenant action) is never torn down.
    """
    s3, account = _moto_s3(env, region)
    wanted = {
        "backups": (f"{LOCAL_PREFIX}-backups-{account}-{region}", True),
        "uploads": (f"{LOCAL_PREFIX}-uploads-{account}-{region}", True),
        "audit": (AUDIT_BUCKET, False),
    }
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for name, versioned in wanted.values():
        if name not in existing:
            s3.create_bucket(Bucket=name)
            if versioned:
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return {purpose: name for purpose, (name, _) in wanted.items()}


def ensure_backups_bucket(env: dict[str, str], region: str = "us-east-1") -> str:
    """The data_services backups bucket of inventories/local (its name), made if missing (see above)."""
    return ensure_tenant_buckets(env, region)["backups"]
