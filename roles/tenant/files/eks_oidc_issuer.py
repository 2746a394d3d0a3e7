#!/usr/bin/env python3
"""Print the EKS cluster's OIDC issuer URL (empty when the cluster does not exist).

Read-only; amazon.aws and community.aws have no EKS *_info module. The tenant role reads the issuer
to trust the cluster's IAM OIDC provider for the tenant's ServiceAccount (IRSA).
"""

import argparse
import os
import sys

import boto3
from botocore.exceptions import ClientError


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cluster", required=True)
    parser.add_argument("--region", required=True)
    args = parser.parse_args()
    eks = boto3.client("eks", region_name=args.region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    try:
        cluster = eks.describe_cluster(name=args.cluster)["cluster"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            print("")
            return 0
        raise
    print(cluster.get("identity", {}).get("oidc", {}).get("issuer") or "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
