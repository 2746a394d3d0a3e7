"""An onboarding run killed half-way, then re-run: same end state as an uninterrupted onboarding.

Everything is private: PostgreSQL cluster, moto and Kubernetes emulator of this module. Two
tenants of the same tier: ``ref`` is onboarded in one go, ``victim``'s first run is SIGKILLed
(with its whole process group: forks and module processes die too) right after the database
task, while the Kubernetes objects are being applied. The re-run must converge the victim to the
ref's end state (object sets, roles, schema, grants), and a last converge with tenant data in
place (rows in the schema, an object of the tenant's own in the namespace) changes nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid

import boto3
import pytest
import yaml
from reliability_support import ANSIBLE_PLAYBOOK, AWS_ENV, REPO, clean_env, k8s_call
from kubernetes import config, dynamic
from platform_helpers import AUDIT_BUCKET
from kubernetes.dynamic.exceptions import NotFoundError
from psycopg import sql
from tenant_fixtures import recaps, tail

KILL_AT = "Ensure the tenant's namespace, isolation, workloads and routing"
NAMESPACED_KINDS = [
    ("apps/v1", "Deployment"), ("v1", "Service"), ("v1", "ConfigMap"), ("v1", "ServiceAccount"),
    ("v1", "PersistentVolumeClaim"), ("v1", "ResourceQuota"), ("v1", "LimitRange"), ("v1", "Secret"),
    ("networking.k8s.io/v1", "NetworkPolicy"), ("networking.k8s.io/v1", "Ingress"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"), ("policy/v1", "PodDisruptionBudget"),
    ("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "RoleBinding"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory, pg_private, moto_url, k8s):
    """Inventory with two tenants, and the environment that points every service at our privates."""
    prefix = "r" + uuid.uuid4().hex[:6]
    tenants = {"ref": f"{prefix}-ref", "victim": f"{prefix}-victim"}
    inventory = tmp_path_factory.mktemp("inventory")
    hosts = {"llm_saas": {"children": {"platform": {"hosts": {"controller": None}},
                                       "tenants": {"children": {"tier_standard": {
                                           "hosts": dict.fromkeys(tenants.values())}}}}}}
    (inventory / "hosts.yml").write_text("---\n" + yaml.safe_dump(hosts))
    (inventory / "group_vars").mkdir()
    shutil.copy(REPO / "inventories" / "local" / "group_vars" / "llm_saas.yml", inventory / "group_vars")
    (inventory / "host_vars").mkdir()
    for name in tenants.values():
        (inventory / "host_vars" / f"{name}.yml").write_text(
            "---\n" + yaml.safe_dump({"tenant_admin_group": f"{name}-admins"}))
    # The tenant role writes its audit records there (site.yml's playbooks/security.yml makes it).
    boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(
        Bucket=AUDIT_BUCKET)
    env = clean_env(PGHOST=pg_private.host, PGPORT=str(pg_private.port), PGUSER="postgres",
                    PGPASSWORD=pg_private.password, AWS_ENDPOINT_URL=moto_url, KUBECONFIG=str(k8s.kubeconfig),
                    LP_REDIS_PORT="1", ANSIBLE_FORKS="2", PYTHONUNBUFFERED="1")
    return {"inventory": inventory, "tenants": tenants, "env": env}


def playbook_cmd(site, *args: str) -> list[str]:
    return [ANSIBLE_PLAYBOOK, "-i", str(site["inventory"]), str(REPO / "playbooks" / "tenants.yml"), *args]


def converge(site, *args: str):
    proc = subprocess.run(playbook_cmd(site, *args), cwd=REPO, env=site["env"], capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, tail(proc)
    return recaps(proc.stdout)


def run_and_kill(site, *args: str, marker: str = KILL_AT) -> str:
    """Run ansible-playbook until ``marker`` shows in its output, then SIGKILL its process group."""
    proc = subprocess.Popen(playbook_cmd(site, *args), cwd=REPO, env=site["env"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    deadline = time.monotonic() + 300
    try:
        for line in proc.stdout:
            seen.append(line)
            if marker in line:
                os.killpg(proc.pid, signal.SIGKILL)
                break
            assert time.monotonic() < deadline, "".join(seen)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    output = "".join(seen)
    assert marker in output, output
    assert proc.returncode == -signal.SIGKILL
    return output


class Kube:
    """Reads through the kubernetes python client, returning plain dicts."""

    def __init__(self, kubeconfig) -> None:
        self.client = dynamic.DynamicClient(config.new_client_from_config(config_file=str(kubeconfig)))

    def list(self, api_version: str, kind: str, namespace: str | None = None, label_selector: str = "") -> list:
        res = self.client.resources.get(api_version=api_version, kind=kind)
        return res.get(namespace=namespace, label_selector=label_selector).to_dict()["items"]

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        res = self.client.resources.get(api_version=api_version, kind=kind)
        try:
            return res.get(name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None


def k8s_objects(kube, tenant: str) -> dict[str, dict]:
    """kind/name -> {labels, spec-ish content} of everything the tenant role manages."""
    found = {}
    ns = kube.get("v1", "Namespace", f"tenant-{tenant}")
    if ns:
        found[f"Namespace/{ns['metadata']['name']}"] = ns["metadata"].get("labels", {})
    for api_version, kind in NAMESPACED_KINDS:
        for obj in kube.list(api_version, kind, f"tenant-{tenant}", f"llm-saas.io/tenant={tenant}"):
            body = {k: v for k, v in obj.items() if k not in ("metadata", "status", "data")}
            template = body.get("spec", {}).get("template", {}).get("metadata", {})
            if "annotations" in template:  # checksums of the tenant's own random credentials
                template["annotations"] = sorted(template["annotations"])
            if kind == "Service":  # allocated by the API server, differs between any two Services
                body["spec"] = {k: v for k, v in body["spec"].items() if k not in ("clusterIP", "clusterIPs")}
            body["labels"] = obj["metadata"].get("labels", {})
            annotations = obj["metadata"].get("annotations", {})
            # Checksums of per-tenant random credentials differ between tenants by design.
            body["annotations"] = sorted(annotations)
            found[f"{kind}/{obj['metadata']['name']}"] = body
    for pv in kube.list("v1", "PersistentVolume", label_selector=f"llm-saas.io/tenant={tenant}"):
        found[f"PersistentVolume/{pv['metadata']['name']}"] = pv["metadata"].get("labels", {})
    return found


def pg_state(server, tenant: str) -> dict:
    base = "tenant_" + tenant.replace("-", "_")
    with server.connect("openwebui") as conn:
        roles = conn.execute(
            "SELECT rolname, rolcanlogin, rolconnlimit FROM pg_roles WHERE rolname LIKE %s ORDER BY 1",
            (base + "\\_%",)).fetchall()
        schema = conn.execute(
            "SELECT nspname, pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace WHERE nspname = %s",
            (base,)).fetchall()
        dbacl = conn.execute("SELECT datacl::text FROM pg_database WHERE datname = 'openwebui'").fetchone()[0]
    return {"roles": roles, "schema": schema, "connect": base + "_app=c/" in (dbacl or "")}


def normalized(value, tenant: str):
    text = yaml.safe_dump(value, sort_keys=True).replace(tenant.replace("-", "_"), "<T_>").replace(tenant, "<T>")
    return yaml.safe_load(text)


def secret_names(moto_url: str) -> set[str]:
    client = boto3.client("secretsmanager", endpoint_url=moto_url, region_name="us-east-1",
                          aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"])
    return {s["Name"] for s in client.list_secrets()["SecretList"]}


def test_killed_onboarding_reruns_to_the_uninterrupted_end_state(site, k8s, pg_private, moto_url):
    kube = Kube(k8s.kubeconfig)
    ref, victim = site["tenants"]["ref"], site["tenants"]["victim"]

    # 1. The victim's onboarding dies half-way: after its credentials and database, during the apply.
    output = run_and_kill(site, "--limit", f"controller,{victim}")
    assert "Ensure the tenant's database schema and login role" in output
    half = pg_state(pg_private, victim)
    assert half["schema"], "the kill came after the database task: its transaction committed"

    # 2. One converge of the whole inventory: ref onboarded in one go, victim finished.
    first = converge(site)
    assert first[ref]["failed"] == 0 and first[victim]["failed"] == 0

    # Same end state, tenant name aside.
    got, want = normalized(k8s_objects(kube, victim), victim), normalized(k8s_objects(kube, ref), ref)
    assert got.keys() == want.keys()
    for key in want:
        assert got[key] == want[key], key
    assert normalized(pg_state(pg_private, victim), victim) == normalized(pg_state(pg_private, ref), ref)
    assert f"llm-saas/local/tenants/{victim}/app" in secret_names(moto_url)
    assert len(k8s_objects(kube, victim)) > 10

    # 3. Tenant data in place: rows in its schema, an object of its own in its namespace.
    base = "tenant_" + victim.replace("-", "_")
    with pg_private.connect("openwebui") as conn:
        conn.execute(sql.SQL("CREATE TABLE {}.chats (id int PRIMARY KEY, body text)").format(sql.Identifier(base)))
        conn.execute(sql.SQL("ALTER TABLE {}.chats OWNER TO {}").format(sql.Identifier(base),
                                                                        sql.Identifier(base + "_app")))
        conn.execute(sql.SQL("INSERT INTO {}.chats SELECT g, 'msg ' || g FROM generate_series(1, 20) g")
                     .format(sql.Identifier(base)))
    user_cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "user-notes"},
               "data": {"note": "keep me"}}
    created = kube.client.resources.get(api_version="v1", kind="ConfigMap").create(
        body=user_cm, namespace=f"tenant-{victim}").to_dict()
    before = k8s_objects(kube, victim)

    # 4. Re-converge the victim: nothing changes, nothing of the tenant's is lost.
    second = converge(site, "--limit", f"controller,{victim}")
    assert second[victim]["changed"] == 0 and second[victim]["failed"] == 0, second
    assert k8s_objects(kube, victim) == before
    cm = kube.get("v1", "ConfigMap", "user-notes", f"tenant-{victim}")
    assert cm["data"] == {"note": "keep me"}
    assert cm["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    with pg_private.connect("openwebui") as conn:
        assert conn.execute(sql.SQL("SELECT count(*), max(body) FROM {}.chats").format(
            sql.Identifier(base))).fetchone() == (20, "msg 9")


def test_api_server_429_and_500_on_the_tenants_writes_are_retried(site, k8s):
    """The API server sheds load (429) and fails (500) on the tenant's objects for a while: the role's
    writes are retried and the converge succeeds, with nothing left over and nothing changed."""
    ref = site["tenants"]["ref"]
    kube = Kube(k8s.kubeconfig)
    converge(site, "--limit", f"controller,{ref}")
    before = k8s_objects(kube, ref)
    ns = f"/namespaces/tenant-{ref}"
    # Paths of single objects (the apply's PATCH and the wait's GET), not the prune step's list reads.
    for status, count, path in ((429, 2, r"/secrets/open-webui-env(\?|$)"), (500, 1, r"/deployments/open-webui(\?|$)")):
        k8s_call(k8s, "POST", "/_emulator/faults", {"status": status, "count": count, "path_regex": ns + path})
    proc = subprocess.run(playbook_cmd(site, "--limit", f"controller,{ref}"), cwd=REPO, env=site["env"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, tail(proc)
    assert recaps(proc.stdout)[ref]["changed"] == 0, tail(proc)
    pending = k8s_call(k8s, "GET", "/_emulator/stats")["faults"]
    assert pending == [], "every injected error was answered, and the role came back after each"
    # The 429s (with Retry-After) are retried inside the kubernetes client; the 500 fails the batched
    # apply once, and the role retries it.
    retries = [line for line in proc.stdout.splitlines() if "FAILED - RETRYING" in line]
    assert len(retries) == 1 and "one server-side apply" in retries[0], tail(proc)
    assert k8s_objects(kube, ref) == before
