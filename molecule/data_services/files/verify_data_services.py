"""Print what AWS (moto) stores for the data_services scenario as one JSON document.

With --gone, exit non-zero if any of the scenario's buckets, secrets or databases remain.
"""

import json
import os
import sys

import boto3
from botocore.exceptions import ClientError

PREFIX = os.environ["DS_PREFIX"]
REGION = os.environ["DS_REGION"]
DR = os.environ["DS_DR_REGION"]


def client(service, region=REGION):
    return boto3.client(service, region_name=region)


def our_buckets():
    s3 = client("s3")
    return [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(PREFIX + "-")]


def bucket(name):
    s3 = client("s3")
    region = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
    enc = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    pab = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    tls_only = any(
        st["Effect"] == "Deny"
        and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
        for st in policy["Statement"]
    )
    return dict(
        name=name,
        region=region,
        versioning=s3.get_bucket_versioning(Bucket=name).get("Status"),
        sse_algorithm=enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"],
        kms_key=enc["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID"),
        bucket_key=enc.get("BucketKeyEnabled", False),
        public_access_block_all=all(pab.values()) and len(pab) == 4,
        ownership=s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
        tls_only=tls_only,
        lifecycle_rules=[r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]],
        tags={t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]},
    )


def replication(name):
    try:
        config = client("s3").get_bucket_replication(Bucket=name)["ReplicationConfiguration"]
    except ClientError:
        return None
    rule = config["Rules"][0]
    return dict(
        bucket=name,
        role=config["Role"],
        status=rule["Status"],
        destination_bucket=rule["Destination"]["Bucket"],
        replica_kms_key=rule["Destination"].get("EncryptionConfiguration", {}).get("ReplicaKmsKeyID"),
    )


def secrets():
    sm = client("secretsmanager")
    out = []
    for name in (PREFIX + "/rds/master", PREFIX + "/redis/auth-token"):
        try:
            desc = sm.describe_secret(SecretId=name)
        except ClientError:
            continue
        if desc.get("DeletedDate"):
            continue
        out.append(
            dict(
                name=name,
                kms_key=desc.get("KmsKeyId"),
                replica_regions=[r["Region"] for r in desc.get("ReplicationStatus", [])],
            )
        )
    return out


def instance(identifier, region):
    try:
        (inst,) = client("rds", region).describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    except ClientError:
        return None
    inst["region"] = region
    return inst


def force_ssl(region):
    rds = client("rds", region)
    params = rds.describe_db_parameters(DBParameterGroupName=PREFIX + "-postgres-pg16")["Parameters"]
    return next((p.get("ParameterValue") for p in params if p["ParameterName"] == "rds.force_ssl"), None)


def redis():
    ec = client("elasticache")
    try:
        (group,) = ec.describe_replication_groups(ReplicationGroupId=PREFIX + "-redis")["ReplicationGroups"]
    except ClientError:
        return None, {}
    tags = {t["Key"]: t["Value"] for t in ec.list_tags_for_resource(ResourceName=group["ARN"])["TagList"]}
    return group, tags


def efs():
    """The model store as EFS holds it, with what it must point at (keys, subnets, SG) for comparison."""
    fs_api = client("efs")
    found = [f for f in fs_api.describe_file_systems()["FileSystems"] if f.get("Name") == PREFIX + "-models"]
    if not found:
        return None
    (fs,) = found
    fs_id = fs["FileSystemId"]
    ec2 = client("ec2")
    targets = fs_api.describe_mount_targets(FileSystemId=fs_id)["MountTargets"]
    try:
        backup = fs_api.describe_backup_policy(FileSystemId=fs_id)["BackupPolicy"]["Status"]
    except ClientError:
        backup = None
    try:
        (config,) = fs_api.describe_replication_configurations(FileSystemId=fs_id)["Replications"]
        dest = config["Destinations"][0]
        dr_efs = client("efs", dest["Region"])
        dest_fs = dr_efs.describe_file_systems(FileSystemId=dest["FileSystemId"])["FileSystems"][0]
        replication = dict(region=dest["Region"], status=dest["Status"], kms_key=dest_fs.get("KmsKeyId"),
                           encrypted=dest_fs["Encrypted"],
                           protection=dest_fs["FileSystemProtection"]["ReplicationOverwriteProtection"])
    except ClientError:
        replication = None
    tier = ec2.describe_subnets(Filters=[{"Name": "tag:Tier", "Values": ["private"]}])["Subnets"]
    private = [s["SubnetId"] for s in tier if (_tag(s, "Name") or "").startswith(PREFIX + "-private-")]
    sg = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [PREFIX + "-efs"]}])["SecurityGroups"]
    points = fs_api.describe_access_points(FileSystemId=fs_id)["AccessPoints"]
    return dict(
        id=fs_id,
        encrypted=fs["Encrypted"],
        kms_key=fs.get("KmsKeyId"),
        data_key=client("kms").describe_key(KeyId="alias/%s-data" % PREFIX)["KeyMetadata"]["Arn"],
        dr_key=client("kms", DR).describe_key(KeyId="alias/%s-data-dr" % PREFIX)["KeyMetadata"]["Arn"],
        tags={t["Key"]: t["Value"] for t in fs["Tags"]},
        mount_target_subnets=sorted(t["SubnetId"] for t in targets),
        mount_target_sgs=sorted({g for t in targets
                                 for g in fs_api.describe_mount_target_security_groups(
                                     MountTargetId=t["MountTargetId"])["SecurityGroups"]}),
        private_subnets=sorted(private),
        efs_sg=[g["GroupId"] for g in sg],
        backup_policy=backup,
        replication=replication,
        access_points=[dict(name=_tag(p, "Name"), posix_user=p.get("PosixUser"), root_directory=p.get("RootDirectory"))
                       for p in points],
    )


def _tag(resource, key):
    return next((t["Value"] for t in resource.get("Tags") or [] if t["Key"] == key), None)


def gone():
    left = []
    left += our_buckets()
    left += [s["name"] for s in secrets()]
    for ident, region in (
        (PREFIX + "-postgres", REGION),
        (PREFIX + "-postgres-replica", REGION),
        (PREFIX + "-postgres-dr", DR),
    ):
        inst = instance(ident, region)
        if inst and inst.get("DBInstanceStatus") != "deleting":
            left.append(ident)
    group, _ = redis()
    if group and group.get("Status") != "deleting":
        left.append(group["ReplicationGroupId"])
    model_store = efs()
    if model_store:
        left.append(model_store["id"])
    print(json.dumps(left))
    return 1 if left else 0


def main():
    if "--gone" in sys.argv:
        return gone()
    names = our_buckets()
    rds_secret = json.loads(client("secretsmanager").get_secret_value(SecretId=PREFIX + "/rds/master")["SecretString"])
    group, tags = redis()
    doc = dict(
        buckets=[bucket(n) for n in names],
        replication=[r for r in (replication(n) for n in names) if r],
        secrets=secrets(),
        rds_secret_keys=sorted(rds_secret),
        rds=dict(
            writer=instance(PREFIX + "-postgres", REGION),
            replica=instance(PREFIX + "-postgres-replica", REGION),
            dr=instance(PREFIX + "-postgres-dr", DR),
            force_ssl={REGION: force_ssl(REGION), DR: force_ssl(DR)},
        ),
        redis=group,
        redis_tags=tags,
        efs=efs(),
    )
    print(json.dumps(doc, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
