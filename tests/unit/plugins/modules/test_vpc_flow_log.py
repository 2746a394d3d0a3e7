"""Unit tests of llm_saas.platform.vpc_flow_log on moto in process.

moto 5.2.5 implements CreateFlowLogs (refusing a second flow log of a VPC to the same log group, and one
to CloudWatch Logs without DeliverLogsPermissionArn), DescribeFlowLogs (with the resource-id filter and
the flow log's Tags) and DeleteFlowLogs (an unknown id fails the whole call), and CreateTags/DeleteTags
on flow logs.
"""

from __future__ import annotations

from functools import partial

import pytest
from moto import mock_aws

from aws_module_harness import dummy_client, no_aws, run_aws_module  # first: puts .collections on sys.path
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import vpc_flow_log

REGION = "us-east-1"
GROUP = "/aws/vpc/plat-local/flow-logs"
ROLE = "arn:aws:iam::123456789012:role/plat-local-vpc-flow-logs"
OTHER_ROLE = "arn:aws:iam::123456789012:role/other"

run = partial(
    run_aws_module, vpc_flow_log.main, region=REGION,
    wrap=lambda client: RetryingBotoClientWrapper(client, vpc_flow_log.RETRY),
)


@pytest.fixture
def vpc_id():
    with mock_aws():
        yield dummy_client("ec2", REGION).create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]


def _flow_logs(vpc_id):
    return dummy_client("ec2", REGION).describe_flow_logs(
        Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]


def _tags(flow_log):
    return {t["Key"]: t["Value"] for t in flow_log.get("Tags") or []}


def test_creates_once_then_changes_nothing_and_check_mode_writes_nothing(vpc_id, capsys):
    base = dict(vpc_id=vpc_id, log_group_name=GROUP, deliver_logs_role_arn=ROLE, tags={"Project": "plat"})
    checked = run(capsys, check_mode=True, **base)
    assert checked["rc"] == 0 and checked["changed"] is True, checked
    assert checked["flow_log_id"] is None and _flow_logs(vpc_id) == []
    assert checked["diff"] == {"before": {}, "after": {
        "flow_log_id": None, "vpc_id": vpc_id, "log_group_name": GROUP, "traffic_type": "ALL",
        "deliver_logs_role_arn": ROLE, "tags": {"Project": "plat"}}}

    first = run(capsys, **base)
    assert first["rc"] == 0 and first["changed"] is True, first
    (flow_log,) = _flow_logs(vpc_id)
    assert flow_log["FlowLogId"] == first["flow_log_id"] == first["diff"]["after"]["flow_log_id"]
    assert flow_log["TrafficType"] == "ALL" and flow_log["LogGroupName"] == GROUP
    assert flow_log["LogDestinationType"] == "cloud-watch-logs" and flow_log["DeliverLogsPermissionArn"] == ROLE
    assert _tags(flow_log) == {"Project": "plat"}
    assert first["flow_log"]["tags"] == {"Project": "plat"} and first["flow_log"]["resource_id"] == vpc_id
    assert first["diff"]["before"] == {}

    again = run(capsys, **base)
    assert again["rc"] == 0 and again["changed"] is False, again
    assert again["flow_log_id"] == flow_log["FlowLogId"]
    assert again["diff"]["before"] == again["diff"]["after"]
    # Without a role the existing one is not compared; in check mode nothing changes either.
    assert run(capsys, vpc_id=vpc_id, log_group_name=GROUP)["changed"] is False
    assert run(capsys, check_mode=True, **base)["changed"] is False
    assert [f["FlowLogId"] for f in _flow_logs(vpc_id)] == [flow_log["FlowLogId"]]


def test_other_log_groups_and_vpcs_are_left_alone(vpc_id, capsys):
    ec2 = dummy_client("ec2", REGION)
    other_vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    for vpc, group in ((vpc_id, "/other/group"), (other_vpc, GROUP)):
        ec2.create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType="REJECT",
                             LogDestinationType="cloud-watch-logs", LogGroupName=group, DeliverLogsPermissionArn=ROLE)
    created = run(capsys, vpc_id=vpc_id, log_group_name=GROUP, deliver_logs_role_arn=ROLE)
    assert created["changed"] is True and created["diff"]["before"] == {}
    assert sorted(f["LogGroupName"] for f in _flow_logs(vpc_id)) == sorted(["/other/group", GROUP])

    assert run(capsys, vpc_id=vpc_id, log_group_name=GROUP, state="absent")["changed"] is True
    assert [f["LogGroupName"] for f in _flow_logs(vpc_id)] == ["/other/group"]
    assert [f["LogGroupName"] for f in _flow_logs(other_vpc)] == [GROUP]


def test_drift_is_replaced_and_check_mode_only_reports_it(vpc_id, capsys):
    base = dict(vpc_id=vpc_id, log_group_name=GROUP, deliver_logs_role_arn=ROLE, tags={"Project": "plat"})
    old = run(capsys, traffic_type="REJECT", **base)["flow_log_id"]
    dummy_client("ec2", REGION).create_tags(Resources=[old], Tags=[{"Key": "kept", "Value": "yes"}])

    checked = run(capsys, check_mode=True, traffic_type="ALL", **base)
    assert checked["changed"] is True and checked["flow_log_id"] is None
    assert checked["diff"]["before"]["traffic_type"] == "REJECT" and checked["diff"]["after"]["traffic_type"] == "ALL"
    assert [(f["FlowLogId"], f["TrafficType"]) for f in _flow_logs(vpc_id)] == [(old, "REJECT")]

    replaced = run(capsys, traffic_type="ALL", **base)
    assert replaced["rc"] == 0 and replaced["changed"] is True, replaced
    (flow_log,) = _flow_logs(vpc_id)
    assert flow_log["FlowLogId"] == replaced["flow_log_id"] != old
    assert flow_log["TrafficType"] == "ALL"
    # purge_tags=false: the replacement carries the tags the old flow log had besides the given ones.
    assert _tags(flow_log) == {"Project": "plat", "kept": "yes"}
    assert run(capsys, traffic_type="ALL", **base)["changed"] is False

    role_changed = run(capsys, **{**base, "deliver_logs_role_arn": OTHER_ROLE})
    assert role_changed["changed"] is True and role_changed["flow_log_id"] != flow_log["FlowLogId"]
    assert [f["DeliverLogsPermissionArn"] for f in _flow_logs(vpc_id)] == [OTHER_ROLE]


def test_tags_change_in_place(vpc_id, capsys):
    base = dict(vpc_id=vpc_id, log_group_name=GROUP, deliver_logs_role_arn=ROLE)
    created = run(capsys, tags={"Project": "plat", "old": "x"}, **base)["flow_log_id"]

    added = run(capsys, tags={"Owner": "net"}, **base)
    assert added["changed"] is True and added["flow_log_id"] == created
    assert _tags(_flow_logs(vpc_id)[0]) == {"Project": "plat", "old": "x", "Owner": "net"}

    checked = run(capsys, check_mode=True, tags={"Owner": "net"}, purge_tags=True, **base)
    assert checked["changed"] is True and checked["diff"]["after"]["tags"] == {"Owner": "net"}
    assert len(_tags(_flow_logs(vpc_id)[0])) == 3

    purged = run(capsys, tags={"Owner": "net"}, purge_tags=True, **base)
    assert purged["changed"] is True and purged["flow_log_id"] == created
    assert _tags(_flow_logs(vpc_id)[0]) == {"Owner": "net"} == purged["flow_log"]["tags"]
    assert run(capsys, tags={"Owner": "net"}, purge_tags=True, **base)["changed"] is False


def test_absent_removes_and_rerun_changes_nothing(vpc_id, capsys):
    created = run(capsys, vpc_id=vpc_id, log_group_name=GROUP, deliver_logs_role_arn=ROLE)["flow_log_id"]

    checked = run(capsys, check_mode=True, vpc_id=vpc_id, log_group_name=GROUP, state="absent")
    assert checked["changed"] is True and checked["diff"]["before"]["flow_log_id"] == created
    assert len(_flow_logs(vpc_id)) == 1

    removed = run(capsys, vpc_id=vpc_id, log_group_name=GROUP, state="absent")
    assert removed["rc"] == 0 and removed["changed"] is True and removed["flow_log_id"] is None
    assert removed["diff"] == {"before": checked["diff"]["before"], "after": {}}
    assert _flow_logs(vpc_id) == []
    again = run(capsys, vpc_id=vpc_id, log_group_name=GROUP, state="absent")
    assert again["rc"] == 0 and again["changed"] is False and again["diff"] == {"before": {}, "after": {}}


def test_create_without_role_fails_with_the_fix_and_writes_nothing(vpc_id, capsys):
    assert run(capsys, check_mode=True, vpc_id=vpc_id, log_group_name=GROUP)["changed"] is True
    failed = run(capsys, vpc_id=vpc_id, log_group_name=GROUP)
    assert failed["rc"] == 1 and "deliver_logs_role_arn" in failed["msg"], failed
    assert _flow_logs(vpc_id) == []


def test_aws_errors_fail_the_module(vpc_id, capsys):
    missing = run(capsys, vpc_id="vpc-0123456789abcdef0", log_group_name=GROUP, deliver_logs_role_arn=ROLE)
    assert missing["rc"] == 1 and "vpc-0123456789abcdef0" in missing["msg"], missing


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (dict(traffic_type="EVERYTHING"), "traffic_type"),
        (dict(vpc_id="my-vpc"), "vpc_id"),
        (dict(log_group_name="flow logs!"), "log_group_name"),
        (dict(deliver_logs_role_arn="plat-local-vpc-flow-logs"), "deliver_logs_role_arn"),
        (dict(tags={"aws:reserved": "x"}), "aws:"),
        (dict(state="gone"), "state"),
    ],
)
def test_bad_input_fails_before_any_call(capsys, params, field):
    args = dict(vpc_id="vpc-0123456789abcdef0", log_group_name=GROUP, deliver_logs_role_arn=ROLE)
    args.update(params)
    result = run(capsys, no_aws, **args)
    assert result["rc"] == 1 and field in result["msg"], result["msg"]
