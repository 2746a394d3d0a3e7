"""The collection's modules refuse bad arguments before they touch a service.

Each case is one invocation of one module with one bad argument, run with the shared local
platform's environment, so a module that did not validate would reach the real PostgreSQL, Ollama
or moto. The invocation must fail, its message must name the argument, it must not report a change,
and for modules that would have written somewhere the service is checked too.

To keep the suite fast all cases run as the tasks of ONE playbook (``ignore_errors`` on each, so
every invocation runs whatever the previous one did), and each test reads its own task's result;
``test_module_case_runs_ad_hoc`` runs one case the operator's way
(``ansible localhost -m llm_saas.platform.<module> -a <json>``) to show both paths agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from bad_input_support import adhoc
from platform_helpers import REPO


def _pg_bad_objects(env: dict[str, str]) -> list[str]:
    """Roles and schemas a malformed tenant name could have produced (or this suite's own names)."""
    import psycopg

    query = """
        SELECT rolname FROM pg_roles
         WHERE rolname ~ '^tenant_' AND (rolname ~ '[^a-z0-9_]' OR rolname LIKE 'tenant\\_bi\\_%')
        UNION ALL
        SELECT nspname FROM pg_namespace
         WHERE nspname ~ '^tenant_' AND (nspname ~ '[^a-z0-9_]' OR nspname LIKE 'tenant\\_bi\\_%')
        UNION ALL
        SELECT extname FROM pg_extension WHERE extname ~ '[^a-z0-9_-]'
    """
    server = {"host": env["PGHOST"], "port": env["PGPORT"], "user": env["PGUSER"], "password": env["PGPASSWORD"]}
    # The shared database exists once site.yml ran; this suite may run first, so make it if missing.
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'openwebui'").fetchone():
            conn.execute("CREATE DATABASE openwebui")
    with psycopg.connect(dbname="openwebui", autocommit=True, **server) as conn:
        return [r[0] for r in conn.execute(query).fetchall()]


def _ollama_bad_models(env: dict[str, str]) -> list[str]:
    url = env["OLLAMA_HOST"].rstrip("/") + "/api/tags"
    assert url.startswith("http"), url
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 (http(s) asserted above)
        models = json.load(resp).get("models", [])
    return [m["name"] for m in models if any(bad in m["name"] for bad in (";", " ", "..", "passwd"))]


def _no_replication_group(env: dict[str, str]) -> list[str]:
    import boto3

    client = boto3.client("elasticache", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    groups = client.describe_replication_groups()["ReplicationGroups"]
    return [g["ReplicationGroupId"] for g in groups if g["ReplicationGroupId"].startswith("bi-")]


PG = "llm_saas.platform.tenant_schema"
OLLAMA = "llm_saas.platform.ollama_model"
REDIS = "llm_saas.platform.elasticache_replication_group"
_REDIS_OK = {"name": "bi-redis", "cache_node_type": "cache.t3.micro", "wait": False}
_S3_RULE = {"id": "dr", "destination": {"bucket": "bi-replica"}}

CASES = {
    # id: (module, args, texts the message must contain, check of the service state)
    "tenant_schema: SQL injection in tenant": (
        PG, {"tenant": "acme; DROP ROLE postgres"}, ["tenant:", "DNS-1123", "acme-corp"], _pg_bad_objects),
    "tenant_schema: quote in tenant": (PG, {"tenant": 'a"b'}, ["tenant:", "DNS-1123"], _pg_bad_objects),
    "tenant_schema: template in tenant": (
        PG, {"tenant": "{{ lookup('ansible.builtin.env', 'HOME') }}"}, ["tenant:", "DNS-1123"], _pg_bad_objects),
    "tenant_schema: missing tenant": (PG, {"database": "openwebui"}, ["tenant"], _pg_bad_objects),
    "tenant_schema: SQL injection in schema": (
        PG, {"tenant": "bi-ok", "schema": "x; DROP SCHEMA public CASCADE"}, ["schema:", "^[a-z_]"], _pg_bad_objects),
    "tenant_schema: reserved role name": (
        PG, {"tenant": "bi-ok", "app_role": "pg_monitor"}, ["app_role:", "pg_"], _pg_bad_objects),
    "tenant_schema: SQL injection in statement_timeout": (
        PG, {"tenant": "bi-ok", "statement_timeout": "30s'; DROP TABLE x; --"}, ["statement_timeout:", "30s"],
        _pg_bad_objects),
    "tenant_schema: connection_limit not an int": (
        PG, {"tenant": "bi-ok", "connection_limit": "many"}, ["connection_limit", "int"], _pg_bad_objects),
    "tenant_schema: connection_limit below -1": (
        PG, {"tenant": "bi-ok", "connection_limit": -5}, ["connection_limit:", "-1"], _pg_bad_objects),
    "tenant_schema: SQL injection in extension": (
        PG, {"tenant": "bi-ok", "extensions": ["vector; DROP EXTENSION plpgsql"]}, ["extensions:"], _pg_bad_objects),
    "tenant_schema: empty password": (
        PG, {"tenant": "bi-ok", "password": ""}, ["password:", "non-empty"], _pg_bad_objects),
    "tenant_schema: password with rds_iam": (
        PG, {"tenant": "bi-ok", "password": "s3cret-s3cret", "rds_iam": True}, ["password:", "rds_iam"],
        _pg_bad_objects),
    "ollama_model: shell injection in name": (
        OLLAMA, {"name": "llama3:8b; rm -rf /"}, ["Invalid 'name'"], _ollama_bad_models),
    "ollama_model: path traversal in name": (
        OLLAMA, {"name": "../../etc/passwd"}, ["Invalid 'name'"], _ollama_bad_models),
    "ollama_model: non-HTTP api_url": (
        OLLAMA, {"name": "phi3:mini", "api_url": "ftp://127.0.0.1:21434"}, ["api_url", "http://"],
        _ollama_bad_models),
    "ollama_model: negative retries": (
        OLLAMA, {"name": "phi3:mini", "retries": -1}, ["'retries'", "0 or greater"], _ollama_bad_models),
    "ollama_model: unknown state": (
        OLLAMA, {"name": "phi3:mini", "state": "upgraded"}, ["state", "present, latest, absent"], _ollama_bad_models),
    "elasticache: short auth token": (
        REDIS, {**_REDIS_OK, "auth_token": "short"}, ["auth_token", "16 to 128"], _no_replication_group),
    "elasticache: auth token without TLS": (
        REDIS, {**_REDIS_OK, "auth_token": "a" * 32, "transit_encryption": False},
        ["auth_token", "transit_encryption=true"], _no_replication_group),
    "elasticache: missing node type": (
        REDIS, {"name": "bi-redis", "wait": False}, ["cache_node_type"], _no_replication_group),
    "elasticache: no primary": (
        REDIS, {**_REDIS_OK, "num_cache_clusters": 0}, ["num_cache_clusters", "at least 1"], _no_replication_group),
    "eks_addon: unknown conflict resolution": (
        "llm_saas.platform.eks_addon", {"cluster_name": "bi", "name": "vpc-cni", "resolve_conflicts": "FORCE"},
        ["resolve_conflicts", "OVERWRITE"], None),
    "eks_addon: wait_timeout not an int": (
        "llm_saas.platform.eks_addon", {"cluster_name": "bi", "name": "vpc-cni", "wait_timeout": "soon"},
        ["wait_timeout", "int"], None),
    "eks_access_entry: unknown type": (
        "llm_saas.platform.eks_access_entry",
        {"cluster_name": "bi", "principal_arn": "arn:aws:iam::123456789012:role/x", "type": "ADMIN"},
        ["type", "STANDARD"], None),
    "eks_access_entry: unknown access scope": (
        "llm_saas.platform.eks_access_entry",
        {"cluster_name": "bi", "principal_arn": "arn:aws:iam::123456789012:role/x",
         "access_policies": [{"policy_arn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
                              "access_scope": {"type": "everything"}}]},
        ["type", "cluster, namespace"], None),
    "s3_bucket_replication: missing role and rules": (
        "llm_saas.platform.s3_bucket_replication", {"bucket": "bi-source"}, ["role", "rules"], None),
    "s3_bucket_replication: unknown storage class": (
        "llm_saas.platform.s3_bucket_replication",
        {"bucket": "bi-source", "role": "arn:aws:iam::123456789012:role/r",
         "rules": [{**_S3_RULE, "destination": {"bucket": "bi-replica", "storage_class": "CHEAP"}}]},
        ["storage_class", "STANDARD_IA"], None),
    "efs_replication: destination without region": (
        "llm_saas.platform.efs_replication", {"file_system_id": "fs-bi", "destination": {"file_system_id": "fs-x"}},
        ["region", "destination"], None),
    "efs_replication: unknown backup policy": (
        "llm_saas.platform.efs_replication",
        {"file_system_id": "fs-bi", "destination": {"region": "us-west-2"}, "backup_policy": "sometimes"},
        ["backup_policy", "enabled, disabled"], None),
}


@pytest.fixture(scope="module")
def batch(local_platform: dict[str, str], tmp_path_factory) -> dict:
    """Run every case as one task of one playbook; {case: task result} plus the run's stats."""
    tasks = [{"name": case, spec[0]: spec[1], "ignore_errors": True} for case, spec in CASES.items()]
    play = [{"name": "bad module arguments", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, "tasks": tasks}]
    playbook = tmp_path_factory.mktemp("modules") / "bad_module_arguments.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(playbook)],
        cwd=REPO, capture_output=True, text=True, check=False,
        env={**os.environ, **local_platform, "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json"},
    )
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"no JSON from the batch playbook:\n{proc.stdout}\n{proc.stderr}") from exc
    results = {t["task"]["name"]: t["hosts"]["localhost"] for t in data["plays"][0]["tasks"]}
    return {"results": results, "stats": data["stats"]["localhost"], "proc": proc}


def test_batch_changed_nothing(batch: dict) -> None:
    """The recap of the whole batch: every invocation failed (ignored), none changed anything."""
    stats = batch["stats"]
    assert stats["changed"] == 0 and stats["ignored"] == len(CASES), stats


@pytest.mark.refused
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_module_refuses(local_platform: dict[str, str], batch: dict, case: str) -> None:
    module, _args, texts, untouched = CASES[case]
    result = batch["results"].get(case)
    assert result is not None, f"{case} did not run:\n{batch['proc'].stdout[-3000:]}\n{batch['proc'].stderr[-2000:]}"
    out = json.dumps(result, indent=1)
    assert result.get("failed") is True and result.get("action") == module, out
    for text in texts:
        assert text in result.get("msg", ""), f"{text!r} missing from the message:\n{out}"
    assert result.get("changed") is False, out
    if untouched is not None:
        assert untouched(local_platform) == [], f"{case} changed the service:\n{out}"


@pytest.mark.refused
def test_module_case_runs_ad_hoc(local_platform: dict[str, str]) -> None:
    """The same refusal through ``ansible localhost -m`` (ad-hoc), as an operator would try it."""
    module, args, texts, untouched = CASES["tenant_schema: SQL injection in tenant"]
    proc, result = adhoc(module, {**args, "tenant": "acme'; DROP SCHEMA public CASCADE; --"}, env=local_platform)
    out = json.dumps(result, indent=1)
    assert proc.returncode != 0 and result.get("failed") is True, out
    assert all(text in result.get("msg", "") for text in texts), out
    assert result.get("changed") is False and result["_stats"]["changed"] == 0, out
    assert untouched(local_platform) == [], out
