"""Unit tests of llm_saas.platform.config_recorder_status on moto in process.

moto 5.2.5 implements DescribeConfigurationRecorderStatus, StartConfigurationRecorder (refusing with
NoAvailableDeliveryChannelException while there is no delivery channel, as AWS does) and
StopConfigurationRecorder, and refuses unknown recorders with NoSuchConfigurationRecorderException.
"""

from __future__ import annotations

import json
import os
import sys
from unittest.mock import patch

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from moto import mock_aws

_COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".collections"))
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import config_recorder_status  # noqa: E402

REGION = "us-east-1"


def _client(service):
    return boto3.client(service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")


def run(capsys, clients, check_mode=False, **params):
    args = {"region": REGION, "_ansible_check_mode": check_mode, "_ansible_diff": True}
    args.update(params)
    with (
        patch_module_args(args),
        patch.object(AnsibleAWSModule, "client", side_effect=lambda service, **kw: clients(service)),
        pytest.raises(SystemExit) as exit_info,
    ):
        config_recorder_status.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exit_info.value.code
    return result


def _recording(config, name="default"):
    return config.describe_configuration_recorder_status(ConfigurationRecorderNames=[name])[
        "ConfigurationRecordersStatus"
    ][0]["recording"]


@pytest.fixture
def config():
    """A recorder named default, not recording, without a delivery channel."""
    with mock_aws():
        client = _client("config")
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
    _client("s3").create_bucket(Bucket="llm-saas-audit-logs")
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "llm-saas-audit-logs"})
    return config


def test_check_mode_reports_the_start_and_starts_nothing(with_channel, capsys):
    result = run(capsys, _client, check_mode=True, name="default")
    assert result["rc"] == 0 and result["changed"] is True, result
    assert result["diff"] == {"before": {"recording": False}, "after": {"recording": True}}
    assert result["recording"] is False
    assert _recording(with_channel) is False


def test_starts_recording_then_changes_nothing(with_channel, capsys):
    started = run(capsys, _client, name="default")
    assert started["rc"] == 0 and started["changed"] is True, started
    assert _recording(with_channel) is True
    assert started["recording"] is True and started["status"]["name"] == "default"
    assert started["status"]["last_start_time"]

    again = run(capsys, _client, name="default")
    assert again["changed"] is False and again["recording"] is True
    assert again["diff"]["before"] == again["diff"]["after"] == {"recording": True}
    assert again["status"]["last_start_time"] == started["status"]["last_start_time"]


def test_stops_recording_once_and_check_mode_keeps_it_recording(with_channel, capsys):
    with_channel.start_configuration_recorder(ConfigurationRecorderName="default")
    checked = run(capsys, _client, check_mode=True, name="default", recording=False)
    assert checked["changed"] is True and _recording(with_channel) is True

    stopped = run(capsys, _client, name="default", recording=False)
    assert stopped["changed"] is True and stopped["recording"] is False
    assert stopped["status"]["last_stop_time"]
    assert _recording(with_channel) is False
    assert run(capsys, _client, name="default", recording=False)["changed"] is False


def test_start_without_delivery_channel_names_what_to_create(config, capsys):
    result = run(capsys, _client, name="default")
    assert result["rc"] == 1 and result["failed"] is True
    assert "without a delivery channel" in result["msg"]
    assert "community.aws.config_delivery_channel" in result["msg"]
    assert _recording(config) is False


def test_unknown_recorder_is_refused_with_the_fix(config, capsys):
    result = run(capsys, _client, name="audit")
    assert result["rc"] == 1
    assert "no AWS Config recorder named 'audit'" in result["msg"]
    assert "community.aws.config_recorder" in result["msg"]


@pytest.mark.parametrize("name", ["", "  ", "x" * 257])
def test_bad_name_fails_before_any_call(capsys, name):
    def no_aws(service):
        raise AssertionError("no %s call expected" % service)

    result = run(capsys, no_aws, name=name)
    assert result["rc"] == 1 and result["msg"].startswith("name "), result["msg"]


def test_failed_delivery_is_warned_about(capsys):
    """Stubber: moto never reports a failed delivery."""
    client = botocore.session.get_session().create_client(
        "config", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
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
        result = run(capsys, lambda service: client, name="default")
        stub.assert_no_pending_responses()
    assert result["changed"] is False and result["status"]["last_error_code"] == "AccessDenied"
    # ansible-core 2.19 returns each warning as a summary holding its event.
    messages = [w["event"]["msg"] if isinstance(w, dict) else w for w in result["warnings"]]
    assert any("last delivery failed: AccessDenied Access Denied" in m for m in messages), messages
