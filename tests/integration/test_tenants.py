"""Tenant lifecycle on the local platform: onboard three tenants, verify, change, offboard.

One fleet (two standard tenants, one premium) is converged once per module and read by many
tests; the lifecycle tests at the end (tier change, model removal, offboarding) build on each
other through module-scoped fixtures, in that order. See tenant_fixtures.py for why the fleet
has its own Kubernetes emulator and Ollama server while sharing moto and PostgreSQL.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path

import psycopg
import pytest
import yaml
from kubernetes import config, dynamic
from kubernetes.dynamic.exceptions import NotFoundError
from netpol import Cluster, Endpoint
from platform_helpers import AUDIT_BUCKET, LOCAL_PREFIX, ensure_tenant_buckets
from psycopg import sql
from tenant_fixtures import (
    CONVERGE,
    PLAYBOOKS,
    REPO,
    aws,
    backups_bucket,
    dump,
    new_fleet,
    pulls,
    remove_leftovers,
    run,
    stop_fleet,
    tail,
)

TIERS = yaml.safe_load((REPO / "group_vars" / "all" / "tiers.yml").read_text())
GPU_TAINT_KEY = "nvidia.com/gpu"
# Kinds the tenant role manages inside a tenant namespace (plus the Namespace and its PV).
NAMESPACED_KINDS = [
    ("apps/v1", "Deployment"), ("v1", "Service"), ("v1", "ConfigMap"), ("v1", "ServiceAccount"),
    ("v1", "PersistentVolumeClaim"), ("v1", "ResourceQuota"), ("v1", "LimitRange"), ("v1", "Secret"),
    ("networking.k8s.io/v1", "NetworkPolicy"), ("networking.k8s.io/v1", "Ingress"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"), ("policy/v1", "PodDisruptionBudget"),
    ("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "RoleBinding"),
]


# --------------------------------------------------------------------------- fixtures


class Kube:
    """Reads through the kubernetes python client, returning plain dicts."""

    def __init__(self, kubeconfig: Path) -> None:
        self.client = dynamic.DynamicClient(config.new_client_from_config(config_file=str(kubeconfig)))

    def list(self, api_version: str, kind: str, namespace: str | None = None, label_selector: str = "") -> list[dict]:
        res = self.client.resources.get(api_version=api_version, kind=kind)
        return res.get(namespace=namespace, label_selector=label_selector).to_dict()["items"]

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        res = self.client.resources.get(api_version=api_version, kind=kind)
        try:
            return res.get(name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None

    def tenant_objects(self, tenant) -> dict[str, str]:
        """kind/name -> resourceVersion of everything of one tenant (namespace, its objects, its PV)."""
        found = {}
        ns = self.get("v1", "Namespace", tenant.namespace)
        if ns:
            found[f"Namespace/{tenant.namespace}"] = ns["metadata"]["resourceVersion"]
        for api_version, kind in NAMESPACED_KINDS:
            for obj in self.list(api_version, kind, tenant.namespace, f"llm-saas.io/tenant={tenant.name}"):
                found[f"{kind}/{obj['metadata']['name']}"] = obj["metadata"]["resourceVersion"]
        for pv in self.list("v1", "PersistentVolume", label_selector=f"llm-saas.io/tenant={tenant.name}"):
            found[f"PersistentVolume/{pv['metadata']['name']}"] = pv["metadata"]["resourceVersion"]
        return found


def uploads_bucket(env: dict[str, str]) -> str:
    """The data_services uploads bucket (made if missing: the tenant layer alone does not make it)."""
    return ensure_tenant_buckets(env)["uploads"]


def list_keys(env: dict[str, str], bucket: str, prefix: str) -> list[str]:
    listed = aws(env, "s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def audit_records(env: dict[str, str], tenant) -> list[dict]:
    """The tenant's audit records, oldest first (keys carry the time)."""
    s3 = aws(env, "s3")
    return [json.loads(s3.get_object(Bucket=AUDIT_BUCKET, Key=k)["Body"].read())
            for k in list_keys(env, AUDIT_BUCKET, f"tenant-audit/tenant={tenant.name}/")]


def uploads_role(tenant) -> str:
    return f"{LOCAL_PREFIX}-tenant-{tenant.name}"


def remove_uploads_leftovers(fleet) -> None:
    """The fleet's IAM roles, uploaded files and audit records (shared moto; tenant names are random)."""
    iam, s3 = aws(fleet.env, "iam"), aws(fleet.env, "s3")
    bucket = uploads_bucket(fleet.env)
    for tenant in fleet.tenants.values():
        try:
            for policy in iam.list_role_policies(RoleName=uploads_role(tenant))["PolicyNames"]:
                iam.delete_role_policy(RoleName=uploads_role(tenant), PolicyName=policy)
            iam.delete_role(RoleName=uploads_role(tenant))
        except iam.exceptions.NoSuchEntityException:
            pass
        for key in list_keys(fleet.env, bucket, f"tenants/{tenant.name}/"):
            s3.delete_object(Bucket=bucket, Key=key)
        for key in list_keys(fleet.env, AUDIT_BUCKET, f"tenant-audit/tenant={tenant.name}/"):
            s3.delete_object(Bucket=AUDIT_BUCKET, Key=key)


@pytest.fixture(scope="module")
def fleet(local_platform, tmp_path_factory):
    fleet = new_fleet(tmp_path_factory.mktemp("tenant-fleet"), local_platform)
    uploads_bucket(fleet.env)
    yield fleet
    try:
        remove_leftovers(fleet)
        remove_uploads_leftovers(fleet)
    finally:
        stop_fleet(fleet)


@pytest.fixture(scope="module")
def kube(fleet) -> Kube:
    return Kube(fleet.k8s.kubeconfig)


@pytest.fixture(scope="module")
def converged(fleet):
    """Converge the fleet, converge again, then run --check --diff; keep each run's outcome."""
    runs = {}
    for label, args in (("first", ()), ("second", ()), ("check", ("--check", "--diff"))):
        proc, counters = run(fleet, *CONVERGE, args=args)
        assert proc.returncode == 0, f"{label} converge failed:\n{tail(proc)}"
        runs[label] = {"proc": proc, "recap": counters, "pulls": pulls(fleet.ollama.stats()),
                       "audit": {t.name: audit_records(fleet.env, t) for t in fleet.tenants.values()}}
    return runs


def by_name(items: list[dict]) -> dict[str, dict]:
    return {i["metadata"]["name"]: i for i in items}


def container(deployment: dict, name: str) -> dict:
    return next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == name)


def env_of(deployment: dict, name: str) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container(deployment, name).get("env", [])}


def expected_models(tenant) -> list[str]:
    return tenant.host_vars.get("tenant_models", TIERS["platform_tiers"][tenant.tier]["models"])


def gpu_models(models: list[str]) -> list[str]:
    return [m for m in models if TIERS["platform_model_catalog"][m]["gpu_required"]]


# --------------------------------------------------------------------------- (1) convergence


def test_fleet_converges_and_a_second_run_changes_nothing(fleet, converged):
    first, second = converged["first"]["recap"], converged["second"]["recap"]
    hosts = {t.name for t in fleet.tenants.values()} | {"controller"}
    assert set(first) == hosts
    for tenant in fleet.tenants.values():
        assert first[tenant.name]["changed"] > 0, "the first run must create the tenant"
    for host in hosts:
        assert second[host]["failed"] == 0
        assert second[host]["changed"] == 0, f"{host} changed on the second run:\n{tail(converged['second']['proc'])}"


def test_check_diff_on_the_converged_fleet_shows_nothing(fleet, converged):
    check = converged["check"]
    for host, counters in check["recap"].items():
        assert counters["changed"] == 0, f"{host} would change in check mode:\n{tail(check['proc'])}"
    # --diff prints a diff only for a change; a converged fleet has none to print.
    assert "\n--- before" not in check["proc"].stdout
    assert "\n+++ after" not in check["proc"].stdout


# --------------------------------------------------------------------------- (2) objects


def test_namespaces_are_labelled_and_enforce_restricted(fleet, converged, kube):
    for tenant in fleet.tenants.values():
        labels = kube.get("v1", "Namespace", tenant.namespace)["metadata"]["labels"]
        assert labels["llm-saas.io/tenant"] == tenant.name
        assert labels["llm-saas.io/tier"] == tenant.tier
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels["pod-security.kubernetes.io/warn"] == "restricted"
        assert labels["pod-security.kubernetes.io/audit"] == "restricted"


def test_resource_quota_comes_from_the_tier(fleet, converged, kube):
    for tenant in fleet.tenants.values():
        quota = TIERS["platform_tiers"][tenant.tier]["quota"]
        hard = kube.get("v1", "ResourceQuota", "tenant-quota", tenant.namespace)["spec"]["hard"]
        assert hard["requests.cpu"] == str(quota["cpu"])
        assert hard["requests.memory"] == quota["memory"]
        assert hard["requests.nvidia.com/gpu"] == str(quota["gpu"])
        assert hard["pods"] == str(quota["pods"])
        assert hard["persistentvolumeclaims"] == str(quota["pvcs"])
        assert hard["services.loadbalancers"] == "0"
        limits = kube.get("v1", "LimitRange", "tenant-limits", tenant.namespace)["spec"]["limits"]
        assert limits[0]["type"] == "Container" and limits[0]["default"]
    assert TIERS["platform_tiers"]["premium"]["quota"]["gpu"] > 0, "the GPU quota check means something"
    assert TIERS["platform_tiers"]["standard"]["quota"]["gpu"] == 0


def test_network_policies_are_in_place(fleet, converged, kube):
    expected = {"default-deny-all", "allow-dns", "open-webui-ingress", "open-webui-egress", "ollama-ingress",
                "allow-prometheus-scrape"}
    for tenant in fleet.tenants.values():
        policies = by_name(kube.list("networking.k8s.io/v1", "NetworkPolicy", tenant.namespace))
        assert expected <= set(policies)
        deny = policies["default-deny-all"]["spec"]
        assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}


def test_tenant_admin_rbac_is_namespaced_to_the_tenant_group(fleet, converged, kube):
    cluster_bindings = kube.list("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")
    for tenant in fleet.tenants.values():
        group = tenant.host_vars["tenant_admin_group"]
        binding = kube.get("rbac.authorization.k8s.io/v1", "RoleBinding", "tenant-admin", tenant.namespace)
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant-admin"}
        assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]
        rules = kube.get("rbac.authorization.k8s.io/v1", "Role", "tenant-admin", tenant.namespace)["rules"]
        granted = {(g, r, v) for rule in rules
                   for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
        assert not any("*" in entry for entry in granted), "no wildcard rights"
        assert not any(r == "secrets" for _, r, _ in granted), "tenant admins do not read the platform-made secrets"
        mentioning = [b["metadata"]["name"] for b in cluster_bindings
                      if any(s.get("name") == group for s in b.get("subjects") or [])]
        assert mentioning == [], f"cluster-wide rights for {group}: {mentioning}"


def test_open_webui_deployment(fleet, converged, kube):
    for tenant in fleet.tenants.values():
        deploy = kube.get("apps/v1", "Deployment", "open-webui", tenant.namespace)
        assert deploy["spec"]["replicas"] >= 2
        env = env_of(deploy, "open-webui")
        assert env["DATABASE_SCHEMA"] == tenant.schema
        assert env["ENABLE_PERSISTENT_CONFIG"] == "false"
        assert env["WEBSOCKET_MANAGER"] == "redis"
        assert env["REDIS_KEY_PREFIX"] == tenant.name
        assert env["ENABLE_OTEL"] == "true"
        services = set(by_name(kube.list("v1", "Service", tenant.namespace)))
        servers = ["ollama-standard"] + (["ollama-premium"] if gpu_models(expected_models(tenant)) else [])
        assert env["OLLAMA_BASE_URLS"].split(";") == [f"http://{s}:11434" for s in servers]
        assert set(servers) <= services, "every Ollama URL names a Service in the tenant's namespace"
        assert {"secretRef": {"name": "open-webui-env"}} in container(deploy, "open-webui")["envFrom"]
        pod = deploy["spec"]["template"]["spec"]
        anti = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        assert any(t["podAffinityTerm"]["topologyKey"] == "topology.kubernetes.io/zone" for t in anti)
        webui = container(deploy, "open-webui")
        assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(webui)
        assert kube.get("policy/v1", "PodDisruptionBudget", "open-webui", tenant.namespace)
        if tenant.host_vars.get("tenant_idp", {}).get("type") == "oidc":
            assert env["OPENID_PROVIDER_URL"].startswith(tenant.host_vars["tenant_idp"]["issuer_url"])
        else:
            assert "OPENID_PROVIDER_URL" not in env


def test_open_webui_keeps_uploads_in_s3_as_the_tenants_own_iam_role(fleet, converged, kube):
    iam = aws(fleet.env, "iam")
    bucket = uploads_bucket(fleet.env)
    for tenant in fleet.tenants.values():
        env = env_of(kube.get("apps/v1", "Deployment", "open-webui", tenant.namespace), "open-webui")
        assert {k: env.get(k) for k in ("STORAGE_PROVIDER", "S3_BUCKET_NAME", "S3_REGION_NAME", "S3_KEY_PREFIX")} == {
            "STORAGE_PROVIDER": "s3", "S3_BUCKET_NAME": bucket, "S3_REGION_NAME": "us-east-1",
            "S3_KEY_PREFIX": f"tenants/{tenant.name}/uploads"}
        role = iam.get_role(RoleName=uploads_role(tenant))["Role"]
        account = role["Arn"].split(":")[4]
        sa = kube.get("v1", "ServiceAccount", "open-webui", tenant.namespace)
        assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == role["Arn"]

        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        provider = trust["Principal"]["Federated"]
        assert provider.startswith(f"arn:aws:iam::{account}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/")
        issuer = provider.split(":oidc-provider/")[1]
        only_its_service_account = {"StringEquals": {
            f"{issuer}:sub": f"system:serviceaccount:{tenant.namespace}:open-webui",
            f"{issuer}:aud": "sts.amazonaws.com"}}
        assert trust["Condition"] == only_its_service_account

        assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == ["uploads"]
        statements = iam.get_role_policy(RoleName=role["RoleName"], PolicyName="uploads")["PolicyDocument"]["Statement"]
        by_sid = {st["Sid"]: st for st in statements}
        prefix = f"tenants/{tenant.name}/uploads/"
        assert by_sid["ListOwnPrefix"]["Resource"] == f"arn:aws:s3:::{bucket}"
        assert by_sid["ListOwnPrefix"]["Condition"] == {"StringLike": {"s3:prefix": [prefix + "*"]}}
        assert by_sid["ReadWriteOwnPrefix"]["Resource"] == f"arn:aws:s3:::{bucket}/{prefix}*"
        assert by_sid["BucketKeyThroughS3Only"]["Condition"]["StringEquals"] == {
            "kms:ViaService": "s3.us-east-1.amazonaws.com",
            "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{bucket}"}
        assert all(st["Effect"] == "Allow" for st in statements) and len(statements) == 3
        resources = [st["Resource"] for st in statements]
        assert not any(r in ("*", f"arn:aws:s3:::{bucket}/*") for r in resources), resources


def test_onboarding_is_audited_once_and_reruns_record_nothing(fleet, converged):
    for tenant in fleet.tenants.values():
        first = converged["first"]["audit"][tenant.name]
        assert [(r["what"], r["result"], r["tenant"]) for r in first] == [("onboard", "success", tenant.name)], first
        assert first[0]["schema"] == "llm-saas.io/tenant-audit/v1" and first[0]["via"] == "ansible-playbook"
        assert first[0]["details"]["tier"] == tenant.tier
        assert "tenant_objects" in first[0]["details"]["changed"]
        # The re-run and the check run changed nothing, so they wrote no record.
        assert converged["second"]["audit"][tenant.name] == first
        assert converged["check"]["audit"][tenant.name] == first


def test_open_webui_secret_exists_with_the_right_keys(fleet, converged, kube):
    secrets = aws(fleet.env, "secretsmanager")
    for tenant in fleet.tenants.values():
        secret = kube.get("v1", "Secret", "open-webui-env", tenant.namespace)
        assert secret is not None
        assert {"DATABASE_URL", "WEBUI_SECRET_KEY", "REDIS_URL"} <= set(secret["data"])
        stored = json.loads(secrets.get_secret_value(
            SecretId=f"llm-saas/local/tenants/{tenant.name}/app")["SecretString"])
        # Compared by digest so that a failure never prints a credential.
        url = base64.b64decode(secret["data"]["DATABASE_URL"]).decode()
        key = base64.b64decode(secret["data"]["WEBUI_SECRET_KEY"]).decode()
        assert hashlib.sha256(key.encode()).digest() == hashlib.sha256(stored["webui_secret_key"].encode()).digest()
        carries_login = f"{tenant.app_role}:{stored['db_password']}@" in url
        assert carries_login, "DATABASE_URL carries the login stored in Secrets Manager"


def test_tenant_credentials_are_replicated_to_the_dr_region(fleet, converged):
    """dr_failover.yml points the DR region's copies at the promoted writer: they must exist."""
    primary, dr = aws(fleet.env, "secretsmanager"), aws(fleet.env, "secretsmanager", "us-west-2")
    for tenant in fleet.tenants.values():
        name = f"llm-saas/local/tenants/{tenant.name}/app"
        status = primary.describe_secret(SecretId=name).get("ReplicationStatus", [])
        assert [r["Region"] for r in status] == ["us-west-2"], status
        replica = dr.describe_secret(SecretId=name)
        assert replica.get("PrimaryRegion") == "us-east-1" and "DeletedDate" not in replica
        # Compared by digest so that a failure never prints a credential.
        assert (hashlib.sha256(dr.get_secret_value(SecretId=name)["SecretString"].encode()).digest()
                == hashlib.sha256(primary.get_secret_value(SecretId=name)["SecretString"].encode()).digest())


def test_premium_ollama_asks_for_a_gpu_and_standard_ones_do_not(fleet, converged, kube):
    for tenant in fleet.tenants.values():
        deployments = by_name(kube.list("apps/v1", "Deployment", tenant.namespace))
        standard = deployments["ollama-standard"]["spec"]["template"]["spec"]
        ollama = container(deployments["ollama-standard"], "ollama")
        assert "nvidia.com/gpu" not in ollama["resources"].get("requests", {})
        assert "nvidia.com/gpu" not in ollama["resources"].get("limits", {})
        assert not any(t.get("key") == GPU_TAINT_KEY for t in standard.get("tolerations") or [])
        if not gpu_models(expected_models(tenant)):
            assert "ollama-premium" not in deployments
            continue
        premium = deployments["ollama-premium"]["spec"]["template"]["spec"]
        gpu = container(deployments["ollama-premium"], "ollama")
        assert int(gpu["resources"]["requests"]["nvidia.com/gpu"]) >= 1
        assert gpu["resources"]["limits"]["nvidia.com/gpu"] == gpu["resources"]["requests"]["nvidia.com/gpu"]
        assert {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"} in premium["tolerations"]
        required = premium["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        terms = required["nodeSelectorTerms"]
        assert {"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]} in terms[0]["matchExpressions"]
    assert any(gpu_models(expected_models(t)) for t in fleet.tenants.values()), "the fleet has a premium tenant"


def test_every_ollama_mounts_the_model_store_read_only(fleet, converged, kube):
    for tenant in fleet.tenants.values():
        ollamas = kube.list("apps/v1", "Deployment", tenant.namespace, "app.kubernetes.io/name=ollama")
        assert ollamas
        for deploy in ollamas:
            pod = deploy["spec"]["template"]["spec"]
            claims = {v["name"]: v["persistentVolumeClaim"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
            assert claims == {"models": {"claimName": "model-store", "readOnly": True}}
            mounts = {m["name"]: m for c in pod["containers"] for m in c.get("volumeMounts", [])}
            assert mounts["models"]["readOnly"] is True
            env = env_of(deploy, "ollama")
            assert env["OLLAMA_NOPRUNE"] == "1", "a tenant Ollama must never prune the shared store"
            tier = TIERS["platform_tiers"][tenant.tier]
            res = tier["ollama_gpu"] if deploy["metadata"]["name"] == "ollama-premium" else tier["ollama"]
            assert env["OLLAMA_KEEP_ALIVE"] == str(res["keep_alive"])
            assert env["OLLAMA_NUM_PARALLEL"] == str(res["num_parallel"])
            assert env["OLLAMA_MAX_QUEUE"] == str(res["max_queue"])
        pv = kube.get("v1", "PersistentVolume", f"model-store-{tenant.name}")
        assert pv["spec"]["accessModes"] == ["ReadOnlyMany"] and pv["spec"]["csi"]["readOnly"] is True
        assert kube.get("v1", "PersistentVolumeClaim", "model-store", tenant.namespace)["spec"]["accessModes"] == [
            "ReadOnlyMany"]


def test_autoscalers_use_resource_and_custom_metrics(fleet, converged, kube):
    for tenant in fleet.tenants.values():
        hpas = by_name(kube.list("autoscaling/v2", "HorizontalPodAutoscaler", tenant.namespace))
        for name, hpa in hpas.items():
            metrics = hpa["spec"]["metrics"]
            resources = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
                         for m in metrics if m["type"] == "Resource"}
            custom = {m["pods"]["metric"]["name"]: m["pods"]["target"]["averageValue"]
                      for m in metrics if m["type"] == "Pods"}
            if name == "open-webui":
                assert resources == {"cpu": 70, "memory": 80}
                assert custom == {"openwebui_queue_depth": "50"}
            else:
                assert name.startswith("ollama-")
                assert set(resources) == {"cpu", "memory"}
                assert custom == {"ollama_requests_per_minute": "1000"}
        servers = {d["metadata"]["name"] for d in kube.list("apps/v1", "Deployment", tenant.namespace)}
        assert set(hpas) == servers, "one HPA per Deployment"


# --------------------------------------------------------------------------- (3) pull once


def test_each_distinct_model_was_pulled_once_and_a_rerun_pulls_nothing(fleet, converged):
    distinct = {m for t in fleet.tenants.values() for m in expected_models(t)}
    uses = sum(len(expected_models(t)) for t in fleet.tenants.values())
    assert uses > len(distinct), "the fleet shares models, so pull-once is really exercised"
    assert converged["first"]["pulls"] == len(distinct)
    installed = {m["name"] for m in fleet.ollama.call("GET", "/api/tags")["models"]}
    # As many pulls as distinct models and every one installed: each was pulled exactly once.
    assert installed == distinct
    assert converged["second"]["pulls"] == converged["first"]["pulls"], "a re-run pulls nothing"
    assert converged["check"]["pulls"] == converged["first"]["pulls"], "check mode pulls nothing"


# --------------------------------------------------------------------------- (4) database isolation


def _login(fleet, tenant):
    secrets = aws(fleet.env, "secretsmanager")
    stored = json.loads(secrets.get_secret_value(SecretId=f"llm-saas/local/tenants/{tenant.name}/app")["SecretString"])
    return psycopg.connect(host=fleet.env["PGHOST"], port=fleet.env["PGPORT"], dbname="openwebui",
                           user=stored["db_user"], password=stored["db_password"], autocommit=True)


def test_tenant_db_role_works_in_its_schema_and_cannot_reach_another(fleet, converged):
    a, b = fleet.tenants["std_a"], fleet.tenants["std_b"]
    with _login(fleet, b) as conn_b:
        conn_b.execute("CREATE TABLE IF NOT EXISTS chats (id int primary key, body text)")
        conn_b.execute("INSERT INTO chats VALUES (1, 'secret of b') ON CONFLICT DO NOTHING")
    with _login(fleet, a) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS notes (id int primary key, body text)")
        conn.execute("INSERT INTO notes VALUES (1, 'hello') ON CONFLICT DO NOTHING")
        assert conn.execute("SELECT body FROM notes").fetchall() == [("hello",)]
        # 'notes'::regclass resolves the name the way the app's statements do (other fleets may hold a 'notes' too).
        schema = conn.execute("SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                              "WHERE c.oid = 'notes'::regclass").fetchone()[0]
        assert schema == a.schema, "an unqualified table lands in the tenant's own schema"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(sql.SQL("SELECT * FROM {}.chats").format(sql.Identifier(b.schema)))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(sql.SQL("CREATE TABLE {}.planted (id int)").format(sql.Identifier(b.schema)))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE public.shared_channel (id int)")


# --------------------------------------------------------------------------- (5) network isolation

RDS = Endpoint("10.0.21.10", name="rds")
REDIS = Endpoint("10.0.22.10", name="redis")
INTERNET = Endpoint("93.184.216.34", name="internet")
ALB = Endpoint("10.0.1.10", name="alb")


@pytest.fixture(scope="module")
def network(fleet, converged, kube):
    """The rendered policies read back from the API server, and one pod per Deployment."""
    namespaces = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in kube.list("v1", "Namespace")}
    for platform_ns in ("monitoring", "tracing", "kube-system"):
        namespaces.setdefault(platform_ns, {})
    policies = [p for ns in namespaces for p in kube.list("networking.k8s.io/v1", "NetworkPolicy", ns)]
    pods: dict[str, dict[str, Endpoint]] = {}
    for index, tenant in enumerate(fleet.tenants.values()):
        for host, deploy in enumerate(kube.list("apps/v1", "Deployment", tenant.namespace), start=10):
            template = deploy["spec"]["template"]
            named = {p["name"]: p["containerPort"] for c in template["spec"]["containers"]
                     for p in c.get("ports", []) if "name" in p}
            pods.setdefault(tenant.name, {})[deploy["metadata"]["name"]] = Endpoint(
                f"10.0.{11 + index}.{host}", tenant.namespace, template["metadata"]["labels"], named,
                name=f"{tenant.name}/{deploy['metadata']['name']}")
    platform = {
        "dns": Endpoint("10.0.30.2", "kube-system", {"k8s-app": "kube-dns"}, name="coredns"),
        "prometheus": Endpoint("10.0.30.3", "monitoring", {"app.kubernetes.io/name": "prometheus"}, name="prometheus"),
        "jaeger": Endpoint("10.0.30.4", "tracing", {"app.kubernetes.io/name": "jaeger"}, name="jaeger"),
    }
    return Cluster(namespaces, policies), pods, platform


def test_no_traffic_between_tenants_in_either_direction_on_any_port(fleet, network):
    cluster, pods, platform = network
    every_pod = [p for tenant_pods in pods.values() for p in tenant_pods.values()] + list(platform.values())
    ports = cluster.candidate_ports(every_pod)
    names = list(pods)
    pairs = 0
    for src_tenant in names:
        for dst_tenant in names:
            if src_tenant == dst_tenant:
                continue
            for src in pods[src_tenant].values():
                for dst in pods[dst_tenant].values():
                    for protocol in ("TCP", "UDP", "SCTP"):
                        assert cluster.reachable_ports(src, dst, ports, protocol) == [], f"{src.name} -> {dst.name}"
                    pairs += 1
    assert pairs >= 2 * 3 * 3, "every ordered pair of tenants was checked"


def test_open_webui_reaches_its_own_ollama_only(fleet, network):
    cluster, pods, _ = network
    for tenant, own in pods.items():
        webui = own["open-webui"]
        ollamas = [name for name in own if name.startswith("ollama-")]
        assert ollamas
        for name in ollamas:
            assert cluster.can_reach(webui, own[name], 11434), f"{tenant}: open-webui -> {name}"
            # The pods' own loopback ports are not reachable from the network.
            assert not cluster.can_reach(webui, own[name], 11435)
        for other, their in pods.items():
            if other != tenant:
                for name in (n for n in their if n.startswith("ollama-")):
                    assert not cluster.can_reach(webui, their[name], 11434), f"{tenant} open-webui -> {other}/{name}"


def test_ollama_has_no_way_out(fleet, network):
    cluster, pods, platform = network
    for own in pods.values():
        for name, pod in own.items():
            if not name.startswith("ollama-"):
                continue
            for port in (443, 80, 11434):
                assert not cluster.can_reach(pod, INTERNET, port), f"{pod.name} -> internet:{port}"
            assert not cluster.can_reach(pod, RDS, 5432)
            assert not cluster.can_reach(pod, own["open-webui"], 8080), "Ollama never calls back into Open WebUI"
            assert cluster.can_reach(pod, platform["dns"], 53, "UDP")
            assert not cluster.can_reach(ALB, pod, 11434), "Ollama is not exposed to the ingress layer"


def test_open_webui_reaches_data_services_tracing_and_dns(fleet, network):
    cluster, pods, platform = network
    for tenant in fleet.tenants.values():
        webui = pods[tenant.name]["open-webui"]
        assert cluster.can_reach(webui, RDS, 5432)
        assert cluster.can_reach(webui, REDIS, 6379)
        assert not cluster.can_reach(webui, RDS, 22)
        assert cluster.can_reach(webui, platform["jaeger"], 4317)
        assert cluster.can_reach(webui, platform["dns"], 53, "UDP")
        assert cluster.can_reach(webui, platform["dns"], 53, "TCP")
        assert cluster.can_reach(ALB, webui, 8080), "the ingress layer reaches Open WebUI"
        assert not cluster.can_reach(INTERNET, webui, 8080), "nothing else does"
        assert cluster.can_reach(platform["prometheus"], webui, 9901), "Prometheus scrapes the metrics sidecar"
        has_idp = tenant.host_vars.get("tenant_idp", {}).get("type", "none") != "none"
        assert cluster.can_reach(webui, INTERNET, 443) is has_idp, "HTTPS out only to reach an external IdP"
        assert not cluster.can_reach(webui, INTERNET, 80)


def test_tenant_isolation_summary(fleet, network, kube, capsys):
    """Every ordered pair of tenants, on the four planes a tenant could reach another on: the
    database (real PostgreSQL privileges), the network (policy analysis of the applied policies),
    RBAC (bindings of the tenant-admin group) and the shared model store (read-only mounts)."""
    cluster, pods, _ = network
    every_pod = [p for tenant_pods in pods.values() for p in tenant_pods.values()]
    ports = cluster.candidate_ports(every_pod)
    role_bindings = kube.list("rbac.authorization.k8s.io/v1", "RoleBinding")
    cluster_bindings = kube.list("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")
    rows = []
    for a in fleet.tenants.values():
        group = a.host_vars["tenant_admin_group"]
        binds = [b for b in role_bindings + cluster_bindings
                 if any(s.get("kind") == "Group" and s.get("name") == group for s in b.get("subjects") or [])]
        rbac_ok = bool(binds) and all(b["kind"] == "RoleBinding" and b["metadata"]["namespace"] == a.namespace
                                      for b in binds)
        store_ok = True
        for deploy in kube.list("apps/v1", "Deployment", a.namespace, "app.kubernetes.io/name=ollama"):
            spec = deploy["spec"]["template"]["spec"]
            claims = [v["persistentVolumeClaim"] for v in spec["volumes"] if "persistentVolumeClaim" in v]
            mounts = [m for c in spec["containers"] for m in c.get("volumeMounts", []) if m["name"] == "models"]
            store_ok &= bool(claims) and all(c.get("readOnly") is True for c in claims)
            store_ok &= bool(mounts) and all(m.get("readOnly") is True for m in mounts)
        with _login(fleet, a) as conn:
            for b in fleet.tenants.values():
                if b is a:
                    continue
                db_rights = conn.execute(
                    "SELECT has_schema_privilege(%s, 'USAGE'), has_schema_privilege(%s, 'CREATE')",
                    (b.schema, b.schema)).fetchone()
                net = [(src.name, dst.name, port) for src in pods[a.name].values() for dst in pods[b.name].values()
                       for port in cluster.reachable_ports(src, dst, ports, "TCP")]
                rows.append((a.name, b.name, not any(db_rights), not net, rbac_ok, store_ok))
    with capsys.disabled():
        print("\ntenant isolation (from -> to: database, network, RBAC, model store read-only)")
        for row in rows:
            print(f"  {row[0]} -> {row[1]}: " + ", ".join("isolated" if ok else "OPEN" for ok in row[2:]))
    assert len(rows) == len(fleet.tenants) * (len(fleet.tenants) - 1)
    assert all(all(row[2:]) for row in rows), rows


# --------------------------------------------------------------------------- (6) changes


@pytest.fixture(scope="module")
def tier_changed(fleet, converged, kube):
    """Move std_a into tier_premium: before/after snapshots of every tenant's objects."""
    before = {key: kube.tenant_objects(t) for key, t in fleet.tenants.items()}
    fleet.tenants["std_a"].tier = "premium"
    fleet.write_inventory()
    # The premium tier's extra model is already in the store (the premium tenant uses it): the
    # tenants playbook alone is the change under test.
    proc, counters = run(fleet, PLAYBOOKS / "tenants.yml")
    assert proc.returncode == 0, tail(proc)
    after = {key: kube.tenant_objects(t) for key, t in fleet.tenants.items()}
    return before, after, counters


def test_tier_change_changes_only_that_tenant(fleet, tier_changed, kube):
    before, after, counters = tier_changed
    moved = fleet.tenants["std_a"]
    assert counters[moved.name]["changed"] > 0
    for key in ("std_b", "prem"):
        diff = dump({"before": before[key], "after": after[key]})
        assert after[key] == before[key], f"{key}'s objects changed:\n{diff}"
        assert counters[fleet.tenants[key].name]["changed"] == 0
    changed = {k for k in after["std_a"] if before["std_a"].get(k) != after["std_a"][k]}
    assert "ResourceQuota/tenant-quota" in changed
    assert "Deployment/ollama-premium" in changed, "a premium tenant gets the GPU model server"
    ns = kube.get("v1", "Namespace", moved.namespace)["metadata"]["labels"]
    assert ns["llm-saas.io/tier"] == "premium"
    changes = [r for r in audit_records(fleet.env, moved) if r["what"] == "change"]
    assert len(changes) == 1 and changes[0]["result"] == "success" and changes[0]["details"]["tier"] == "premium"
    assert "tenant_objects" in changes[0]["details"]["changed"]
    for key in ("std_b", "prem"):
        assert not [r for r in audit_records(fleet.env, fleet.tenants[key]) if r["what"] == "change"], \
            "an unchanged tenant gets no change record"
    quota = kube.get("v1", "ResourceQuota", "tenant-quota", moved.namespace)["spec"]["hard"]
    assert quota["requests.nvidia.com/gpu"] == str(TIERS["platform_tiers"]["premium"]["quota"]["gpu"])


@pytest.fixture(scope="module")
def model_removed(fleet, tier_changed, kube):
    """Drop the premium tenant's only GPU model from its tenant_models."""
    prem = fleet.tenants["prem"]
    before = {key: kube.tenant_objects(t) for key, t in fleet.tenants.items()}
    prem.host_vars["tenant_models"] = [m for m in prem.host_vars["tenant_models"] if m != "llama3:70b"]
    fleet.write_inventory()
    # The store keeps llama3:70b (the tenant moved to premium uses it); the offboarding test
    # proves the store side, this one the tenant's configuration.
    proc, counters = run(fleet, PLAYBOOKS / "tenants.yml")
    assert proc.returncode == 0, tail(proc)
    after = {key: kube.tenant_objects(t) for key, t in fleet.tenants.items()}
    return before, after, counters


def test_removing_a_model_removes_it_from_that_tenants_config(fleet, model_removed, kube):
    before, after, counters = model_removed
    prem = fleet.tenants["prem"]
    assert not gpu_models(prem.host_vars["tenant_models"])
    env = env_of(kube.get("apps/v1", "Deployment", "open-webui", prem.namespace), "open-webui")
    assert env["OLLAMA_BASE_URLS"] == "http://ollama-standard:11434"
    gone = set(before["prem"]) - set(after["prem"])
    assert {"Deployment/ollama-premium", "Service/ollama-premium", "HorizontalPodAutoscaler/ollama-premium",
            "PodDisruptionBudget/ollama-premium"} <= gone
    assert not any(k.endswith("/ollama-premium") for k in after["prem"])
    for key in ("std_a", "std_b"):
        assert after[key] == before[key], f"{key}'s objects changed"
        assert counters[fleet.tenants[key].name]["changed"] == 0


# --------------------------------------------------------------------------- (7) offboarding


@pytest.fixture(scope="module")
def offboarded(fleet, model_removed, kube):
    prem = fleet.tenants["prem"]
    bucket = backups_bucket(fleet.env)
    before = {key: kube.tenant_objects(t) for key, t in fleet.tenants.items()}
    pulls_before = pulls(fleet.ollama.stats())
    uploads = uploads_bucket(fleet.env)
    aws(fleet.env, "s3").put_object(Bucket=uploads, Key=f"tenants/{prem.name}/uploads/u1_contract.pdf",
                                    Body=b"%PDF-1.7 x")
    refused, _ = run(fleet, PLAYBOOKS / "tenant_offboard.yml", extra_vars={"offboard_tenant": prem.name})
    after_refusal = {key: kube.tenant_objects(t) for key, t in fleet.tenants.items()}
    done, counters = run(fleet, PLAYBOOKS / "tenant_offboard.yml",
                         extra_vars={"offboard_tenant": prem.name, "confirm_tenant": prem.name})
    after = {key: kube.tenant_objects(t) for key, t in fleet.tenants.items()}
    return {"bucket": bucket, "before": before, "refused": refused, "after_refusal": after_refusal,
            "done": done, "counters": counters, "after": after, "pulls_before": pulls_before, "uploads": uploads}


def test_offboarding_without_confirmation_changes_nothing(fleet, offboarded):
    assert offboarded["refused"].returncode != 0
    assert "confirm_tenant" in offboarded["refused"].stdout
    assert offboarded["after_refusal"] == offboarded["before"]


def test_offboarding_backs_up_then_removes_everything_of_that_tenant_only(fleet, offboarded, kube):
    prem = fleet.tenants["prem"]
    done = offboarded["done"]
    assert done.returncode == 0, tail(done)
    out = done.stdout
    assert out.index("Upload the backup to the backups bucket") < out.index("Remove the tenant's namespace"), \
        "the backup is taken before anything is removed"
    s3 = aws(fleet.env, "s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=offboarded["bucket"],
                                                 Prefix=f"tenants/{prem.name}/offboard/").get("Contents", [])]
    assert {k.rsplit("/", 1)[1] for k in keys} == {f"{prem.schema}.sql.gz", "objects.json", "u1_contract.pdf"}
    copied = next(k for k in keys if k.endswith("/uploads/u1_contract.pdf"))
    assert s3.get_object(Bucket=offboarded["bucket"], Key=copied)["Body"].read() == b"%PDF-1.7 x"
    dump_key = next(k for k in keys if k.endswith(".sql.gz"))
    dumped = s3.get_object(Bucket=offboarded["bucket"], Key=dump_key)["Body"].read()
    assert f"CREATE SCHEMA {prem.schema}".encode() in gzip.decompress(dumped)
    record_key = next(k for k in keys if k.endswith("objects.json"))
    record = json.loads(s3.get_object(Bucket=offboarded["bucket"], Key=record_key)["Body"].read())
    assert record["namespace"] == prem.namespace
    assert "open-webui" in {o["name"] for o in record["objects"]}

    assert offboarded["after"]["prem"] == {}, f"left in the cluster: {offboarded['after']['prem']}"
    for key in ("std_a", "std_b"):
        assert offboarded["after"][key] == offboarded["before"][key], f"{key} was touched"
    conninfo = {k: fleet.env[v] for k, v in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"),
                                              ("password", "PGPASSWORD"))}
    with psycopg.connect(dbname="openwebui", **conninfo) as conn:
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace")}
        roles = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles")}
    assert prem.schema not in schemas
    assert not {r for r in roles if r.startswith(prem.schema + "_")}
    assert {fleet.tenants["std_a"].schema, fleet.tenants["std_b"].schema} <= schemas
    assert {fleet.tenants["std_a"].app_role, fleet.tenants["std_b"].app_role} <= roles
    secrets = aws(fleet.env, "secretsmanager")
    described = secrets.describe_secret(SecretId=f"llm-saas/local/tenants/{prem.name}/app")
    assert "DeletedDate" in described, "the tenant's secret is scheduled for deletion"
    assert not described.get("ReplicationStatus"), "its DR replica was removed first (AWS requires it)"
    for key in ("std_a", "std_b"):
        kept = secrets.describe_secret(SecretId=f"llm-saas/local/tenants/{fleet.tenants[key].name}/app")
        assert "DeletedDate" not in kept
    assert f"tenant {prem.name} offboarded" in out, "the verification report is printed"
    assert (out.index("Copy the tenant's uploaded files beside the dump")
            < out.index("Remove the tenant's uploaded files")), "the files are backed up before they are deleted"
    assert s3.list_objects_v2(Bucket=offboarded["uploads"], Prefix=f"tenants/{prem.name}/").get("KeyCount") == 0
    with pytest.raises(aws(fleet.env, "iam").exceptions.NoSuchEntityException):
        aws(fleet.env, "iam").get_role(RoleName=uploads_role(prem))
    for key in ("std_a", "std_b"):
        assert aws(fleet.env, "iam").get_role(RoleName=uploads_role(fleet.tenants[key]))
    records = audit_records(fleet.env, prem)
    assert [r["what"] for r in records].count("offboard") == 1, "the refused attempt never reached the tenant"
    (offboard,) = [r for r in records if r["what"] == "offboard"]
    assert offboard["result"] == "success"
    assert offboard["details"]["backup"] == f"s3://{offboarded['bucket']}/{copied.split('/uploads/')[0]}/"


def test_offboarding_drops_models_only_that_tenant_used(fleet, offboarded):
    installed = {m["name"] for m in fleet.ollama.call("GET", "/api/tags")["models"]}
    remaining = {m for k, t in fleet.tenants.items() if k != "prem" for m in expected_models(t)}
    assert "phi3:mini" not in installed, "only the offboarded tenant used it"
    assert installed == remaining
    assert pulls(fleet.ollama.stats()) == offboarded["pulls_before"], "offboarding pulls nothing"


# --------------------------------------------------------------------------- (8) scheduled backup and restore


def _admin_rows(fleet, schema: str) -> list:
    conninfo = {k: fleet.env[v] for k, v in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"),
                                              ("password", "PGPASSWORD"))}
    with psycopg.connect(dbname="openwebui", **conninfo) as conn:
        return conn.execute(sql.SQL("SELECT id, body FROM {}.notes ORDER BY id").format(
            sql.Identifier(schema))).fetchall()


def test_scheduled_backup_is_taken_once_per_interval_and_restores_the_schema(fleet, converged):
    a = fleet.tenants["std_a"]
    s3, bucket = aws(fleet.env, "s3"), backups_bucket(fleet.env)
    prefix = f"tenants/{a.name}/scheduled/"

    def keys() -> list[str]:
        return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))

    with _login(fleet, a) as conn:  # the data the backup must hold (written by the isolation test, or here)
        conn.execute("CREATE TABLE IF NOT EXISTS notes (id int primary key, body text)")
        conn.execute("INSERT INTO notes VALUES (1, 'hello') ON CONFLICT DO NOTHING")
    rows = _admin_rows(fleet, a.schema)
    assert keys() == []

    check, counters = run(fleet, PLAYBOOKS / "tenant_backup.yml", args=("--limit", a.name, "--check"))
    assert check.returncode == 0, tail(check)
    assert counters[a.name]["changed"] == 1, "check mode shows the backup it would take"
    assert keys() == [], "check mode uploaded a backup"

    first, counters = run(fleet, PLAYBOOKS / "tenant_backup.yml", args=("--limit", a.name))
    assert first.returncode == 0, tail(first)
    assert counters[a.name]["changed"] > 0
    taken = keys()
    assert sorted(k.rsplit("/", 1)[1] for k in taken) == sorted([f"{a.schema}.sql.gz", "objects.json"])
    dump_key = next(k for k in taken if k.endswith(".sql.gz"))
    dumped = gzip.decompress(s3.get_object(Bucket=bucket, Key=dump_key)["Body"].read())
    assert b"hello" in dumped and f"CREATE TABLE {a.schema}.notes".encode() in dumped

    again, counters = run(fleet, PLAYBOOKS / "tenant_backup.yml", args=("--limit", a.name))
    assert again.returncode == 0, tail(again)
    assert counters[a.name]["changed"] == 0, "a backup newer than the interval exists: nothing is due"
    assert keys() == taken
    due, counters = run(fleet, PLAYBOOKS / "tenant_backup.yml", args=("--limit", a.name),
                        extra_vars={"tenant_backup_interval_hours": 0})
    assert due.returncode == 0, tail(due)
    assert counters[a.name]["changed"] > 0 and len(keys()) == 4, "an interval of 0 makes the next backup due"

    with _login(fleet, a) as conn:  # the tenant's data goes wrong after the backup
        conn.execute("UPDATE notes SET body = 'overwritten' WHERE id = 1")
        conn.execute("INSERT INTO notes VALUES (99, 'after the backup') ON CONFLICT DO NOTHING")
    restored, _ = run(fleet, PLAYBOOKS / "tenant_restore.yml", extra_vars={
        "restore_tenant": a.name, "confirm_restore": a.name, "tenant_restore_overwrite": True})
    assert restored.returncode == 0, tail(restored)
    assert _admin_rows(fleet, a.schema) == rows, "the restore brought back the backed-up rows"
    # Re-asserting the tenant's owner and grants is the documented next step; it leaves the data alone.
    reconverged, _ = run(fleet, PLAYBOOKS / "tenants.yml", args=("--limit", a.name))
    assert reconverged.returncode == 0, tail(reconverged)
    with _login(fleet, a) as conn:
        assert conn.execute("SELECT id, body FROM notes ORDER BY id").fetchall() == rows


# --------------------------------------------------------------------------- (9) GDPR export


def test_export_writes_dump_object_record_and_uploads_under_a_new_stamp_each_time(fleet, converged):
    b = fleet.tenants["std_b"]
    s3, bucket = aws(fleet.env, "s3"), backups_bucket(fleet.env)
    prefix = f"tenants/{b.name}/export/"
    s3.put_object(Bucket=uploads_bucket(fleet.env), Key=f"tenants/{b.name}/uploads/f9_notes.txt", Body=b"my notes")
    playbook = PLAYBOOKS / "tenant_export.yml"

    unlimited, _ = run(fleet, playbook)
    assert unlimited.returncode != 0 and "--limit <tenant>" in unlimited.stdout, tail(unlimited)
    check, counters = run(fleet, playbook, args=("--limit", b.name, "--check"))
    assert check.returncode == 0, tail(check)
    assert counters[b.name]["changed"] > 0, "check mode shows the export it would write"
    assert list_keys(fleet.env, bucket, prefix) == [], "check mode wrote nothing"

    stamps = []
    for _ in range(2):
        done, counters = run(fleet, playbook, args=("--limit", b.name))
        assert done.returncode == 0, tail(done)
        assert counters[b.name]["changed"] > 0, "an export is an action: every run writes one"
        new = {k.split("/")[3] for k in list_keys(fleet.env, bucket, prefix)} - set(stamps)
        assert len(new) == 1, new
        stamps.append(new.pop())
    assert stamps[0] < stamps[1]
    written = list_keys(fleet.env, bucket, f"{prefix}{stamps[1]}/")
    base = f"{prefix}{stamps[1]}/"
    assert written == sorted([base + "objects.json", base + f"{b.schema}.sql.gz", base + "uploads/f9_notes.txt"])
    for key in written:
        assert s3.head_object(Bucket=bucket, Key=key)["ServerSideEncryption"] == "aws:kms"
    assert s3.get_object(Bucket=bucket, Key=base + "uploads/f9_notes.txt")["Body"].read() == b"my notes"
    record = json.loads(s3.get_object(Bucket=bucket, Key=base + "objects.json")["Body"].read())
    assert record["namespace"] == b.namespace and "open-webui" in {o["name"] for o in record["objects"]}
    dumped = gzip.decompress(s3.get_object(Bucket=bucket, Key=base + f"{b.schema}.sql.gz")["Body"].read())
    assert f"CREATE SCHEMA {b.schema}".encode() in dumped

    exports = [r for r in audit_records(fleet.env, b) if r["what"] == "export"]
    assert [(r["result"], r["details"]["location"]) for r in exports] == [
        ("success", f"s3://{bucket}/{prefix}{stamp}/") for stamp in stamps], "one record per export, none for --check"

    # A failing export is recorded as a failure, then fails the run as it would have.
    failed, _ = run(fleet, playbook, args=("--limit", b.name), extra_vars={"tenant_backup_bucket": "no-such-bucket-x"})
    assert failed.returncode != 0, tail(failed)
    last = [r for r in audit_records(fleet.env, b) if r["what"] == "export"][-1]
    assert last["result"] == "failure" and last["details"]["task"] == "Upload the backup to the backups bucket", last
    assert "Fail as the export failed" in failed.stdout
