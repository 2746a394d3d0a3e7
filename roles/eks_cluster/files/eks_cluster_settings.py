#!/usr/bin/env python3
"""Converge the EKS cluster settings community.aws.eks_cluster cannot manage.

Endpoint access (private/public + public CIDR allow-list), control-plane logging, secrets
encryption with a KMS key, and the IAM OIDC provider for IRSA. Idempotent; --check reports
without writing. Prints {"changed": bool, "diff": {...}, "cluster": {...}} for changed_when.
"""

import argparse
import json
import os
import sys
import time

import boto3

# Root CA thumbprint of the EKS OIDC issuers; IAM no longer checks it for EKS but the
# API of older partitions (and moto) still wants one.
OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"


def wait_active(eks, name, timeout=1800):
    """EKS runs one update at a time and flips the cluster to UPDATING while it does."""
    deadline = time.time() + timeout
    while True:
        cluster = eks.describe_cluster(name=name)["cluster"]
        if cluster["status"] == "ACTIVE":
            return cluster
        if time.time() > deadline:
            raise SystemExit(json.dumps({"failed": True, "msg": "cluster %s not ACTIVE after %ss" % (name, timeout)}))
        time.sleep(15)


def current_view(cluster, oidc_present):
    vpc = cluster.get("resourcesVpcConfig", {})
    enabled = sorted(
        t
        for entry in cluster.get("logging", {}).get("clusterLogging", [])
        if entry.get("enabled")
        for t in entry["types"]
    )
    keys = [c["provider"]["keyArn"] for c in cluster.get("encryptionConfig", []) if "secrets" in c.get("resources", [])]
    return {
        "endpoint_private_access": vpc.get("endpointPrivateAccess"),
        "endpoint_public_access": vpc.get("endpointPublicAccess"),
        "public_access_cidrs": sorted(vpc.get("publicAccessCidrs") or []),
        "log_types": enabled,
        "secrets_kms_key_arn": keys[0] if keys else None,
        "oidc_provider": oidc_present,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--private-access", choices=["true", "false"], required=True)
    parser.add_argument("--public-access", choices=["true", "false"], required=True)
    parser.add_argument("--public-access-cidrs", default="")
    parser.add_argument("--log-types", default="")
    parser.add_argument("--kms-key-arn", default="")
    parser.add_argument("--tags", default="{}")
    parser.add_argument(
        "--emulated",
        choices=["true", "false"],
        default="false",
        help="emulators only (moto): resend the VPC ids on update (moto replaces resourcesVpcConfig)",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--apply", action="store_true")
    args = parser.parse_args()

    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    eks = boto3.client("eks", region_name=args.region, endpoint_url=endpoint)
    iam = boto3.client("iam", region_name=args.region, endpoint_url=endpoint)
    try:
        cluster = eks.describe_cluster(name=args.name)["cluster"]
    except eks.exceptions.ResourceNotFoundException:
        # Only reachable in check mode on a fresh account.
        print(json.dumps({"changed": True, "diff": {"before": {}, "after": {"cluster": args.name}}, "cluster": {}}))
        return 0

    issuer = cluster.get("identity", {}).get("oidc", {}).get("issuer", "")
    host = issuer.replace("https://", "")
    providers = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    oidc_arn = next((a for a in providers if a.endswith("/" + host)), None)

    wanted = {
        "endpoint_private_access": args.private_access == "true",
        "endpoint_public_access": args.public_access == "true",
        "public_access_cidrs": sorted(c for c in args.public_access_cidrs.split(",") if c),
        "log_types": sorted(t for t in args.log_types.split(",") if t),
        "secrets_kms_key_arn": args.kms_key_arn or None,
        "oidc_provider": True,
    }
    before = current_view(cluster, oidc_arn is not None)
    after = dict(before)
    changed = False

    vpc_keys = ("endpoint_private_access", "endpoint_public_access", "public_access_cidrs")
    if any(before[k] != wanted[k] for k in vpc_keys):
        changed = True
        after.update({k: wanted[k] for k in vpc_keys})
        if args.apply:
            vpc = {
                "endpointPrivateAccess": wanted["endpoint_private_access"],
                "endpointPublicAccess": wanted["endpoint_public_access"],
            }
            if wanted["endpoint_public_access"]:
                vpc["publicAccessCidrs"] = wanted["public_access_cidrs"]
            if args.emulated == "true":
                # moto replaces resourcesVpcConfig instead of merging it; resend what it would drop.
                current = cluster.get("resourcesVpcConfig", {})
                vpc["subnetIds"] = current.get("subnetIds", [])
                vpc["securityGroupIds"] = current.get("securityGroupIds", [])
            eks.update_cluster_config(name=args.name, resourcesVpcConfig=vpc)
            wait_active(eks, args.name)

    if before["log_types"] != wanted["log_types"]:
        changed = True
        after["log_types"] = wanted["log_types"]
        if args.apply:
            all_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
            off = [t for t in all_types if t not in wanted["log_types"]]
            logging = [{"types": wanted["log_types"], "enabled": True}] if wanted["log_types"] else []
            if off:
                logging.append({"types": off, "enabled": False})
            eks.update_cluster_config(name=args.name, logging={"clusterLogging": logging})
            wait_active(eks, args.name)

    if wanted["secrets_kms_key_arn"] and before["secrets_kms_key_arn"] != wanted["secrets_kms_key_arn"]:
        if before["secrets_kms_key_arn"]:
            print(
                json.dumps(
                    {
                        "failed": True,
                        "msg": "secrets of %s are already encrypted with %s; EKS cannot "
                        "change the key: set eks_cluster_kms_key_alias back"
                        % (args.name, before["secrets_kms_key_arn"]),
                    }
                )
            )
            return 1
        changed = True
        after["secrets_kms_key_arn"] = wanted["secrets_kms_key_arn"]
        if args.apply:
            eks.associate_encryption_config(
                clusterName=args.name,
                encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": wanted["secrets_kms_key_arn"]}}],
            )
            wait_active(eks, args.name)

    if oidc_arn is None and issuer:
        changed = True
        after["oidc_provider"] = True
        if args.apply:
            tags = [{"Key": k, "Value": str(v)} for k, v in json.loads(args.tags).items()]
            oidc_arn = iam.create_open_id_connect_provider(
                Url=issuer,
                ClientIDList=["sts.amazonaws.com"],
                ThumbprintList=[OIDC_THUMBPRINT],
                Tags=tags,
            )["OpenIDConnectProviderArn"]

    if changed and args.apply:
        cluster = eks.describe_cluster(name=args.name)["cluster"]
    print(
        json.dumps(
            {
                "changed": changed,
                "diff": {"before": before, "after": after},
                "cluster": {
                    "name": args.name,
                    "arn": cluster.get("arn"),
                    "endpoint": cluster.get("endpoint"),
                    "certificate_authority": cluster.get("certificateAuthority", {}).get("data"),
                    "oidc_issuer": issuer,
                    "oidc_provider_arn": oidc_arn,
                    "cluster_security_group_id": cluster.get("resourcesVpcConfig", {}).get("clusterSecurityGroupId"),
                },
            },
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
