#!/usr/bin/env python3
"""Ensure one CloudWatch Logs flow log on a VPC (present/absent), idempotently.

Why a script: no maintained Ansible module manages VPC flow logs (community.aws
dropped ec2_vpc_flow_log), and moto's CloudFormation support neither deletes a
FlowLog with its stack nor recovers a failed stack. Prints one JSON object
{"changed": bool, "flow_log_id": str|null, "diff": {...}} for changed_when.
"""

import argparse
import json
import os
import sys

import boto3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vpc-id", required=True)
    parser.add_argument("--log-group", required=True)
    parser.add_argument("--role-arn", default="")
    parser.add_argument("--traffic-type", default="ALL", choices=["ACCEPT", "REJECT", "ALL"])
    parser.add_argument("--tags", default="{}", help="JSON object of tags")
    parser.add_argument("--state", default="present", choices=["present", "absent"])
    parser.add_argument("--region", required=True)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()

    ec2 = boto3.client("ec2", region_name=args.region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    existing = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [args.vpc_id]}])["FlowLogs"]
    ours = [f for f in existing if f.get("LogGroupName") == args.log_group]
    wanted = {"traffic_type": args.traffic_type, "log_group": args.log_group, "role_arn": args.role_arn}
    result = {"changed": False, "flow_log_id": None, "diff": {"before": {}, "after": {}}}

    if args.state == "absent":
        if ours:
            result.update(changed=True, diff={"before": {"flow_log_ids": [f["FlowLogId"] for f in ours]}, "after": {}})
            if not args.check:
                ec2.delete_flow_logs(FlowLogIds=[f["FlowLogId"] for f in ours])
        print(json.dumps(result))
        return 0

    # Flow logs cannot be modified in place: a drifted one is replaced.
    matching = [
        f
        for f in ours
        if f.get("TrafficType") == args.traffic_type and f.get("DeliverLogsPermissionArn") == args.role_arn
    ]
    stale = [f for f in ours if f not in matching]
    if matching and not stale:
        result["flow_log_id"] = matching[0]["FlowLogId"]
        result["diff"] = {"before": wanted, "after": wanted}
        print(json.dumps(result))
        return 0

    before = (
        {
            "traffic_type": stale[0].get("TrafficType"),
            "log_group": args.log_group,
            "role_arn": stale[0].get("DeliverLogsPermissionArn"),
        }
        if stale
        else {}
    )
    result.update(changed=True, diff={"before": before, "after": wanted})
    if not args.check:
        if stale:
            ec2.delete_flow_logs(FlowLogIds=[f["FlowLogId"] for f in stale])
        tags = json.loads(args.tags)
        created = ec2.create_flow_logs(
            ResourceIds=[args.vpc_id],
            ResourceType="VPC",
            TrafficType=args.traffic_type,
            LogDestinationType="cloud-watch-logs",
            LogGroupName=args.log_group,
            DeliverLogsPermissionArn=args.role_arn,
            TagSpecifications=[
                {"ResourceType": "vpc-flow-log", "Tags": [{"Key": k, "Value": str(v)} for k, v in tags.items()]}
            ]
            if tags
            else [],
        )
        if created.get("Unsuccessful"):
            print(json.dumps({"failed": True, "msg": created["Unsuccessful"][0]["Error"]["Message"]}))
            return 1
        result["flow_log_id"] = created["FlowLogIds"][0]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
