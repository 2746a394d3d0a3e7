#!/usr/bin/env python3
"""Kubernetes exec credential plugin for EKS built on botocore (no AWS CLI needed).

The token is a presigned STS GetCallerIdentity URL carrying the x-k8s-aws-id header, as
aws-iam-authenticator expects; tokens live 15 minutes, so kubectl and kubernetes.core
ask for a fresh one whenever they need it.

usage: eks_token.py --cluster-name NAME [--region REGION] [--role-arn ARN]
"""

import argparse
import base64
import datetime
import json
import sys

import boto3
from botocore.signers import RequestSigner

TTL_SECONDS = 60
EXPIRY = datetime.timedelta(minutes=14)


def token(cluster_name, region, role_arn=None, session=None):
    session = session or boto3.session.Session(region_name=region)
    if role_arn:
        creds = session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="llm-saas-kubeconfig")[
            "Credentials"
        ]
        session = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=region,
        )
    sts = session.client("sts", region_name=region)
    signer = RequestSigner(
        sts.meta.service_model.service_id, region, "sts", "v4", session.get_credentials(), session.events
    )
    url = signer.generate_presigned_url(
        {
            "method": "GET",
            "url": "https://sts.{0}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15".format(region),
            "body": {},
            "headers": {"x-k8s-aws-id": cluster_name},
            "context": {},
        },
        region_name=region,
        expires_in=TTL_SECONDS,
        operation_name="",
    )
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--cluster-name", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--role-arn")
    args = parser.parse_args(argv)
    expiry = datetime.datetime.now(datetime.timezone.utc) + EXPIRY
    print(
        json.dumps(
            {
                "kind": "ExecCredential",
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "spec": {},
                "status": {
                    "expirationTimestamp": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "token": token(args.cluster_name, args.region, args.role_arn),
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
