"""Unit tests of llm_saas.platform.guardduty_detector.

moto 5.2.5 stores a detector's status, publishing frequency, features (as sent) and creation tags, so
creation, re-run, drift, check mode and deletion run against moto in process. It has no GuardDuty
TagResource/UntagResource: tag changes are driven against botocore's Stubber, which validates every
request and response against the real GuardDuty service model.
"""

from __future__ import annotations

from functools import partial

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from aws_module_harness import dummy_client, no_aws, run_aws_module  # first: puts .collections on sys.path
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import guardduty_detector

PLATFORM = {
    "finding_publishing_frequency": "FIFTEEN_MINUTES",
    "features": [
        {"name": "EKS_AUDIT_LOGS"},
        {"name": "RUNTIME_MONITORING", "additional_configuration": [{"name": "EKS_ADDON_MANAGEMENT"}]},
    ],
    "tags": {"Project": "llm-saas"},
}


run = partial(run_aws_module, guardduty_detector.main)


@pytest.fixture
def moto_gd():
    with mock_aws():
        yield dummy_client("guardduty")


def _features(raw, detector_id):
    features = raw.get_detector(DetectorId=detector_id)["Features"]
    return {
        f["Name"]: (f["Status"], {a["Name"]: a["Status"] for a in f.get("AdditionalConfiguration", [])})
        for f in features
    }


def test_creates_the_detector_with_eks_features_then_changes_nothing(moto_gd, capsys):
    created = run(capsys, **PLATFORM)
    assert created["rc"] == 0 and created["changed"] is True, created
    detector = moto_gd.get_detector(DetectorId=created["detector_id"])
    assert detector["Status"] == "ENABLED" and detector["FindingPublishingFrequency"] == "FIFTEEN_MINUTES"
    assert detector["Tags"] == {"Project": "llm-saas"}
    assert _features(moto_gd, created["detector_id"]) == {
        "EKS_AUDIT_LOGS": ("ENABLED", {}),
        "RUNTIME_MONITORING": ("ENABLED", {"EKS_ADDON_MANAGEMENT": "ENABLED"}),
    }
    again = run(capsys, **PLATFORM)
    assert again["changed"] is False and again["detector_id"] == created["detector_id"]
    assert again["diff"]["before"] == again["diff"]["after"]
    assert moto_gd.list_detectors()["DetectorIds"] == [created["detector_id"]]


def test_check_mode_creates_nothing(moto_gd, capsys):
    result = run(capsys, check_mode=True, **PLATFORM)
    assert result["changed"] is True and result["detector_id"] is None
    assert result["diff"]["after"]["features"]["RUNTIME_MONITORING"] == {
        "status": "ENABLED",
        "additional": {"EKS_ADDON_MANAGEMENT": "ENABLED"},
    }
    assert moto_gd.list_detectors()["DetectorIds"] == []


def test_drift_is_put_back_and_check_mode_only_reports_it(moto_gd, capsys):
    detector_id = moto_gd.create_detector(
        Enable=False,
        FindingPublishingFrequency="SIX_HOURS",
        Features=[{"Name": "EKS_AUDIT_LOGS", "Status": "DISABLED"}],
        Tags={"Project": "llm-saas"},
    )["DetectorId"]
    checked = run(capsys, check_mode=True, **PLATFORM)
    assert checked["changed"] is True
    assert checked["diff"]["before"]["status"] == "DISABLED" and checked["diff"]["after"]["status"] == "ENABLED"
    assert moto_gd.get_detector(DetectorId=detector_id)["Status"] == "DISABLED"

    fixed = run(capsys, **PLATFORM)
    assert fixed["changed"] is True and fixed["detector_id"] == detector_id
    detector = moto_gd.get_detector(DetectorId=detector_id)
    assert detector["Status"] == "ENABLED" and detector["FindingPublishingFrequency"] == "FIFTEEN_MINUTES"
    assert _features(moto_gd, detector_id)["EKS_AUDIT_LOGS"] == ("ENABLED", {})
    assert run(capsys, **PLATFORM)["changed"] is False


def test_one_drifted_feature_is_fixed_and_the_others_stay(moto_gd, capsys):
    detector_id = run(capsys, **PLATFORM)["detector_id"]
    moto_gd.update_detector(
        DetectorId=detector_id,
        Features=[
            {"Name": "EKS_AUDIT_LOGS", "Status": "ENABLED"},
            {
                "Name": "RUNTIME_MONITORING",
                "Status": "ENABLED",
                "AdditionalConfiguration": [{"Name": "EKS_ADDON_MANAGEMENT", "Status": "DISABLED"}],
            },
        ],
    )
    fixed = run(capsys, **PLATFORM)
    assert fixed["changed"] is True
    assert fixed["diff"]["before"]["features"]["RUNTIME_MONITORING"]["additional"] == {
        "EKS_ADDON_MANAGEMENT": "DISABLED"
    }
    assert _features(moto_gd, detector_id) == {
        "EKS_AUDIT_LOGS": ("ENABLED", {}),
        "RUNTIME_MONITORING": ("ENABLED", {"EKS_ADDON_MANAGEMENT": "ENABLED"}),
    }
    assert run(capsys, **PLATFORM)["changed"] is False


def test_absent_deletes_the_detector_once(moto_gd, capsys):
    detector_id = moto_gd.create_detector(Enable=True)["DetectorId"]
    assert run(capsys, check_mode=True, state="absent")["changed"] is True
    assert moto_gd.list_detectors()["DetectorIds"] == [detector_id]
    assert run(capsys, state="absent")["changed"] is True
    assert moto_gd.list_detectors()["DetectorIds"] == []
    assert run(capsys, state="absent")["changed"] is False


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (
            [{"name": "EKS_AUDIT_LOGS", "additional_configuration": [{"name": "EKS_ADDON_MANAGEMENT"}]}],
            "features[EKS_AUDIT_LOGS].additional_configuration",
        ),
        (
            [{"name": "EKS_RUNTIME_MONITORING", "additional_configuration": [{"name": "EC2_AGENT_MANAGEMENT"}]}],
            "allowed: EKS_ADDON_MANAGEMENT",
        ),
        ([{"name": "RUNTIME_MONITORING"}, {"name": "EKS_RUNTIME_MONITORING"}], "not both"),
        ([{"name": "EKS_AUDIT_LOGS"}, {"name": "EKS_AUDIT_LOGS", "status": "DISABLED"}], "twice"),
    ],
)
def test_bad_features_fail_before_any_call(capsys, features, message):
    result = run(capsys, no_aws, features=features)
    assert result["rc"] == 1 and message in result["msg"], result["msg"]


def test_tag_drift_is_fixed_with_tag_calls(capsys):
    """Stubber: moto has no GuardDuty TagResource/UntagResource."""
    gd, sts = dummy_client("guardduty", "eu-west-1"), dummy_client("sts", "eu-west-1")
    arn = "arn:aws:guardduty:eu-west-1:123456789012:detector/d1"
    detector = {
        "ServiceRole": "arn:aws:iam::123456789012:role/aws-service-role/guardduty.amazonaws.com/GuardDuty",
        "Status": "ENABLED",
        "FindingPublishingFrequency": "FIFTEEN_MINUTES",
        "Features": [
            {"Name": "EKS_AUDIT_LOGS", "Status": "ENABLED"},
            {
                "Name": "RUNTIME_MONITORING",
                "Status": "ENABLED",
                "AdditionalConfiguration": [
                    {"Name": "EKS_ADDON_MANAGEMENT", "Status": "ENABLED"},
                    {"Name": "EC2_AGENT_MANAGEMENT", "Status": "DISABLED"},
                ],
            },
            {"Name": "S3_DATA_EVENTS", "Status": "DISABLED"},
        ],
        "Tags": {"Project": "old", "Stray": "x"},
    }
    with Stubber(gd) as gd_stub, Stubber(sts) as sts_stub:
        gd_stub.add_response("list_detectors", {"DetectorIds": ["d1"]}, {})
        gd_stub.add_response("get_detector", detector, {"DetectorId": "d1"})
        sts_stub.add_response(
            "get_caller_identity", {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:root", "UserId": "x"}
        )
        gd_stub.add_response("untag_resource", {}, {"ResourceArn": arn, "TagKeys": ["Stray"]})
        gd_stub.add_response("tag_resource", {}, {"ResourceArn": arn, "Tags": {"Project": "llm-saas"}})
        gd_stub.add_response("get_detector", dict(detector, Tags={"Project": "llm-saas"}), {"DetectorId": "d1"})
        result = run(capsys, {"guardduty": gd, "sts": sts}.get, region="eu-west-1", **PLATFORM)
        gd_stub.assert_no_pending_responses()
    # Features GuardDuty reports beyond the listed ones (S3_DATA_EVENTS, EC2_AGENT_MANAGEMENT) are left alone.
    assert result["changed"] is True and result["detector"]["tags"] == {"Project": "llm-saas"}
    assert result["diff"]["after"]["features"]["S3_DATA_EVENTS"]["status"] == "DISABLED"
