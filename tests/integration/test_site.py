"""site.yml end to end on the local platform: it converges, a re-run changes nothing, and
`--check --diff` on the converged platform shows nothing to do (what `make demo` shows). Then
playbooks/teardown.yml on that same foundation: it refuses without (or with a wrong)
``confirm_teardown`` and leaves everything as it was, and with the account id, given on the command
line the way docs/ say, removes every resource the foundation created.

The teardown runs here, on the site's own foundation, rather than on a second one built for it:
building the foundation is most of the cost (~5 min on 2 cores). So the teardown tests are marked
``tears_down_foundation`` and tests/conftest.py runs them after every other test."""

from __future__ import annotations

import boto3
import pytest
from platform_helpers import REPO, recap, run_playbook

MOTO_ACCOUNT = "123456789012"
NAME, PREFIX = "llm-saas", "llm-saas-local"  # platform_name and resource prefix of inventories/local
# What the foundation teardown leaves on purpose: the security baseline's audit evidence (bucket, and
# AWS Config's role) outlives the platform it recorded.
KEPT = {f"{PREFIX}-audit-logs", f"{PREFIX}-aws-config"}


def test_site_converges_then_changes_nothing(local_platform):
    first = run_playbook(REPO / "site.yml", env=local_platform)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    hosts = recap(first.stdout)
    assert {"controller", "acme", "globex", "initech"} <= set(hosts)

    second = run_playbook(REPO / "site.yml", env=local_platform)
    assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-3000:]
    changed = {host: counts["changed"] for host, counts in recap(second.stdout).items()}
    assert changed and all(count == 0 for count in changed.values()), changed

    check = run_playbook(REPO / "site.yml", "--check", "--diff", env=local_platform)
    assert check.returncode == 0, check.stdout[-6000:] + check.stderr[-3000:]
    changed = {host: counts["changed"] for host, counts in recap(check.stdout).items()}
    assert all(count == 0 for count in changed.values()), changed


def clients(env):
    kw = {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": "us-east-1"}
    return {svc: boto3.client(svc, **kw) for svc in ("ec2", "eks", "iam", "s3", "rds", "secretsmanager", "elasticache")}


def foundation_inventory(env) -> dict[str, list[str]]:
    """What the foundation of inventories/local holds in moto, by kind."""
    c = clients(env)
    tagged = [{"Name": "tag:Project", "Values": [NAME]}]
    return {
        "vpcs": [v["VpcId"] for v in c["ec2"].describe_vpcs(Filters=tagged)["Vpcs"]],
        "subnets": [s["SubnetId"] for s in c["ec2"].describe_subnets(Filters=tagged)["Subnets"]],
        # moto ignores tag filters on DescribeNatGateways: select by each gateway's own tags.
        "nat_gateways": [
            n["NatGatewayId"]
            for n in c["ec2"].describe_nat_gateways()["NatGateways"]
            if n["State"] in ("pending", "available") and {"Key": "Project", "Value": NAME} in n.get("Tags", [])
        ],
        "eips": [a["AllocationId"] for a in c["ec2"].describe_addresses(Filters=tagged)["Addresses"]],
        "clusters": [x for x in c["eks"].list_clusters()["clusters"] if x == PREFIX],
        "iam_roles": [
            r["RoleName"] for r in c["iam"].list_roles()["Roles"] if r["RoleName"].startswith(PREFIX)
            and r["RoleName"] not in KEPT
        ],
        "buckets": [
            b["Name"] for b in c["s3"].list_buckets().get("Buckets", []) if b["Name"].startswith(PREFIX)
            and b["Name"] not in KEPT
        ],
        "databases": [
            d["DBInstanceIdentifier"]
            for d in c["rds"].describe_db_instances()["DBInstances"]
            if d["DBInstanceIdentifier"].startswith(PREFIX)
        ],
        "secrets": [
            s["Name"] for s in c["secretsmanager"].list_secrets()["SecretList"] if s["Name"].startswith(PREFIX)
        ],
        "cache_subnet_groups": [
            g["CacheSubnetGroupName"] for g in c["elasticache"].describe_cache_subnet_groups()["CacheSubnetGroups"]
            if g["CacheSubnetGroupName"].startswith(PREFIX)
        ],
    }


def test_site_built_the_foundation(local_platform):
    found = foundation_inventory(local_platform)
    assert len(found["vpcs"]) == 1
    assert len(found["subnets"]) == 9
    assert len(found["nat_gateways"]) == 3 and len(found["eips"]) == 3
    assert found["clusters"] == [PREFIX]
    assert {f"{PREFIX}-postgres", f"{PREFIX}-postgres-replica"} <= set(found["databases"])
    assert f"{PREFIX}/rds/master" in found["secrets"]
    assert len(found["cache_subnet_groups"]) == 1


@pytest.mark.tears_down_foundation
@pytest.mark.parametrize("confirm", [None, "999999999999"])
def test_teardown_refuses_without_the_account_id(local_platform, confirm):
    before = foundation_inventory(local_platform)
    args = ("-e", f"confirm_teardown={confirm}") if confirm else ()
    proc = run_playbook(REPO / "playbooks" / "teardown.yml", *args, env=local_platform)
    assert proc.returncode != 0
    assert f"confirm_teardown={MOTO_ACCOUNT}" in proc.stdout
    assert recap(proc.stdout)["controller"]["changed"] == 0
    assert foundation_inventory(local_platform) == before


@pytest.mark.tears_down_foundation
def test_teardown_with_the_account_id_removes_everything(local_platform):
    # The command line of docs/ and playbooks/teardown.yml: key=value extra vars arrive as strings.
    proc = run_playbook(REPO / "playbooks" / "teardown.yml", "-e", f"confirm_teardown={MOTO_ACCOUNT}",
                        "-e", "data_services_teardown_delete_protected=true", env=local_platform)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    leftovers = {k: v for k, v in foundation_inventory(local_platform).items() if v}
    assert leftovers == {}
