#!/usr/bin/env python3
"""Read-only lookup of the foundation services that have no *_info module.

Prints one JSON object; a missing service is null (or empty) rather than an error, so the
platform fact also describes a partially built foundation.
"""

import argparse
import json
import os
import sys

import boto3
from botocore.exceptions import ClientError


def safe(call, default=None):
    try:
        return call()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if "NotFound" in code or code in ("ResourceNotFoundException", "NoSuchBucket", "ReplicationGroupNotFoundFault"):
            return default
        raise


def main():
    p = argparse.ArgumentParser()
    for flag in ("region", "dr-region", "cluster", "rds", "redis", "efs", "bucket-prefix", "secret-prefix", "ebs-key"):
        p.add_argument("--" + flag, required=True)
    a = p.parse_args()
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None

    def client(name, region=None):
        return boto3.client(name, region_name=region or a.region, endpoint_url=endpoint)

    eks = client("eks")
    cluster = safe(lambda: eks.describe_cluster(name=a.cluster)["cluster"])
    out = {"cluster": None, "rds": None, "redis": None, "efs": None, "buckets": {}, "secrets": {}}
    # The EBS key eks_cluster made the region's default; the gp3 StorageClass names it explicitly.
    ebs_key = safe(lambda: client("kms").describe_key(KeyId=a.ebs_key)["KeyMetadata"])
    out["ebs_kms_key_arn"] = ebs_key["Arn"] if ebs_key else None
    if cluster:
        out["cluster"] = {
            "name": cluster["name"],
            "arn": cluster["arn"],
            "endpoint": cluster.get("endpoint"),
            "certificate_authority": cluster.get("certificateAuthority", {}).get("data"),
            "oidc_issuer": cluster.get("identity", {}).get("oidc", {}).get("issuer"),
            "version": cluster.get("version"),
        }

    rds = client("rds")
    writer = safe(lambda: rds.describe_db_instances(DBInstanceIdentifier=a.rds)["DBInstances"][0])
    if writer:
        readers = [r for r in writer.get("ReadReplicaDBInstanceIdentifiers", []) if not r.startswith("arn:")]
        dr = [r for r in writer.get("ReadReplicaDBInstanceIdentifiers", []) if r.startswith("arn:")]

        def endpoint_of(ident, region=None):
            db = safe(lambda: client("rds", region).describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0])
            return (db or {}).get("Endpoint", {}).get("Address")

        out["rds"] = {
            "writer_endpoint": writer.get("Endpoint", {}).get("Address"),
            "port": writer.get("Endpoint", {}).get("Port"),
            "reader_endpoints": [endpoint_of(r) for r in readers],
            "dr_endpoints": [endpoint_of(arn.split(":")[-1], arn.split(":")[3]) for arn in dr],
        }

    ec = client("elasticache")
    group = safe(lambda: ec.describe_replication_groups(ReplicationGroupId=a.redis)["ReplicationGroups"][0])
    if group:
        node_group = (group.get("NodeGroups") or [{}])[0]
        out["redis"] = {
            "primary_endpoint": node_group.get("PrimaryEndpoint", {}).get("Address"),
            "reader_endpoint": node_group.get("ReaderEndpoint", {}).get("Address"),
            "port": node_group.get("PrimaryEndpoint", {}).get("Port"),
            "transit_encryption": group.get("TransitEncryptionEnabled"),
        }

    efs = client("efs")
    systems = [fs for fs in efs.describe_file_systems()["FileSystems"] if fs.get("Name") == a.efs]
    if systems:
        fs_id = systems[0]["FileSystemId"]
        points = efs.describe_access_points(FileSystemId=fs_id)["AccessPoints"]
        # data_services names the model store's access point after its file system.
        store_point = next((ap["AccessPointId"] for ap in points
                            if {"Key": "Name", "Value": a.efs} in (ap.get("Tags") or [])), None)
        out["efs"] = {"file_system_id": fs_id, "access_point_ids": [ap["AccessPointId"] for ap in points],
                      "access_point_id": store_point}
        # The keys model_store and tenant build their EFS volume handle (<fs>::<access point>) from;
        # left out rather than null when missing, so their defaults apply.
        out["efs_id"] = fs_id
        if store_point:
            out["efs_access_point_id"] = store_point

    s3 = client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        if bucket["Name"].startswith(a.bucket_prefix):
            purpose = bucket["Name"][len(a.bucket_prefix) :].split("-")[0]
            region = "dr" if bucket["Name"].endswith(a.dr_region) else "primary"
            out["buckets"].setdefault(purpose, {})[region] = bucket["Name"]

    sm = client("secretsmanager")
    for page in sm.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [a.secret_prefix]}]):
        for secret in page["SecretList"]:
            out["secrets"][secret["Name"][len(a.secret_prefix) :]] = {
                "arn": secret["ARN"],
                "replicated_to": [r["Region"] for r in secret.get("ReplicationStatus", [])],
            }
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
