"""The whole region failover on emulated AWS, as the DR runbook runs it from the CLI:

1. the AWS foundation (network, EKS, data services, edge) converges in us-east-1, replicating to us-west-2;
2. ``dr_failover.yml`` promotes the RDS replica, makes the replicated secrets standalone and the
   model store's EFS copy writable, and writes the settings file;
3. ``foundation.yml -e @dr-failover.yml`` converges the foundation in us-west-2 twice: it must adopt
   the promoted writer, the replicated buckets, secrets and EFS copy (nothing new where a copy
   exists), replicate nothing back, leave us-east-1 as it was, and change nothing the second time.

The cluster platform and the tenants are left out: they hold no replicated data, and converge on the
DR region's cluster as on any other (test_site, test_tenants; the tenants' secrets are adopted as
data_services' are, tenant_secret_replicas: []). A private moto of the local platform's
kind (HTTPS, tests/local_platform/moto_tls_server.py) keeps the shared platform out of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import yaml
from platform_helpers import LOCAL_PREFIX, recap, run_playbook
from private_moto import private_local_platform_moto

PRIMARY, DR = "us-east-1", "us-west-2"
WRITER = f"{LOCAL_PREFIX}-postgres"
DR_WRITER = f"{WRITER}-dr"
EFS_NAME = f"{LOCAL_PREFIX}-models"
TENANTS = ["acme", "globex", "initech"]  # inventories/local
FOUNDATION_AWS = ("playbooks/foundation.yml",)


def _tags(pairs) -> dict:
    return {t["Key"]: t["Value"] for t in pairs or []}


def region_state(client, region: str) -> dict:
    """What the foundation and the failover could touch in one region."""
    rds, sm, efs, s3 = (client(s, region) for s in ("rds", "secretsmanager", "efs", "s3"))
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]
               if (s3.get_bucket_location(Bucket=b["Name"])["LocationConstraint"] or "us-east-1") == region]

    def replication(bucket):
        try:
            return [r["Destination"]["Bucket"] for r in
                    s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"]]
        except s3.exceptions.ClientError:
            return []

    file_systems = {}
    for fs in efs.describe_file_systems()["FileSystems"]:
        try:
            replications = efs.describe_replication_configurations(FileSystemId=fs["FileSystemId"])["Replications"]
        except efs.exceptions.ReplicationNotFound:
            replications = []
        file_systems[fs["FileSystemId"]] = {
            "token": fs["CreationToken"], "name": _tags(fs.get("Tags")).get("Name"),
            "protection": fs["FileSystemProtection"]["ReplicationOverwriteProtection"],
            "replicated_from": [r["SourceFileSystemId"] for r in replications if r["SourceFileSystemRegion"] != region],
            "replicates_to": [d["FileSystemId"] for r in replications if r["SourceFileSystemRegion"] == region
                              for d in r["Destinations"]],
            "mount_target_subnets": sorted(m["SubnetId"] for m in efs.describe_mount_targets(
                FileSystemId=fs["FileSystemId"])["MountTargets"]),
        }
    return {
        "rds": {i["DBInstanceIdentifier"]: {
            "source": i.get("ReadReplicaSourceDBInstanceIdentifier"), "status": i["DBInstanceStatus"],
            "endpoint": i["Endpoint"]["Address"], "arn": i["DBInstanceArn"]}
            for i in rds.describe_db_instances()["DBInstances"]},
        "secrets": {s["Name"]: {
            "primary_region": s.get("PrimaryRegion"), "arn": s["ARN"],
            "value": json.loads(sm.get_secret_value(SecretId=s["ARN"])["SecretString"])}
            for s in sm.list_secrets()["SecretList"]},
        "buckets": {b: replication(b) for b in sorted(buckets)},
        "file_systems": file_systems,
        "kms_aliases": {a["AliasName"]: a.get("TargetKeyId") for a in client("kms", region).list_aliases()["Aliases"]
                        if a["AliasName"].startswith(f"alias/{LOCAL_PREFIX}")},
        "eks": sorted(client("eks", region).list_clusters()["clusters"]),
        "flow_log_policy": _flow_log_policy(client),
        "vpcs": sorted(v["VpcId"] for v in client("ec2", region).describe_vpcs(
            Filters=[{"Name": "tag:Name", "Values": [f"{LOCAL_PREFIX}-vpc"]}])["Vpcs"]),
    }


def _flow_log_policy(client) -> dict:
    """The global (IAM) flow log role's policy: both regions' converges must leave it the same."""
    iam = client("iam")
    try:
        return iam.get_role_policy(RoleName=f"{LOCAL_PREFIX}-vpc-flow-logs", PolicyName="deliver-flow-logs")[
            "PolicyDocument"]
    except iam.exceptions.NoSuchEntityException:
        return {}


def _seed_tenant_secrets(client) -> None:
    """The tenants' secrets as the tenant role stores them (tenant_secret_replicas: the DR region)."""
    sm = client("secretsmanager", PRIMARY)
    for tenant in TENANTS:
        sm.create_secret(
            Name=f"llm-saas/local/tenants/{tenant}/app", KmsKeyId=f"alias/{LOCAL_PREFIX}-data",
            AddReplicaRegions=[{"Region": DR, "KmsKeyId": f"alias/{LOCAL_PREFIX}-data-dr"}],
            SecretString=json.dumps({"db_user": f"tenant_{tenant}_app", "db_password": f"pw-{tenant}",
                                     "webui_secret_key": "k"}))


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dr-chain")
    with private_local_platform_moto(tmp) as (endpoint, ca_file):
        env = {"AWS_ENDPOINT_URL": endpoint, "AWS_CA_BUNDLE": str(ca_file), "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": PRIMARY}

        def client(service: str, region: str = PRIMARY):
            return boto3.client(service, endpoint_url=endpoint, region_name=region, verify=str(ca_file),
                                aws_access_key_id="testing", aws_secret_access_key="testing")

        # The eks_cluster role writes a kubeconfig; by default into the repository's .kube/, which the
        # shared-platform lane's converges write at the same time: this one stays in the test's directory.
        private = {"eks_cluster_kubeconfig_path": str(tmp / "kube" / f"{LOCAL_PREFIX}.kubeconfig")}
        run_playbook(*FOUNDATION_AWS, env=env, extra_vars=private, check=True)
        _seed_tenant_secrets(client)
        out = {"client": client, "kubeconfig": Path(private["eks_cluster_kubeconfig_path"]),
               "primary_before": region_state(client, PRIMARY),
               "dr_before": region_state(client, DR)}

        settings = tmp / "dr-failover.yml"
        out["failover_check"] = run_playbook("playbooks/dr_failover.yml", "--check", "--diff", env=env,
                                             extra_vars={"confirm_failover": LOCAL_PREFIX})
        out["dr_after_check"] = region_state(client, DR)
        out["failover"] = run_playbook("playbooks/dr_failover.yml", env=env, extra_vars={
            "confirm_failover": LOCAL_PREFIX, "dr_outputs_file": str(settings)})
        out["settings"] = yaml.safe_load(settings.read_text()) if settings.exists() else {}
        out["dr_after_failover"] = region_state(client, DR)
        out["converge"] = run_playbook(*FOUNDATION_AWS, f"-e@{settings}", env=env, extra_vars=private)
        out["dr_after_converge"] = region_state(client, DR)
        out["reconverge"] = run_playbook(*FOUNDATION_AWS, f"-e@{settings}", "--diff", env=env, extra_vars=private)
        out["primary_after"] = region_state(client, PRIMARY)
        out["dr_after"] = region_state(client, DR)
        yield out


def _efs_copy(state: dict) -> tuple[str, dict]:
    """(id, state) of the one file system named as the model store."""
    (found,) = ((i, fs) for i, fs in state["file_systems"].items() if fs["name"] == EFS_NAME)
    return found


def _efs_copy_state(state: dict) -> dict:
    return _efs_copy(state)[1]


def _ok(proc) -> None:
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]


def test_the_foundation_replicates_to_the_dr_region(chain):
    """The starting point the failover relies on (a regression here makes the rest meaningless)."""
    dr = chain["dr_before"]
    assert dr["rds"][DR_WRITER]["source"], dr["rds"]
    copy = _efs_copy_state(dr)
    assert copy["replicated_from"] and copy["protection"] == "REPLICATING", copy
    assert all(s["primary_region"] == PRIMARY for s in dr["secrets"].values()), dr["secrets"]
    assert dr["buckets"] and all(not rules for rules in dr["buckets"].values())
    assert all(rules for rules in chain["primary_before"]["buckets"].values())


def test_check_mode_failover_changes_nothing(chain):
    _ok(chain["failover_check"])
    assert "end the replication into fs-" in chain["failover_check"].stdout
    assert chain["dr_after_check"] == chain["dr_before"]


def test_failover_frees_the_efs_copy_and_names_it_in_the_settings(chain):
    _ok(chain["failover"])
    dr = chain["dr_after_failover"]
    copy = _efs_copy_state(dr)
    assert copy["replicated_from"] == [] and copy["protection"] == "ENABLED"  # writable
    settings = chain["settings"]
    assert settings["data_services_efs_creation_token"] == copy["token"] != EFS_NAME
    assert settings["aws_region"] == DR and settings["aws_dr_region"] == PRIMARY
    assert settings["data_services_rds_identifier"] == DR_WRITER
    assert settings["data_services_dr_replication"] is False and settings["tenant_secret_replicas"] == []
    for name, secret in dr["secrets"].items():
        assert secret["primary_region"] in (None, DR), name  # all standalone in the DR region now


def test_dr_converge_adopts_the_replicated_data(chain):
    _ok(chain["converge"])
    before, after = chain["dr_after_failover"], chain["dr_after_converge"]
    # The promoted writer is the platform's writer: kept (same ARN), not replaced by a new instance.
    assert after["rds"][DR_WRITER]["arn"] == before["rds"][DR_WRITER]["arn"]
    assert after["rds"][DR_WRITER]["source"] is None
    assert {i for i, r in after["rds"].items() if r["source"] is None} == {DR_WRITER}
    # The EFS copy is the model store: no second file system, mount targets in the new VPC.
    copy_id = _efs_copy(before)[0]
    assert list(after["file_systems"]) == [copy_id]
    assert len(after["file_systems"][copy_id]["mount_target_subnets"]) == 3
    assert after["file_systems"][copy_id]["replicates_to"] == []
    # The replicated buckets are the buckets; none new, none replicating back.
    assert set(after["buckets"]) == set(before["buckets"])
    assert all(rules == [] for rules in after["buckets"].values())
    # Secrets keep their values (passwords the promoted writer already has); none replicate back.
    for name, secret in before["secrets"].items():
        assert after["secrets"][name]["value"] == secret["value"], name
        assert after["secrets"][name]["primary_region"] in (None, DR), name
    dr_key = f"alias/{LOCAL_PREFIX}-data-dr"
    assert after["kms_aliases"][dr_key] == before["kms_aliases"][dr_key]
    assert len(after["vpcs"]) == 1 and after["eks"] == [LOCAL_PREFIX]
    assert "us-west-2" in chain["kubeconfig"].read_text()  # the DR cluster's, kept out of the repository


def test_primary_region_is_left_as_it_was(chain):
    before, after = chain["primary_before"], chain["primary_after"]
    assert after["rds"] == before["rds"]
    assert {n: s["value"] for n, s in after["secrets"].items()} == {n: s["value"] for n, s in before["secrets"].items()}
    assert after["buckets"] == before["buckets"]  # still replicating to the (now adopted) DR buckets
    assert after["kms_aliases"] == before["kms_aliases"] and after["vpcs"] == before["vpcs"]
    assert after["eks"] == before["eks"] and after["flow_log_policy"] == before["flow_log_policy"] != {}
    # The store itself is untouched; EFS ended the replication on both sides (ALL_CONFIGURATIONS).
    assert {i: {**fs, "replicates_to": None} for i, fs in after["file_systems"].items()} == {
        i: {**fs, "replicates_to": None} for i, fs in before["file_systems"].items()}


def test_second_dr_converge_changes_nothing(chain):
    _ok(chain["reconverge"])
    assert recap(chain["reconverge"].stdout)["controller"]["changed"] == 0, chain["reconverge"].stdout[-8000:]
    assert chain["dr_after"] == chain["dr_after_converge"]
