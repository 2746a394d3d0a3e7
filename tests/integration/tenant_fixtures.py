"""A private tenant fleet for the tenant lifecycle tests.

The fleet runs against the shared local platform's moto and PostgreSQL (real collaborators), but
against its own Kubernetes API emulator and Ollama server on free ports: the pull counts of the
model store and the resourceVersions of the fleet's objects are then the tests' alone, and the
demo's namespaces, model store and manifest are never touched. Tenant names are random
(``t<hex>-...``), so schemas and secrets in the shared PostgreSQL and moto cannot collide with
the demo's or with a concurrent run's either.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
EMULATORS = REPO / "tests" / "local_platform"
if str(EMULATORS) not in sys.path:
    sys.path.insert(0, str(EMULATORS))

from ollama_server.harness import OllamaServer  # noqa: E402
from platform_helpers import ensure_backups_bucket  # noqa: E402

PLAYBOOKS = REPO / "playbooks"
CONVERGE = (PLAYBOOKS / "preflight.yml", PLAYBOOKS / "models.yml", PLAYBOOKS / "tenants.yml")


class K8sEmulator:
    """A private Kubernetes API emulator whose Ollama services proxy to ``ollama_url``."""

    def __init__(self, workdir: Path, ollama_url: str) -> None:
        self.workdir = workdir
        self.kubeconfig = workdir / "kubeconfig"
        self.log = workdir / "k8s-emulator.log"
        self.ollama_url = ollama_url
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> K8sEmulator:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONPATH=str(EMULATORS))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "k8s_emulator", "--host", "127.0.0.1", "--port", "0",
                 "--state-dir", str(self.workdir / "state"), "--kubeconfig-out", str(self.kubeconfig),
                 "--proxy-backend", f"*/ollama*:11434={self.ollama_url}"],
                stdout=log, stderr=log, env=env)
        marker = "k8s-emulator listening on "
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if marker in text and self.kubeconfig.exists():
                self.url = text[text.rindex(marker) + len(marker):].split()[0]
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("k8s emulator exited:\n" + text)
            time.sleep(0.1)
        raise RuntimeError("k8s emulator did not start:\n" + self.log.read_text(errors="replace"))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Tenant:
    name: str
    tier: str
    host_vars: dict = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return f"tenant-{self.name}"

    @property
    def schema(self) -> str:
        return "tenant_" + self.name.replace("-", "_")

    @property
    def app_role(self) -> str:
        return self.schema + "_app"


@dataclass
class Fleet:
    """Three tenants (two standard, one premium) in a temporary inventory."""

    inventory: Path
    tenants: dict[str, Tenant]
    env: dict[str, str]
    k8s: K8sEmulator
    ollama: OllamaServer

    def write_inventory(self) -> None:
        """(Re)write hosts.yml and host_vars from ``self.tenants``: tests edit tiers and models there."""
        groups: dict[str, dict] = {}
        for tenant in self.tenants.values():
            groups.setdefault(f"tier_{tenant.tier}", {"hosts": {}})["hosts"][tenant.name] = None
        hosts = {"llm_saas": {"children": {"platform": {"hosts": {"controller": None}},
                                           "tenants": {"children": groups}}}}
        (self.inventory / "hosts.yml").write_text("---\n" + yaml.safe_dump(hosts, sort_keys=True))
        host_vars = self.inventory / "host_vars"
        shutil.rmtree(host_vars, ignore_errors=True)
        host_vars.mkdir()
        for tenant in self.tenants.values():
            (host_vars / f"{tenant.name}.yml").write_text("---\n" + yaml.safe_dump(tenant.host_vars, sort_keys=True))

    @property
    def platform_name(self) -> str:
        return "llm-saas"

    @property
    def environment(self) -> str:
        return "local"


def new_fleet(workdir: Path, platform_env: dict[str, str]) -> Fleet:
    """Start the private emulators and write the inventory; nothing is converged yet."""
    prefix = "t" + uuid.uuid4().hex[:6]
    tenants = {
        "std_a": Tenant(f"{prefix}-std-a", "standard", {"tenant_admin_group": f"{prefix}-std-a-admins",
                                                         "tenant_display_name": "Standard A"}),
        # Narrows its tier's models to one the others use too: that model must still be pulled once.
        "std_b": Tenant(f"{prefix}-std-b", "standard", {"tenant_admin_group": f"{prefix}-std-b-admins",
                                                         "tenant_models": ["llama3:8b"]}),
        # Adds a model nobody else uses, so offboarding it must drop that model and keep the rest.
        "prem": Tenant(f"{prefix}-prem", "premium", {
            "tenant_admin_group": f"{prefix}-prem-admins",
            "tenant_models": ["llama3:8b", "mistral:7b", "llama3:70b", "phi3:mini"],
            "tenant_idp": {"type": "oidc", "issuer_url": "https://login.example.test/realms/prem",
                           "client_id": "open-webui"}}),
    }
    ollama = OllamaServer(str(workdir / "ollama")).start()
    k8s = K8sEmulator(workdir / "k8s", ollama.url)
    try:
        k8s.start()
    except Exception:
        ollama.stop()
        raise
    inventory = workdir / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    shared_vars = REPO / "inventories" / "local" / "group_vars" / "llm_saas.yml"
    shutil.copy(shared_vars, inventory / "group_vars" / "llm_saas.yml")
    env = {**platform_env, "KUBECONFIG": str(k8s.kubeconfig), "ANSIBLE_FORKS": "3"}
    fleet = Fleet(inventory, tenants, env, k8s, ollama)
    fleet.write_inventory()
    return fleet


def stop_fleet(fleet: Fleet) -> None:
    fleet.k8s.stop()
    fleet.ollama.stop()


def pulls(stats: dict) -> int:
    return stats.get("requests", {}).get("POST /api/pull", 0)


def recaps(stdout: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters of every playbook in one ansible-playbook run, summed per host.

    (conftest.recap reads one playbook's recap; with several playbooks on one command line it
    also parses later task lines such as `ok: [h] => (item=a=b)`.)
    """
    total: dict[str, dict[str, int]] = {}
    in_recap = False
    for line in stdout.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if not line.strip():
            in_recap = False
            continue
        if in_recap:
            host, _, counters = line.partition(":")
            for key, value in (c.split("=") for c in counters.split()):
                total.setdefault(host.strip(), {}).setdefault(key, 0)
                total[host.strip()][key] += int(value)
    return total


def run(fleet: Fleet, *playbooks: Path | str, args: tuple[str, ...] = (), extra_vars: dict | None = None):
    """One ansible-playbook run against the fleet's inventory; (process, summed recap)."""
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(fleet.inventory),
           *map(str, playbooks), *args]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **fleet.env}, check=False)
    return proc, recaps(proc.stdout)


def tail(proc: subprocess.CompletedProcess, chars: int = 6000) -> str:
    return f"rc={proc.returncode}\n{proc.stdout[-chars:]}\n{proc.stderr[-2000:]}"


def dump(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=True, default=str)


def aws(env: dict[str, str], service: str, region: str = "us-east-1"):
    """A boto3 client for the local platform's moto, from the fleet's environment alone."""
    import boto3

    return boto3.client(service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=region,
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def force_delete_secret(secrets, name: str) -> None:
    """Delete a secret now, its DR replicas first (AWS and moto refuse to delete a replicated one)."""
    try:
        replicas = [r["Region"] for r in secrets.describe_secret(SecretId=name).get("ReplicationStatus", [])]
    except secrets.exceptions.ResourceNotFoundException:
        return
    if replicas:
        secrets.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=replicas)
    secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def backups_bucket(aws_env: dict[str, str]) -> str:
    """The data_services backups bucket name; a full run creates it (foundation), the tenant layer
    alone does not, so the tests make it the way the roles do (platform_helpers)."""
    return ensure_backups_bucket(aws_env)


def remove_leftovers(fleet: Fleet) -> None:
    """Best-effort removal of what the tests left in the shared moto and PostgreSQL.

    The private Kubernetes emulator and Ollama server simply stop; schemas, roles, secrets and
    backups live in shared services and must not pile up run after run.
    """
    import psycopg
    from psycopg import sql

    env = fleet.env
    conninfo = {"host": env["PGHOST"], "port": env["PGPORT"], "user": env["PGUSER"],
                "password": env["PGPASSWORD"], "dbname": "openwebui", "autocommit": True}
    prefix = next(iter(fleet.tenants.values())).name.split("-")[0]
    with psycopg.connect(**conninfo) as conn:
        roles = [r[0] for r in conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"tenant\\_{prefix}\\_%",))]
        schemas = [r[0] for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"tenant\\_{prefix}\\_%",))]
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        for role in roles:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    secrets = aws(env, "secretsmanager")
    s3 = aws(env, "s3")
    bucket = backups_bucket(env)
    for tenant in fleet.tenants.values():
        force_delete_secret(secrets, f"llm-saas/local/tenants/{tenant.name}/app")
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"tenants/{tenant.name}/").get("Contents", [])
        for obj in listed:
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
