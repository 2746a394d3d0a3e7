"""site.yml end to end on the local platform: it converges, a re-run changes nothing, and
`--check --diff` on the converged platform shows nothing to do (what `make demo` shows). Then
playbooks/teardown.yml on that same foundation: it refuses without (or with a wrong)
``confirm_teardown`` and leaves everything as it was, and with the account id, given on the command
line the way docs/ say, removes every resource the foundation created.

The teardown runs here, on the site's own foundation, rather than on a second one built for it:
building the foundation is most of the cost (~5 min on 2 cores). So the teardown tests are marked
``tears_down_foundation`` and tests/conftest.py runs them after every other test."""

from __future__ import annotations

import json

import boto3
import pytest
from platform_helpers import AUDIT_BUCKET, LOCAL_PREFIX, REPO, changed_tasks, recap, run_playbook

MOTO_ACCOUNT = "123456789012"
NAME, PREFIX = "llm-saas", LOCAL_PREFIX  # platform_name and resource prefix of inventories/local
# What the foundation teardown leaves on purpose: the security baseline's audit evidence (bucket, and
# AWS Config's role) outlives the platform it recorded; tenants' own resources (their uploads role) go
# with playbooks/tenant_offboard.yml, not with the foundation.
KEPT = {AUDIT_BUCKET, f"{PREFIX}-aws-config"}
TENANT_ROLES = f"{PREFIX}-tenant-"


def test_site_converges_then_changes_nothing(local_platform):
    # The converge and its re-run use Ansible's stock strategy, as make demo and AWX run site.yml; the
    # drift check runs as the rest of the suite does (Mitogen under make test).
    first = run_playbook(REPO / "site.yml", env=local_platform, stock_strategy=True)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    hosts = recap(first.stdout)
    assert {"controller", "acme", "globex", "initech"} <= set(hosts)

    second = run_playbook(REPO / "site.yml", env=local_platform, stock_strategy=True)
    assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-3000:]
    changed = {host: counts["changed"] for host, counts in recap(second.stdout).items()}
    assert changed and all(count == 0 for count in changed.values()), (changed, changed_tasks(second.stdout))

    check = run_playbook(REPO / "site.yml", "--check", "--diff", env=local_platform)
    assert check.returncode == 0, check.stdout[-6000:] + check.stderr[-3000:]
    changed = {host: counts["changed"] for host, counts in recap(check.stdout).items()}
    assert all(count == 0 for count in changed.values()), (changed, changed_tasks(check.stdout))


def clients(env, region="us-east-1"):
    kw = {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": region}
    services = ("ec2", "eks", "iam", "s3", "rds", "secretsmanager", "elasticache", "efs")
    return {svc: boto3.client(svc, **kw) for svc in services}


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
            and r["RoleName"] not in KEPT and not r["RoleName"].startswith(TENANT_ROLES)
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
        # The primary file system only: its DR copy stays in us-west-2 when replication stops, as on AWS.
        "file_systems": [
            f["FileSystemId"] for f in c["efs"].describe_file_systems()["FileSystems"]
            if f.get("Name") == f"{PREFIX}-models"
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
    assert len(found["file_systems"]) == 1


def customer_key(kms, key_id: str) -> dict:
    """The KMS key a resource names (id, ARN or alias), which must be one of ours, not an AWS-managed key."""
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyManager"] == "CUSTOMER" and meta["KeyState"] == "Enabled", meta
    return meta


def test_encryption_at_rest_and_in_transit_everywhere(local_platform):
    """Issue 10's "encryption everywhere, proven", read back from the converged platform: every store
    is encrypted with a customer-managed KMS key of the platform (not an AWS-managed default), and every
    hop that can be forced to TLS is. Where the local platform cannot hold a setting the test says so."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    east, west = clients(local_platform), clients({**local_platform}, region="us-west-2")
    kms_east, kms_west = (boto3.client("kms", endpoint_url=local_platform["AWS_ENDPOINT_URL"], region_name=r)
                          for r in ("us-east-1", "us-west-2"))
    data_key = customer_key(kms_east, f"alias/{PREFIX}-data")["Arn"]
    dr_key = customer_key(kms_west, f"alias/{PREFIX}-data-dr")["Arn"]

    # RDS: writer and read replica with the data key, the us-west-2 replica with the DR key; the writer
    # uses the platform's parameter group (rds.force_ssl=1 on AWS: moto cannot store it, emulator gap 3).
    dbs = {d["DBInstanceIdentifier"]: d for d in east["rds"].describe_db_instances()["DBInstances"]}
    for name in (f"{PREFIX}-postgres", f"{PREFIX}-postgres-replica"):
        assert dbs[name]["StorageEncrypted"] and dbs[name]["KmsKeyId"] == data_key, name
    dr = west["rds"].describe_db_instances(DBInstanceIdentifier=f"{PREFIX}-postgres-dr")["DBInstances"][0]
    assert dr["StorageEncrypted"] and dr["KmsKeyId"] == dr_key
    groups = [g["DBParameterGroupName"] for g in dbs[f"{PREFIX}-postgres"]["DBParameterGroups"]]
    assert groups == [f"{PREFIX}-postgres-pg16"]

    # S3: every bucket of the platform, both regions, SSE-KMS with a bucket key and TLS-only.
    buckets = [b["Name"] for b in east["s3"].list_buckets()["Buckets"] if b["Name"].startswith(PREFIX)]
    assert {"models", "backups", "uploads", "audit"} <= {n.removeprefix(f"{PREFIX}-").split("-")[0] for n in buckets}
    for name in buckets:
        rule = east["s3"].get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
        default = rule["ApplyServerSideEncryptionByDefault"]
        assert default["SSEAlgorithm"] == "aws:kms" and rule.get("BucketKeyEnabled"), name
        customer_key(kms_west if name.endswith("us-west-2") else kms_east, default["KMSMasterKeyID"])
        policy = json.loads(east["s3"].get_bucket_policy(Bucket=name)["Policy"])
        assert any(st["Effect"] == "Deny" and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in
                   ("false", False) for st in policy["Statement"]), name

    # Secrets Manager: the platform's and the tenants' secrets, each with a customer key.
    secrets = [x for x in east["secretsmanager"].list_secrets()["SecretList"]
               if x["Name"].startswith((f"{PREFIX}/", f"{NAME}/local/tenants/"))]
    assert any(x["Name"] == f"{PREFIX}/rds/master" for x in secrets)
    assert any(x["Name"].startswith(f"{NAME}/local/tenants/") for x in secrets)
    for secret in secrets:
        assert "KmsKeyId" in secret, secret["Name"]
        customer_key(kms_east, secret["KmsKeyId"])

    # EFS: the model store encrypted with the data key (mounted over TLS: the PersistentVolume below).
    (models,) = [f for f in east["efs"].describe_file_systems()["FileSystems"] if f.get("Name") == f"{PREFIX}-models"]
    assert models["Encrypted"] and models["KmsKeyId"] == data_key

    # ElastiCache Redis: at rest with the data key, in transit (TLS) on.
    group = east["elasticache"].describe_replication_groups(
        ReplicationGroupId=f"{PREFIX}-redis")["ReplicationGroups"][0]
    assert group["AtRestEncryptionEnabled"] and group["TransitEncryptionEnabled"]
    assert group["KmsKeyId"] == data_key

    # EKS: Kubernetes secrets envelope-encrypted with the cluster's own key.
    cluster = east["eks"].describe_cluster(name=PREFIX)["cluster"]
    (config,) = cluster["encryptionConfig"]
    assert config["resources"] == ["secrets"]
    customer_key(kms_east, config["provider"]["keyArn"])

    # EBS: encryption by default with the platform's EBS key in both regions (node root volumes, which
    # managed node groups create without a launch template), and the gp3 StorageClass names that key.
    ebs_keys = {}
    for region, kms in (("us-east-1", kms_east), ("us-west-2", kms_west)):
        ec2 = boto3.client("ec2", endpoint_url=local_platform["AWS_ENDPOINT_URL"], region_name=region)
        assert ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"], region
        ebs_keys[region] = customer_key(kms, ec2.get_ebs_default_kms_key_id()["KmsKeyId"])["Arn"]
        assert ebs_keys[region] == customer_key(kms, f"alias/{PREFIX}-ebs")["Arn"], region

    # In the cluster: EBS volumes encrypted by the default StorageClass, the model store mounted over
    # TLS, and the ALB controller held to TLS 1.2+ (the AWS policy name says which protocols).
    api = k8s_config.new_client_from_config(config_file=local_platform["KUBECONFIG"])
    gp3 = k8s.StorageV1Api(api).read_storage_class("gp3")
    assert gp3.parameters["encrypted"] == "true" and gp3.parameters["kmsKeyId"] == ebs_keys["us-east-1"]
    volume = k8s.CoreV1Api(api).read_persistent_volume("llm-models-writer")
    assert "tls" in volume.spec.mount_options
    params = k8s.CustomObjectsApi(api).get_cluster_custom_object(
        "elbv2.k8s.aws", "v1beta1", "ingressclassparams", "alb")
    assert params["spec"]["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"


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
