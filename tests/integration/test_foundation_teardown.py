"""playbooks/foundation.yml + playbooks/teardown.yml against moto.

Proves that teardown refuses without (or with a wrong) ``confirm_teardown`` and leaves the
foundation untouched, and that with the right account id it removes every resource the
foundation created. Uses its own platform_name so the shared moto keeps other engineers' state.
"""

from __future__ import annotations

import uuid

import boto3
import pytest
from platform_helpers import REPO, recap, run_playbook

MOTO_ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def foundation(local_platform, tmp_path_factory):
    name = "fdt" + uuid.uuid4().hex[:6]
    extra = {
        "platform_name": name,
        "eks_cluster_public_access_cidrs": ["203.0.113.0/24"],
        "eks_cluster_kubeconfig_path": str(tmp_path_factory.mktemp("kube") / "kubeconfig"),
        "data_services_teardown_delete_protected": True,
    }
    proc = run_playbook(REPO / "playbooks" / "foundation.yml", extra_vars=extra)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return {"name": name, "prefix": f"{name}-local", "extra": extra, "env": local_platform}


def clients(env):
    kw = {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": "us-east-1"}
    return {svc: boto3.client(svc, **kw) for svc in ("ec2", "eks", "iam", "s3", "rds", "secretsmanager", "elasticache")}


def inventory_of(env, name, prefix):
    c = clients(env)
    tagged = [{"Name": "tag:Project", "Values": [name]}]
    return {
        "vpcs": [v["VpcId"] for v in c["ec2"].describe_vpcs(Filters=tagged)["Vpcs"]],
        "subnets": [s["SubnetId"] for s in c["ec2"].describe_subnets(Filters=tagged)["Subnets"]],
        # moto ignores tag filters on DescribeNatGateways (it returned the demo's gateways too):
        # select by each gateway's own tags.
        "nat_gateways": [
            n["NatGatewayId"]
            for n in c["ec2"].describe_nat_gateways()["NatGateways"]
            if n["State"] in ("pending", "available") and {"Key": "Project", "Value": name} in n.get("Tags", [])
        ],
        "eips": [a["AllocationId"] for a in c["ec2"].describe_addresses(Filters=tagged)["Addresses"]],
        "clusters": [x for x in c["eks"].list_clusters()["clusters"] if x == prefix],
        "iam_roles": [r["RoleName"] for r in c["iam"].list_roles()["Roles"] if r["RoleName"].startswith(prefix)],
        "buckets": [b["Name"] for b in c["s3"].list_buckets().get("Buckets", []) if b["Name"].startswith(prefix)],
        "databases": [
            d["DBInstanceIdentifier"]
            for d in c["rds"].describe_db_instances()["DBInstances"]
            if d["DBInstanceIdentifier"].startswith(prefix)
        ],
        "secrets": [
            s["Name"] for s in c["secretsmanager"].list_secrets()["SecretList"] if s["Name"].startswith(prefix)
        ],
        "cache_subnet_groups": [
            g["CacheSubnetGroupName"] for g in c["elasticache"].describe_cache_subnet_groups()["CacheSubnetGroups"]
            if g["CacheSubnetGroupName"].startswith(prefix)
        ],
    }


def test_foundation_built_the_network_and_cluster(foundation):
    found = inventory_of(foundation["env"], foundation["name"], foundation["prefix"])
    assert len(found["vpcs"]) == 1
    assert len(found["subnets"]) == 9
    assert len(found["nat_gateways"]) == 3 and len(found["eips"]) == 3
    assert found["clusters"] == [foundation["prefix"]]
    assert len(found["cache_subnet_groups"]) == 1


@pytest.mark.parametrize("confirm", [None, "999999999999"])
def test_teardown_refuses_without_the_account_id(foundation, confirm):
    extra = dict(foundation["extra"])
    if confirm:
        extra["confirm_teardown"] = confirm
    before = inventory_of(foundation["env"], foundation["name"], foundation["prefix"])
    proc = run_playbook(REPO / "playbooks" / "teardown.yml", extra_vars=extra)
    assert proc.returncode != 0
    assert f"confirm_teardown={MOTO_ACCOUNT}" in proc.stdout
    assert recap(proc.stdout)["controller"]["changed"] == 0
    assert inventory_of(foundation["env"], foundation["name"], foundation["prefix"]) == before


def test_teardown_with_the_account_id_removes_everything(foundation):
    extra = {k: v for k, v in foundation["extra"].items() if k != "data_services_teardown_delete_protected"}
    # The command line of playbooks/teardown.yml's header: key=value extra vars arrive as strings.
    proc = run_playbook(REPO / "playbooks" / "teardown.yml", "-e", f"confirm_teardown={MOTO_ACCOUNT}",
                        "-e", "data_services_teardown_delete_protected=true", extra_vars=extra)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    leftovers = {
        k: v for k, v in inventory_of(foundation["env"], foundation["name"], foundation["prefix"]).items() if v
    }
    assert leftovers == {}
