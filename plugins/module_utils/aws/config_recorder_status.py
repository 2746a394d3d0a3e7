# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of llm_saas.platform.config_recorder_status (whether an AWS Config recorder records)."""

from __future__ import annotations


try:
    import botocore
except ImportError:
    botocore = None  # AnsibleAWSModule reports the missing library

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import isoformat_values

# AWS Config is a JSON service throttling with ThrottlingException, which jittered_backoff already knows.
RETRY = AWSRetry.jittered_backoff(retries=10)

# PutConfigurationRecorder's limit on the name.
MAX_NAME = 256

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    recording=dict(type="bool", default=True),
)


def validate(module):
    """Bad input fails before any AWS call."""
    name = module.params["name"]
    if not name or not name.strip() or len(name) > MAX_NAME:
        module.fail_json(
            msg="name {0!r} is not an AWS Config recorder name; give the recorder's name (1 to {1} characters, "
            "'default' unless it was created with another)".format(name, MAX_NAME)
        )


def read_status(module, client, name):
    """The recorder's status as DescribeConfigurationRecorderStatus reports it; fails if there is no recorder."""
    try:
        found = RETRY(client.describe_configuration_recorder_status)(ConfigurationRecorderNames=[name])
    except is_boto3_error_code("NoSuchConfigurationRecorderException"):
        module.fail_json(
            msg="name: there is no AWS Config recorder named {0!r} in {1}; create it first "
            "(community.aws.config_recorder), then its delivery channel (community.aws.config_delivery_channel)".format(
                name, module.region
            )
        )
    status = found["ConfigurationRecordersStatus"][0]
    return isoformat_values(status)


def ensure(module, client):
    p = module.params
    name = p["name"]
    status = read_status(module, client, name)
    before = {"recording": bool(status.get("recording"))}
    after = {"recording": p["recording"]}
    changed = before != after
    if not changed or module.check_mode:
        return changed, status, before, after
    if p["recording"]:
        try:
            RETRY(client.start_configuration_recorder)(ConfigurationRecorderName=name)
        except is_boto3_error_code("NoAvailableDeliveryChannelException"):
            module.fail_json(
                msg="recording: AWS Config will not start recorder {0!r} in {1} without a delivery channel; "
                "create the delivery channel first (community.aws.config_delivery_channel with its S3 bucket), "
                "then start recording".format(name, module.region)
            )
    else:
        RETRY(client.stop_configuration_recorder)(ConfigurationRecorderName=name)
    return True, read_status(module, client, name), before, after


def main():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    validate(module)
    client = module.client("config", retry_decorator=RETRY)
    try:
        changed, status, before, after = ensure(module, client)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(
            e, msg="Failed to manage the recording of AWS Config recorder {0}".format(module.params["name"])
        )
    # AWS answers Failure, moto FAILURE.
    if status.get("recording") and (status.get("lastStatus") or "").upper() == "FAILURE":
        # Recording is on but delivery fails (role, bucket policy or key): say so rather than report success.
        module.warn(
            "AWS Config recorder {0} records but its last delivery failed: {1} {2}".format(
                module.params["name"], status.get("lastErrorCode", ""), status.get("lastErrorMessage", "")
            )
        )
    result = dict(changed=changed, recording=bool(status.get("recording")), status=camel_dict_to_snake_dict(status))
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)
