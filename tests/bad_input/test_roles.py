"""Roles refuse bad variables on their own, before their first change.

Two kinds of cases:

* a tiny playbook includes one role with one bad variable: the role's argument spec
  (meta/argument_specs.yml, validated by Ansible before the role's first task) or the role's own
  first check must fail, naming the variable;
* ``playbooks/tenants.yml --limit acme`` without ``playbooks/preflight.yml`` and with a malicious
  tenant_name: the tenant role must refuse it before it stores credentials, creates a schema or a
  namespace. These run against the shared local platform and check its state afterwards.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from platform_helpers import REPO, recap, run_playbook

_TENANT = {"tenant_tier": "standard", "tenant_admin_group": "acme-admins"}
_AWS = {"platform_resource_prefix": "llm-saas-local", "platform_tags": {"Platform": "llm-saas"},
        "aws_region": "us-east-1", "aws_dr_region": "us-west-2"}

ROLE_CASES = {
    # id: (role, variables, texts the message must contain)
    "tenant: unknown tenant_state": (
        "tenant", {**_TENANT, "tenant_state": "deleted"}, ["tenant_state", "present, absent", "deleted"]),
    "tenant: missing tenant_admin_group": (
        "tenant", {"tenant_tier": "standard"}, ["tenant_admin_group"]),
    "tenant: tenant_models not a list": (
        "tenant", {**_TENANT, "tenant_models": {"llama3:8b": True}}, ["tenant_models", "list"]),
    "tenant: tenant_overrides not a mapping": (
        "tenant", {**_TENANT, "tenant_overrides": ["quota", "cpu"]}, ["tenant_overrides", "dict"]),
    "tenant: unknown IdP type": (
        "tenant", {**_TENANT, "tenant_idp": {"type": "ldap"}}, ["type", "none, oidc, saml", "tenant_idp"]),
    "tenant: SAML without metadata URL": (
        "tenant", {**_TENANT, "tenant_idp": {"type": "saml"}}, ["type is saml", "saml_metadata_url", "tenant_idp"]),
    "tenant: SAML metadata over http": (
        "tenant", {**_TENANT, "tenant_idp": {"type": "saml", "saml_metadata_url": "http://idp.example/metadata"}},
        ["tenant_idp.type=saml needs an https:// saml_metadata_url", "http://idp.example/metadata",
         "tenant_idp.saml_metadata_url"]),
    "tenant: OIDC without issuer": (
        "tenant", {**_TENANT, "tenant_idp": {"type": "oidc", "client_id": "open-webui"}},
        ["type is oidc", "issuer_url"]),
    "tenant: admin role not an IAM role ARN": (
        "tenant", {**_TENANT, "tenant_admin_role_arns": ["arn:aws:iam::123456789012:user/bob"]},
        ["tenant_admin_role_arns must be IAM role ARNs"]),
    "tenant: unknown admin access policy": (
        "tenant", {**_TENANT, "tenant_admin_access_policy": "AmazonEKSClusterAdminPolicy"},
        ["tenant_admin_access_policy", "AmazonEKSEditPolicy"]),
    "network: unknown flow-log traffic type": (
        "network", {**_AWS, "network_flow_logs_traffic_type": "EVERYTHING"}, ["network_flow_logs_traffic_type"]),
    "network: flow-log retention not a CloudWatch value": (
        "network", {**_AWS, "network_flow_logs_retention_days": 10}, ["network_flow_logs_retention_days"]),
    "network: malformed subnet CIDR": (
        "network", {**_AWS, "network_public_subnet_cidrs": ["10.0.1.0/24", "10.0.2.300/24", "10.0.3.0/24"]},
        ["network_public_subnet_cidrs", "valid CIDR"]),
    "data_services: storage size not a number": (
        "data_services", {**_AWS, "data_services_rds_allocated_storage_gb": "lots"},
        ["data_services_rds_allocated_storage_gb", "int"]),
    "data_services: unknown replica storage class": (
        "data_services", {**_AWS, "data_services_bucket_replica_storage_class": "CHEAP"},
        ["data_services_bucket_replica_storage_class", "STANDARD_IA"]),
    "model_store: missing model list": ("model_store", {}, ["model_store_models"]),
    "security_baseline: unknown GuardDuty feature": (
        "security_baseline", {**_AWS, "security_baseline_guardduty_features": [{"name": "EKS_RUNTIME"}]},
        ["security_baseline_guardduty_features", "EKS_AUDIT_LOGS", "EKS_RUNTIME"]),
    "security_baseline: Security Hub standard by display name": (
        "security_baseline", {**_AWS, "security_baseline_securityhub_standards": ["CIS AWS Foundations"]},
        ["security_baseline_securityhub_standards", "cis-aws-foundations-benchmark/v/3.0.0"]),
}


@pytest.mark.refused
@pytest.mark.parametrize("case", list(ROLE_CASES), ids=list(ROLE_CASES))
def test_role_refuses(tmp_path: Path, case: str) -> None:
    role, variables, texts = ROLE_CASES[case]
    play = [{"name": f"bad input for {role}", "hosts": "localhost", "gather_facts": False,
             "roles": [{"role": f"llm_saas.platform.{role}", "vars": variables}]}]
    playbook = tmp_path / "play.yml"
    (tmp_path / "group_vars").symlink_to(REPO / "group_vars")  # the product-wide playbook group_vars
    playbook.write_text(yaml.safe_dump(play))
    # localhost only: the roles must fail before they would reach any service.
    # The controller's own Python, as the product inventories set it (ansible_playbook_python): the
    # rescue path writes an audit record with boto3, which the system Python may lack.
    proc = run_playbook(playbook, "--connection", "local", "-e", f"ansible_python_interpreter={sys.executable}",
                        inventory="localhost,", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    for text in texts:
        assert text in out, f"{text!r} missing:\n{out}"
    hosts = recap(proc.stdout)
    assert hosts["localhost"]["failed"] == 1 and hosts["localhost"]["changed"] == 0, hosts


# --------------------------------------------------------------------------- tenants.yml, no preflight

NAME_CASES = {
    "SQL injection": "acme; DROP ROLE postgres",
    "double quote": 'ac"me',
    "shell and YAML": "acme$(id)\nkind: ClusterRole",
}


def _secret_names(env: dict[str, str]) -> set[str]:
    import boto3

    client = boto3.client("secretsmanager", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    names = set()
    for page in client.get_paginator("list_secrets").paginate():
        names.update(s["Name"] for s in page["SecretList"])
    return names


def _pg_objects(env: dict[str, str], like: str) -> list[str]:
    import psycopg

    with psycopg.connect(host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"], password=env["PGPASSWORD"],
                         dbname="postgres", autocommit=True) as conn:
        rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (like,)).fetchall()
    return [r[0] for r in rows]


def _namespaces(env: dict[str, str]) -> set[str]:
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=env["KUBECONFIG"]))
    return {ns.metadata.name for ns in api.list_namespace().items}


@pytest.mark.refused
@pytest.mark.parametrize("case", list(NAME_CASES), ids=list(NAME_CASES))
def test_tenants_playbook_refuses_malicious_name(tmp_path: Path, local_platform: dict[str, str], case: str) -> None:
    bad = NAME_CASES[case]
    inv = tmp_path / "inventory"
    shutil.copytree(REPO / "inventories" / "local", inv)
    (inv / "host_vars" / "acme.yml").write_text(
        yaml.safe_dump({"tenant_admin_group": "acme-admins", "tenant_name": bad}))
    secrets_before, namespaces_before = _secret_names(local_platform), _namespaces(local_platform)

    proc = run_playbook(REPO / "playbooks" / "tenants.yml", "--limit", "acme", inventory=inv, env=local_platform)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "tenant_name=" in out and "DNS-1123" in out and "host_vars/acme.yml" in out, out
    assert recap(proc.stdout)["acme"]["changed"] == 0, out

    # The services are untouched: no credentials, no namespace, no database role for the bad name.
    new_secrets = _secret_names(local_platform) - secrets_before
    assert not [s for s in new_secrets if "/tenants/" in s and s.split("/tenants/")[1].startswith("ac")], new_secrets
    new_namespaces = _namespaces(local_platform) - namespaces_before
    assert not [n for n in new_namespaces if n.startswith("tenant-ac")], new_namespaces
    # '_' and '%' are LIKE wildcards; the derived role would start with tenant_ac and contain a bad character.
    assert not [r for r in _pg_objects(local_platform, "tenant\\_ac%") if any(c in r for c in ';"$ \n')]


@pytest.fixture(autouse=True)
def _cleanup_bad_secrets(request):
    """If the tenant role ever stores credentials for a bad name again, don't leave them in moto."""
    yield
    env = request.node.funcargs.get("local_platform")
    if not env:
        return
    import boto3

    client = boto3.client("secretsmanager", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    for bad in NAME_CASES.values():
        with contextlib.suppress(Exception):
            client.delete_secret(SecretId=f"llm-saas/local/tenants/{bad}/app", ForceDeleteWithoutRecovery=True)
