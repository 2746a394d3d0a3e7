"""Unit tests of llm_saas.platform.securityhub_standards.

moto 5.2.5 implements EnableSecurityHub/DescribeHub but none of the standards API (DescribeStandards,
GetEnabledStandards, BatchEnableStandards, BatchDisableStandards), so these tests drive the module against
botocore's Stubber, which validates every request and response against the real Security Hub service model.
The hub alone is also exercised on moto by tests/security/test_security_baseline.py.
"""

from __future__ import annotations

from functools import partial

import pytest
from botocore.stub import Stubber

from aws_module_harness import dummy_client, run_aws_module  # first: puts .collections on sys.path
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import securityhub_standards

REGION = "eu-west-1"
HUB = "arn:aws:securityhub:eu-west-1:123456789012:hub/default"
CIS3 = "arn:aws:securityhub:eu-west-1::standards/cis-aws-foundations-benchmark/v/3.0.0"
CIS12 = "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0"
FSBP = "arn:aws:securityhub:eu-west-1::standards/aws-foundational-security-best-practices/v/1.0.0"
PCI = "arn:aws:securityhub:eu-west-1::standards/pci-dss/v/3.2.1"
PLATFORM = {"standards": ["cis-aws-foundations-benchmark/v/3.0.0", "aws-foundational-security-best-practices/v/1.0.0"]}


def subscription(arn, status="READY"):
    sub_arn = "arn:aws:securityhub:eu-west-1:123456789012:subscription/" + securityhub_standards.standard_id(arn)
    return {"StandardsSubscriptionArn": sub_arn, "StandardsArn": arn, "StandardsInput": {}, "StandardsStatus": status}


@pytest.fixture
def hub():
    client = dummy_client("securityhub", REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


run = partial(run_aws_module, securityhub_standards.main, region=REGION)


def not_subscribed(stubber):
    stubber.add_client_error(
        "describe_hub",
        service_error_code="InvalidAccessException",
        http_status_code=401,
        service_message="Account 123456789012 is not subscribed to AWS Security Hub",
    )


def available(stubber):
    stubber.add_response(
        "describe_standards",
        {"Standards": [{"StandardsArn": arn, "Name": arn.rsplit("/", 3)[1]} for arn in (CIS12, FSBP, CIS3, PCI)]},
        {},
    )


def test_enables_the_hub_without_default_standards_then_exactly_the_listed_ones(hub, capsys):
    client, stubber = hub
    not_subscribed(stubber)
    stubber.add_response("enable_security_hub", {}, {"EnableDefaultStandards": False})
    stubber.add_response("describe_hub", {"HubArn": HUB, "SubscribedAt": "2026-11-27T00:00:00Z"})
    available(stubber)
    stubber.add_response("get_enabled_standards", {"StandardsSubscriptions": []}, {})
    stubber.add_response(
        "batch_enable_standards",
        {"StandardsSubscriptions": [subscription(CIS3, "PENDING"), subscription(FSBP, "PENDING")]},
        {"StandardsSubscriptionRequests": [{"StandardsArn": CIS3}, {"StandardsArn": FSBP}]},
    )
    result = run(capsys, client, **PLATFORM)
    assert result["rc"] == 0 and result["changed"] is True, result
    assert result["hub_arn"] == HUB
    assert result["standards"] == {CIS3: "PENDING", FSBP: "PENDING"}
    assert result["diff"]["before"] == {}


def test_matching_standards_are_left_alone_across_pages(hub, capsys):
    client, stubber = hub
    stubber.add_response("describe_hub", {"HubArn": HUB})
    available(stubber)
    stubber.add_response(
        "get_enabled_standards", {"StandardsSubscriptions": [subscription(CIS3)], "NextToken": "t"}, {}
    )
    stubber.add_response(
        "get_enabled_standards", {"StandardsSubscriptions": [subscription(FSBP, "PENDING")]}, {"NextToken": "t"}
    )
    result = run(capsys, client, **PLATFORM)
    assert result["changed"] is False
    assert result["standards"] == {CIS3: "READY", FSBP: "PENDING"}
    assert result["diff"]["before"] == result["diff"]["after"]


def test_other_standards_are_disabled_and_missing_ones_enabled(hub, capsys):
    client, stubber = hub
    stubber.add_response("describe_hub", {"HubArn": HUB})
    available(stubber)
    # The console's defaults (CIS 1.2.0 ruleset + FSBP) plus one being deleted, which no longer counts.
    stubber.add_response(
        "get_enabled_standards",
        {"StandardsSubscriptions": [subscription(CIS12), subscription(FSBP), subscription(PCI, "DELETING")]},
        {},
    )
    stubber.add_response(
        "batch_disable_standards",
        {"StandardsSubscriptions": [subscription(CIS12, "DELETING")]},
        {"StandardsSubscriptionArns": [subscription(CIS12)["StandardsSubscriptionArn"]]},
    )
    stubber.add_response(
        "batch_enable_standards",
        {"StandardsSubscriptions": [subscription(CIS3, "PENDING")]},
        {"StandardsSubscriptionRequests": [{"StandardsArn": CIS3}]},
    )
    result = run(capsys, client, **PLATFORM)
    assert result["changed"] is True
    assert result["standards"] == {CIS3: "PENDING", FSBP: "READY"}
    assert result["diff"]["before"]["standards"] == [CIS12, FSBP]


def test_check_mode_reports_without_writing(hub, capsys):
    client, stubber = hub
    stubber.add_response("describe_hub", {"HubArn": HUB})
    available(stubber)
    stubber.add_response("get_enabled_standards", {"StandardsSubscriptions": [subscription(CIS12)]}, {})
    result = run(capsys, client, check_mode=True, **PLATFORM)
    assert result["changed"] is True
    assert result["diff"]["after"]["standards"] == sorted([CIS3, FSBP])


def test_check_mode_without_a_hub_makes_no_call_after_describe(hub, capsys):
    client, stubber = hub
    not_subscribed(stubber)
    result = run(capsys, client, check_mode=True, **PLATFORM)
    assert result["changed"] is True and result["hub_arn"] is None


def test_purge_false_keeps_other_standards(hub, capsys):
    client, stubber = hub
    stubber.add_response("describe_hub", {"HubArn": HUB})
    available(stubber)
    stubber.add_response("get_enabled_standards", {"StandardsSubscriptions": [subscription(PCI)]}, {})
    stubber.add_response(
        "batch_enable_standards",
        {"StandardsSubscriptions": [subscription(FSBP, "PENDING")]},
        {"StandardsSubscriptionRequests": [{"StandardsArn": FSBP}]},
    )
    result = run(capsys, client, standards=[FSBP], purge_standards=False)
    assert result["standards"] == {PCI: "READY", FSBP: "PENDING"}


def test_standard_the_region_lacks_fails_naming_the_available_ones(hub, capsys):
    client, stubber = hub
    stubber.add_response("describe_hub", {"HubArn": HUB})
    available(stubber)
    result = run(capsys, client, standards=["cis-aws-foundations-benchmark/v/9.9.9"])
    assert result["rc"] == 1
    assert "cis-aws-foundations-benchmark/v/9.9.9 is not available in eu-west-1" in result["msg"]
    assert "cis-aws-foundations-benchmark/v/3.0.0" in result["msg"]


def test_malformed_standard_fails_before_any_call(hub, capsys):
    client, _stubber = hub
    result = run(capsys, client, standards=["CIS 3.0"])
    assert result["rc"] == 1 and "standards: 'CIS 3.0'" in result["msg"]


def test_absent_disables_the_hub_once(hub, capsys):
    client, stubber = hub
    stubber.add_response("describe_hub", {"HubArn": HUB})
    stubber.add_response("disable_security_hub", {}, {})
    not_subscribed(stubber)
    assert run(capsys, client, state="absent")["changed"] is True
    assert run(capsys, client, state="absent")["changed"] is False
