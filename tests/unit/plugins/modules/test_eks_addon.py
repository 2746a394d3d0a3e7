"""Unit tests of llm_saas.platform.eks_addon.

moto 5.2.5 does not implement the EKS add-on API (CreateAddon, DescribeAddon, ...), so these
tests drive the module against botocore's Stubber, which validates every request and response
against the real EKS service model.
"""

from __future__ import annotations

import datetime
from functools import partial

import pytest
from botocore.stub import Stubber

from aws_module_harness import dummy_client, run_aws_module  # first: puts .collections on sys.path
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import eks_addon

CLUSTER = "llm-saas-production"
ARN = "arn:aws:eks:us-east-1:123456789012:addon/llm-saas-production/vpc-cni/abcd"
ROLE = "arn:aws:iam::123456789012:role/vpc-cni"
NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)


def addon(status="ACTIVE", version="v1.19.2-eksbuild.1", config=None, role=ROLE, tags=None):
    body = {
        "addonName": "vpc-cni",
        "clusterName": CLUSTER,
        "status": status,
        "addonVersion": version,
        "addonArn": ARN,
        "createdAt": NOW,
        "modifiedAt": NOW,
        "serviceAccountRoleArn": role,
        "tags": tags if tags is not None else {"Project": "llm-saas"},
    }
    if config is not None:
        body["configurationValues"] = config
    return {"addon": body}


@pytest.fixture
def eks():
    client = dummy_client("eks")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


run = partial(run_aws_module, eks_addon.main, cluster_name=CLUSTER, name="vpc-cni")


def not_found(stubber, operation):
    stubber.add_client_error(operation, service_error_code="ResourceNotFoundException", http_status_code=404)


WANTED = {
    "addon_version": "v1.19.2-eksbuild.1",
    "service_account_role_arn": ROLE,
    "configuration_values": {"env": {"ENABLE_PREFIX_DELEGATION": "true"}},
    "tags": {"Project": "llm-saas"},
}
CONFIG_JSON = '{"env":{"ENABLE_PREFIX_DELEGATION":"true"}}'


def test_creates_missing_addon_with_pinned_settings_and_waits(eks, capsys):
    client, stubber = eks
    not_found(stubber, "describe_addon")
    stubber.add_response(
        "create_addon",
        addon(status="CREATING", config=CONFIG_JSON),
        {
            "clusterName": CLUSTER,
            "addonName": "vpc-cni",
            "resolveConflicts": "OVERWRITE",
            "addonVersion": "v1.19.2-eksbuild.1",
            "serviceAccountRoleArn": ROLE,
            "configurationValues": CONFIG_JSON,
            "tags": {"Project": "llm-saas"},
        },
    )
    stubber.add_response("describe_addon", addon(config=CONFIG_JSON), {"clusterName": CLUSTER, "addonName": "vpc-cni"})
    result = run(capsys, client, **WANTED)
    assert result["rc"] == 0 and result["changed"] is True
    assert result["addon"]["status"] == "ACTIVE"
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["addon_version"] == "v1.19.2-eksbuild.1"


def test_matching_addon_is_left_alone(eks, capsys):
    client, stubber = eks
    # Same configuration written differently (spaces, key order) is not a change.
    stubber.add_response("describe_addon", addon(config='{ "env": { "ENABLE_PREFIX_DELEGATION": "true" } }'))
    result = run(capsys, client, **WANTED)
    assert result["rc"] == 0 and result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"]


def test_check_mode_on_missing_addon_reports_change_without_creating(eks, capsys):
    client, stubber = eks
    not_found(stubber, "describe_addon")
    result = run(capsys, client, check_mode=True, **WANTED)
    assert result["changed"] is True and result["addon"] == {}


def test_version_drift_updates_only_the_version(eks, capsys):
    client, stubber = eks
    stubber.add_response("describe_addon", addon(version="v1.18.0-eksbuild.1", config=CONFIG_JSON))
    stubber.add_response(
        "update_addon",
        {"update": {"id": "u-1", "status": "InProgress", "type": "AddonUpdate"}},
        {
            "clusterName": CLUSTER,
            "addonName": "vpc-cni",
            "resolveConflicts": "OVERWRITE",
            "addonVersion": "v1.19.2-eksbuild.1",
        },
    )
    stubber.add_response("describe_addon", addon(config=CONFIG_JSON))
    stubber.add_response("describe_addon", addon(config=CONFIG_JSON))
    result = run(capsys, client, **WANTED)
    assert result["changed"] is True
    assert result["diff"]["before"]["addon_version"] == "v1.18.0-eksbuild.1"
    assert result["diff"]["after"]["addon_version"] == "v1.19.2-eksbuild.1"


def test_check_mode_on_drift_writes_nothing(eks, capsys):
    client, stubber = eks
    stubber.add_response("describe_addon", addon(version="v1.18.0-eksbuild.1", config=CONFIG_JSON, tags={"Old": "x"}))
    result = run(capsys, client, check_mode=True, **WANTED)
    assert result["changed"] is True
    assert result["diff"]["after"]["tags"] == {"Project": "llm-saas"}


def test_tags_are_added_and_purged_by_key(eks, capsys):
    client, stubber = eks
    stubber.add_response("describe_addon", addon(config=CONFIG_JSON, tags={"Project": "llm-saas", "Old": "x"}))
    stubber.add_response("untag_resource", {}, {"resourceArn": ARN, "tagKeys": ["Old"]})
    stubber.add_response("tag_resource", {}, {"resourceArn": ARN, "tags": {"CostCenter": "ml"}})
    stubber.add_response("describe_addon", addon(config=CONFIG_JSON, tags={"Project": "llm-saas", "CostCenter": "ml"}))
    params = dict(WANTED, tags={"Project": "llm-saas", "CostCenter": "ml"})
    result = run(capsys, client, **params)
    assert result["changed"] is True
    assert result["addon"]["tags"] == {"Project": "llm-saas", "CostCenter": "ml"}


def test_absent_deletes_and_waits_until_gone(eks, capsys):
    client, stubber = eks
    stubber.add_response("describe_addon", addon())
    stubber.add_response(
        "delete_addon", addon(status="DELETING"), {"clusterName": CLUSTER, "addonName": "vpc-cni", "preserve": True}
    )
    not_found(stubber, "describe_addon")
    result = run(capsys, client, state="absent", preserve=True)
    assert result["changed"] is True and result["diff"]["after"] == {}


def test_absent_when_missing_is_a_no_op(eks, capsys):
    client, stubber = eks
    not_found(stubber, "describe_addon")
    assert run(capsys, client, state="absent")["changed"] is False


def test_failed_addon_fails_the_task_with_its_status(eks, capsys):
    client, stubber = eks
    not_found(stubber, "describe_addon")
    stubber.add_response("create_addon", addon(status="CREATING"))
    stubber.add_response("describe_addon", addon(status="CREATE_FAILED"))
    result = run(capsys, client, addon_version="v1.19.2-eksbuild.1")
    assert result["rc"] == 1 and "CREATE_FAILED" in result["msg"]
