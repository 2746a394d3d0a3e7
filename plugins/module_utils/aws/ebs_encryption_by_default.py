# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of llm_saas.platform.ebs_encryption_by_default (a region's EBS encryption by default and its key)."""

from __future__ import annotations

import re

try:
    import botocore
except ImportError:
    botocore = None  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# EC2 and KMS both throttle with Query/JSON codes that jittered_backoff knows; KMS adds its own.
RETRY = AWSRetry.jittered_backoff(retries=10, catch_extra_error_codes=["KMSInternalException"])

AWS_MANAGED_ALIAS = "alias/aws/ebs"

# Every form ModifyEbsDefaultKmsKeyId accepts: key id (incl. multi-Region mrk-), alias, key ARN, alias ARN.
_KEY_ID = r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
_ALIAS = r"alias/[A-Za-z0-9/_-]{1,250}"
_ARN = r"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(?:key/" + _KEY_ID + "|" + _ALIAS + ")"
KEY_PATTERN = re.compile(r"^(?:" + _KEY_ID + "|" + _ALIAS + "|" + _ARN + r")$")

ARGUMENT_SPEC = dict(
    enabled=dict(type="bool", default=True),
    kms_key_id=dict(type="str"),
)


def validate(module):
    """Bad input fails before any AWS call."""
    key = module.params["kms_key_id"]
    if key is not None and not KEY_PATTERN.match(key):
        module.fail_json(
            msg="kms_key_id {0!r} is not a KMS key id, key ARN, alias (alias/NAME) or alias ARN; "
            "give for example alias/llm-saas-prod-ebs, or omit kms_key_id to leave the default key alone, "
            "or use {1} for the AWS managed key".format(key, AWS_MANAGED_ALIAS)
        )


def _is_aws_managed_alias(key):
    return key == AWS_MANAGED_ALIAS or key.endswith(":" + AWS_MANAGED_ALIAS)


def describe_key(kms, key):
    """KeyMetadata of a key given in any form, or None when KMS does not know it."""
    try:
        return RETRY(kms.describe_key)(KeyId=key)["KeyMetadata"]
    except is_boto3_error_code("NotFoundException"):
        return None


def current_key_arn(kms, reported):
    """The key ARN behind what GetEbsDefaultKmsKeyId reports.

    AWS reports an ARN; while no key was chosen it names the AWS managed alias, whose key EBS creates on
    first use, so an account that never encrypted a volume has no key behind it yet: keep the alias then.
    """
    if not reported:
        return AWS_MANAGED_ALIAS
    if ":key/" in reported:
        return reported
    meta = describe_key(kms, reported)
    if meta is None:
        return AWS_MANAGED_ALIAS if _is_aws_managed_alias(reported) else reported
    return meta["Arn"]


def wanted_key_arn(module, kms, key):
    """Resolve O(kms_key_id) to the key ARN AWS reports, refusing keys EBS cannot use."""
    meta = describe_key(kms, key)
    if meta is None:
        if _is_aws_managed_alias(key):
            return AWS_MANAGED_ALIAS
        module.fail_json(
            msg="kms_key_id {0!r}: no such KMS key in {1}; create the key (and its alias) in this region "
            "first, KMS keys are regional".format(key, module.region)
        )
    # Instances launched with a disabled or asymmetric default key fail to start, and AWS accepts
    # ModifyEbsDefaultKmsKeyId anyway (it checks the key asynchronously): refuse such keys here.
    if meta.get("KeyState") != "Enabled":
        module.fail_json(
            msg="kms_key_id {0!r}: key {1} is {2}, EBS needs an Enabled key; enable it or choose another".format(
                key, meta["Arn"], meta.get("KeyState")
            )
        )
    if meta.get("KeySpec", meta.get("CustomerMasterKeySpec", "SYMMETRIC_DEFAULT")) != "SYMMETRIC_DEFAULT":
        module.fail_json(
            msg="kms_key_id {0!r}: key {1} is asymmetric; EBS only supports symmetric (SYMMETRIC_DEFAULT) keys".format(
                key, meta["Arn"]
            )
        )
    return meta["Arn"]


def read_state(ec2, kms):
    enabled = RETRY(ec2.get_ebs_encryption_by_default)()["EbsEncryptionByDefault"]
    reported = RETRY(ec2.get_ebs_default_kms_key_id)().get("KmsKeyId")
    return {"enabled": enabled, "kms_key_arn": current_key_arn(kms, reported)}


def ensure(module, ec2, kms):
    p = module.params
    before = read_state(ec2, kms)
    after = dict(before, enabled=p["enabled"])
    if p["kms_key_id"] is not None:
        after["kms_key_arn"] = wanted_key_arn(module, kms, p["kms_key_id"])
    changed = after != before
    if not changed or module.check_mode:
        return changed, before, after
    if before["kms_key_arn"] != after["kms_key_arn"]:
        # Key first: with encryption already on, volumes created in between would use the old key otherwise.
        # The AWS managed key is chosen by resetting (it may not exist yet, and AWS then names its alias).
        if _is_aws_managed_alias(p["kms_key_id"]) or _is_aws_managed_key(kms, after["kms_key_arn"]):
            RETRY(ec2.reset_ebs_default_kms_key_id)()
        else:
            RETRY(ec2.modify_ebs_default_kms_key_id)(KmsKeyId=after["kms_key_arn"])
    if before["enabled"] != after["enabled"]:
        if after["enabled"]:
            RETRY(ec2.enable_ebs_encryption_by_default)()
        else:
            RETRY(ec2.disable_ebs_encryption_by_default)()
    return True, before, read_state(ec2, kms)


def _is_aws_managed_key(kms, key_arn):
    if key_arn == AWS_MANAGED_ALIAS:
        return True
    meta = describe_key(kms, key_arn)
    return bool(meta) and meta.get("KeyManager") == "AWS"


def main():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    validate(module)
    ec2 = module.client("ec2", retry_decorator=RETRY)
    kms = module.client("kms", retry_decorator=RETRY)
    try:
        changed, before, after = ensure(module, ec2, kms)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to manage EBS encryption by default in {0}".format(module.region))
    result = dict(changed=changed, ebs_encryption_by_default=after["enabled"], kms_key_arn=after["kms_key_arn"])
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)
