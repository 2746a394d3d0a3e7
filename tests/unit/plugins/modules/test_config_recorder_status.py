"""Unit tests of llm_saas.platform.config_recorder_status on moto in process.

moto 5.2.5 implements DescribeConfigurationRecorderStatus, StartConfigurationRecorder (refusing with
NoAvailableDeliveryChannelException while there is no delivery channel, as AWS does) and
StopConfigurationRecorder, and refuses unknown recorders with NoSuchConfigurationRecorderException.
"""

from __future__ import annotations

from functools import partial

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from aws_module_harness import dummy_client, no_aws, run_aws_module  # first: puts .collections on sys.path
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import config_recorder_status

REGION = "us-east-1"


run = partial(run_aws_module, config_recorder_status.main, region=REGION)


def _recording(config, name="default"):
    return config.describe_configuration_recorder_status(ConfigurationRecorderNames=[name])[
        "ConfigurationRecordersStatus"
    ][0]["recording"]


@pytest.fixture
def config():
    """A recorder named default, not recording, without a delivery channel."""
    with mock_aws():
        client = dummy_client("config", REGION)
        client.put_configuration_recorder(
            ConfigurationRecorder={
                "name": "default",
                "roleARN": "arn:aws:iam::123456789012:role/llm-saas-aws-config",
                "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
            }
        )
        yield client


@pytest.fixture
def with_channel(config):
    dummy_client("s3", REGION).create_bucket(Bucket="llm-saas-audit-logs")
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "llm-saas-audit-logs"})
    return config


def test_check_mode_reports_the_start_and_starts_nothing(with_channel, capsys):
    result = run(capsys, check_mode=True, name="default")
    assert result["rc"] == 0 and result["changed"] is True, result
    assert result["diff"] == {"before": {"recording": False}, "after": {"recording": True}}
    assert result["recording"] is False
    assert _recording(with_channel) is False


def test_starts_recording_then_changes_nothing(with_channel, capsys):
    started = run(capsys, name="default")
    assert started["rc"] == 0 and started["changed"] is True, started
    assert _recording(with_channel) is True
    assert started["recording"] is True and started["status"]["name"] == "default"
    assert started["status"]["last_start_time"]

    again = run(capsys, name="default")
    assert again["changed"] is False and again["recording"] is True
    assert again["diff"]["before"] == again["diff"]["after"] == {"recording": True}
    assert again["status"]["last_start_time"] == started["status"]["last_start_time"]


def test_stops_recording_once_and_check_mode_keeps_it_recording(with_channel, capsys):
    with_channel.start_configuration_recorder(ConfigurationRecorderName="default")
    checked = run(capsys, check_mode=True, name="default", recording=False)
    assert checked["changed"] is True and _recording(with_channel) is True

    stopped = run(capsys, name="default", recording=False)
    assert stopped["changed"] is True and stopped["recording"] is False
    assert stopped["status"]["last_stop_time"]
    assert _recording(with_channel) is False
    assert run(capsys, name="default", recording=False)["changed"] is False


def test_start_without_delivery_channel_names_what_to_create(config, capsys):
    result = run(capsys, name="default")
    assert result["rc"] == 1 and result["failed"] is True
    assert "without a delivery channel" in result["msg"]
    assert "community.aws.config_delivery_channel" in result["msg"]
    assert _recording(config) is False


def test_unknown_recorder_is_refused_with_the_fix(config, capsys):
    result = run(capsys, name="audit")
    assert result["rc"] == 1
    assert "no AWS Config recorder named 'audit'" in result["msg"]
    assert "community.aws.config_recorder" in result["msg"]


@pytest.mark.parametrize("name", ["", "  ", "x" * 257])
def test_bad_name_fails_before_any_call(capsys, name):
    result = run(capsys, no_aws, name=name)
    assert result["rc"] == 1 and result["msg"].startswith("name "), result["msg"]


def test_failed_delivery_is_warned_about(capsys):
    """Stubber: moto never reports a failed delivery."""
    client = dummy_client("config", REGION)
    failed = {
        "name": "default",
        "recording": True,
        "lastStatus": "Failure",
        "lastErrorCode": "AccessDenied",
        "lastErrorMessage": "Access Denied",
    }
    with Stubber(client) as stub:
        stub.add_response(
            "describe_configuration_recorder_status",
            {"ConfigurationRecordersStatus": [failed]},
            {"ConfigurationRecorderNames": ["default"]},
        )
        result = run(capsys, client, name="default")
        stub.assert_no_pending_responses()
    assert result["changed"] is False and result["status"]["last_error_code"] == "AccessDenied"
    # ansible-core 2.19 returns each warning as a summary holding its event.
    messages = [w["event"]["msg"] if isinstance(w, dict) else w for w in result["warnings"]]
    assert any("last delivery failed: AccessDenied Access Denied" in m for m in messages), messages
