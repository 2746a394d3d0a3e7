# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of llm_saas.platform.vpc_flow_log (the CloudWatch Logs flow log of a VPC to one log group).

A flow log is known by its VPC and its log group: AWS keeps at most one per pair. Its traffic type and
delivery role cannot be modified, so a flow log that differs there is deleted and created again; only
its tags are changed in place.
"""

from __future__ import annotations

import re

try:
    import botocore
except ImportError:
    botocore = None  # AnsibleAWSModule reports the missing library

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import (
    desired_tags,
    isoformat_values,
    tag_changes,
)

# EC2 is a Query-protocol service: jittered_backoff already knows its throttling codes.
RETRY = AWSRetry.jittered_backoff(retries=10)

VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
# What CreateFlowLogs and CloudWatch Logs accept as a log group name.
LOG_GROUP = re.compile(r"^[\.\-_/#A-Za-z0-9]{1,512}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$")
NOT_FOUND = "InvalidFlowLogId.NotFound"

ARGUMENT_SPEC = dict(
    vpc_id=dict(type="str", required=True),
    log_group_name=dict(type="str", required=True),
    deliver_logs_role_arn=dict(type="str"),
    traffic_type=dict(type="str", default="ALL", choices=["ACCEPT", "REJECT", "ALL"]),
    tags=dict(type="dict"),
    purge_tags=dict(type="bool", default=False),
    state=dict(type="str", default="present", choices=["present", "absent"]),
)


class VpcFlowLogError(Exception):
    """State the module will not act on; the message names the field and the fix."""


def validate(params):
    """Messages for input AWS would refuse, before any call."""
    errors = []
    if not VPC_ID.match(params["vpc_id"]):
        errors.append("vpc_id %r is not a VPC id (vpc-0123456789abcdef0)" % params["vpc_id"])
    if not LOG_GROUP.match(params["log_group_name"]):
        errors.append(
            "log_group_name %r is not a CloudWatch Logs group name (1 to 512 of A-Z a-z 0-9 . - _ / #)"
            % params["log_group_name"]
        )
    if params["state"] == "absent":
        return errors
    role = params.get("deliver_logs_role_arn")
    if role is not None and not ROLE_ARN.match(role):
        errors.append(
            "deliver_logs_role_arn %r is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)" % role
        )
    for key in params.get("tags") or {}:
        if not key or len(key) > 127 or key.lower().startswith("aws:"):
            errors.append("tag key %r must be 1 to 127 characters and not start with aws:" % key)
    return errors


def _tags(flow_log):
    return {t["Key"]: t["Value"] for t in (flow_log or {}).get("Tags") or []}


def _wanted_tags(params):
    tags = params.get("tags")
    return None if tags is None else {k: str(v) for k, v in tags.items()}


def find(client, vpc_id, log_group_name):
    """Every flow log of the VPC that delivers to the log group (AWS keeps at most one)."""
    found = []
    token = None
    while True:
        kwargs = {"Filters": [{"Name": "resource-id", "Values": [vpc_id]}]}
        if token:
            kwargs["NextToken"] = token
        page = client.describe_flow_logs(aws_retry=True, **kwargs)
        found += [f for f in page["FlowLogs"] if f.get("LogGroupName") == log_group_name]
        token = page.get("NextToken")
        if not token:
            break
    return found


def _view(flow_log):
    if not flow_log:
        return {}
    return {
        "flow_log_id": flow_log["FlowLogId"],
        "vpc_id": flow_log.get("ResourceId"),
        "log_group_name": flow_log.get("LogGroupName"),
        "traffic_type": flow_log.get("TrafficType"),
        "deliver_logs_role_arn": flow_log.get("DeliverLogsPermissionArn"),
        "tags": _tags(flow_log),
    }


def _matches(flow_log, params):
    role = params.get("deliver_logs_role_arn")
    return flow_log.get("TrafficType") == params["traffic_type"] and (
        role is None or flow_log.get("DeliverLogsPermissionArn") == role
    )


def delete(client, flow_log_ids):
    """Delete the flow logs; one already gone is not an error."""
    if not flow_log_ids:
        return
    try:
        answer = client.delete_flow_logs(aws_retry=True, FlowLogIds=flow_log_ids)
    except is_boto3_error_code(NOT_FOUND):
        # moto refuses the whole call; delete the ones still there one by one.
        for flow_log_id in flow_log_ids:
            try:
                client.delete_flow_logs(aws_retry=True, FlowLogIds=[flow_log_id])
            except is_boto3_error_code(NOT_FOUND):
                pass
        return
    failed = [u for u in answer.get("Unsuccessful") or [] if (u.get("Error") or {}).get("Code") != NOT_FOUND]
    if failed:
        raise VpcFlowLogError(
            "could not delete flow log %s: %s"
            % (failed[0].get("ResourceId"), (failed[0].get("Error") or {}).get("Message"))
        )


def _describe_one(client, flow_log_id):
    page = client.describe_flow_logs(aws_retry=True, Filters=[{"Name": "flow-log-id", "Values": [flow_log_id]}])
    return page["FlowLogs"][0] if page["FlowLogs"] else None


def ensure(client, params, check_mode=False):
    """Return (changed, flow_log, before, after); flow_log is None when absent or not yet created."""
    ours = find(client, params["vpc_id"], params["log_group_name"])
    before = _view(ours[0]) if ours else {}
    if len(ours) > 1:
        before["other_flow_log_ids"] = [f["FlowLogId"] for f in ours[1:]]

    if params["state"] == "absent":
        if ours and not check_mode:
            delete(client, [f["FlowLogId"] for f in ours])
        return bool(ours), None, before, {}

    wanted_tags = _wanted_tags(params)
    keep = next((f for f in ours if _matches(f, params)), None)
    stale = [f["FlowLogId"] for f in ours if f is not keep]

    if keep is not None:
        current = _tags(keep)
        to_set, to_remove = tag_changes(current, wanted_tags, params["purge_tags"])
        tags = desired_tags(current, wanted_tags, params["purge_tags"])
        after = dict(_view(keep), tags=tags)
        changed = bool(stale or to_set or to_remove)
        if changed and not check_mode:
            delete(client, stale)
            if to_remove:
                client.delete_tags(aws_retry=True, Resources=[keep["FlowLogId"]], Tags=[{"Key": k} for k in to_remove])
            if to_set:
                client.create_tags(
                    aws_retry=True,
                    Resources=[keep["FlowLogId"]],
                    Tags=[{"Key": k, "Value": v} for k, v in sorted(to_set.items())],
                )
            keep = dict(keep, Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())])
        return changed, keep, before, after

    # Nothing matches: create one, after deleting the one that differs (AWS keeps one per log group).
    role = params.get("deliver_logs_role_arn")
    # A replacement keeps the tags of the flow log it replaces, as an in-place update would.
    tags = desired_tags(_tags(ours[0]) if ours else {}, wanted_tags, params["purge_tags"])
    after = {
        "flow_log_id": None,
        "vpc_id": params["vpc_id"],
        "log_group_name": params["log_group_name"],
        "traffic_type": params["traffic_type"],
        "deliver_logs_role_arn": role,
        "tags": tags,
    }
    if check_mode:
        return True, None, before, after
    if role is None:
        raise VpcFlowLogError(
            "deliver_logs_role_arn is required to create the flow log of %s to %s: CloudWatch Logs delivery "
            "needs the IAM role VPC flow logs write with" % (params["vpc_id"], params["log_group_name"])
        )
    delete(client, stale)
    request = {
        "ResourceIds": [params["vpc_id"]],
        "ResourceType": "VPC",
        "TrafficType": params["traffic_type"],
        "LogDestinationType": "cloud-watch-logs",
        "LogGroupName": params["log_group_name"],
        "DeliverLogsPermissionArn": role,
    }
    if tags:
        request["TagSpecifications"] = [
            {"ResourceType": "vpc-flow-log", "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}
        ]
    created = client.create_flow_logs(aws_retry=True, **request)
    if created.get("Unsuccessful"):
        error = created["Unsuccessful"][0].get("Error") or {}
        raise VpcFlowLogError(
            "AWS did not create the flow log of %s to %s: %s %s"
            % (params["vpc_id"], params["log_group_name"], error.get("Code"), error.get("Message"))
        )
    flow_log_id = created["FlowLogIds"][0]
    flow_log = _describe_one(client, flow_log_id) or {
        "FlowLogId": flow_log_id,
        "ResourceId": params["vpc_id"],
        "LogGroupName": params["log_group_name"],
        "TrafficType": params["traffic_type"],
        "DeliverLogsPermissionArn": role,
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
    }
    after["flow_log_id"] = flow_log_id
    return True, flow_log, before, after


def _result_view(flow_log):
    if not flow_log:
        return {}
    return dict(camel_dict_to_snake_dict(isoformat_values(flow_log), ignore_list=["Tags"]), tags=_tags(flow_log))


def main():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    errors = validate(module.params)
    if errors:
        module.fail_json(msg="vpc_flow_log: " + "; ".join(errors))
    client = module.client("ec2", retry_decorator=RETRY)
    try:
        changed, flow_log, before, after = ensure(client, module.params, check_mode=module.check_mode)
    except VpcFlowLogError as e:
        module.fail_json(msg=str(e))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(
            e,
            msg="Failed to manage the flow log of %s to %s"
            % (module.params["vpc_id"], module.params["log_group_name"]),
        )
    result = dict(
        changed=changed,
        flow_log_id=flow_log["FlowLogId"] if flow_log else None,
        flow_log=_result_view(flow_log),
    )
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)
