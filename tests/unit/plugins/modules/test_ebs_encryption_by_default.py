"""Unit tests of llm_saas.platform.ebs_encryption_by_default.

moto 5.2.5 implements Enable/Disable/GetEbsEncryptionByDefault and ModifyEbsDefaultKmsKeyId (resolving any
key form to the key ARN) but not GetEbsDefaultKmsKeyId nor ResetEbsDefaultKmsKeyId: the tests apply the
local platform's patch (tests/local_platform/moto_tls_server.py) that adds both, as AWS answers them.
The real-AWS answer before any key exists (the alias ARN of a not yet created AWS managed key) runs
against botocore's Stubber.
"""

from __future__ import annotations

import os
import sys
from functools import partial

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from aws_module_harness import dummy_client, no_aws, run_aws_module  # first: puts .collections on sys.path
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import ebs_encryption_by_default

_LOCAL_PLATFORM = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "local_platform"))
if _LOCAL_PLATFORM not in sys.path:
    sys.path.insert(0, _LOCAL_PLATFORM)

from moto_tls_server import add_ebs_default_kms_key_reads  # noqa: E402

REGION = "us-east-1"


run = partial(run_aws_module, ebs_encryption_by_default.main)


@pytest.fixture
def aws():
    add_ebs_default_kms_key_reads()
    with mock_aws():
        kms = dummy_client("kms", REGION)
        key = kms.create_key(Description="platform ebs")["KeyMetadata"]
        kms.create_alias(AliasName="alias/plat-ebs", TargetKeyId=key["KeyId"])
        yield {"ec2": dummy_client("ec2", REGION), "kms": kms, "key_arn": key["Arn"], "key_id": key["KeyId"]}


def _state(aws):
    return (
        aws["ec2"].get_ebs_encryption_by_default()["EbsEncryptionByDefault"],
        aws["ec2"].get_ebs_default_kms_key_id()["KmsKeyId"],
    )


def test_enables_with_the_key_by_alias_then_changes_nothing(aws, capsys):
    assert run(capsys, check_mode=True, kms_key_id="alias/plat-ebs")["changed"] is True
    untouched = _state(aws)
    assert untouched[0] is False and untouched[1].endswith(":alias/aws/ebs")

    first = run(capsys, kms_key_id="alias/plat-ebs")
    assert first["rc"] == 0 and first["changed"] is True, first
    # moto, like AWS once EBS has used it, has a key behind alias/aws/ebs: its ARN is what is compared.
    managed = aws["kms"].describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["Arn"]
    assert first["diff"]["before"] == {"enabled": False, "kms_key_arn": managed}
    assert first["diff"]["after"] == {"enabled": True, "kms_key_arn": aws["key_arn"]}
    assert _state(aws) == (True, aws["key_arn"])
    # The key as AWS reports it: a volume created without a key is encrypted with it.
    volume = aws["ec2"].create_volume(AvailabilityZone=REGION + "a", Size=1, Encrypted=True)
    assert volume["KmsKeyId"] == aws["key_arn"]

    # Alias, key id and key ARN name the same key: none of them is a change.
    for same in ("alias/plat-ebs", aws["key_id"], aws["key_arn"]):
        again = run(capsys, kms_key_id=same)
        assert again["changed"] is False and again["diff"]["before"] == again["diff"]["after"], same
    assert run(capsys)["changed"] is False


def test_key_change_and_disable_and_check_mode_changes_nothing(aws, capsys):
    run(capsys, kms_key_id="alias/plat-ebs")
    other = aws["kms"].create_key(Description="other")["KeyMetadata"]["Arn"]

    checked = run(capsys, check_mode=True, kms_key_id=other, enabled=False)
    assert checked["changed"] is True and checked["kms_key_arn"] == other
    assert checked["ebs_encryption_by_default"] is False
    assert _state(aws) == (True, aws["key_arn"])

    moved = run(capsys, kms_key_id=other)
    assert moved["changed"] is True and _state(aws) == (True, other)
    assert moved["diff"]["before"]["kms_key_arn"] == aws["key_arn"]

    off = run(capsys, enabled=False)
    assert off["changed"] is True and _state(aws) == (False, other)
    assert run(capsys, enabled=False)["changed"] is False


def test_alias_aws_ebs_resets_to_the_aws_managed_key(aws, capsys):
    run(capsys, kms_key_id="alias/plat-ebs")
    reset = run(capsys, kms_key_id="alias/aws/ebs")
    managed = aws["kms"].describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["Arn"]
    assert reset["changed"] is True and reset["kms_key_arn"] == managed
    assert _state(aws)[1].endswith(":alias/aws/ebs") and _state(aws)[0] is True
    assert run(capsys, kms_key_id="alias/aws/ebs")["changed"] is False


@pytest.mark.parametrize(
    "key",
    ["plat-ebs", "arn:aws:kms:us-east-1:123:key/x", "1234", "alias/bad name", "arn:aws:iam::123456789012:role/x"],
)
def test_malformed_key_fails_before_any_call(capsys, key):
    result = run(capsys, no_aws, kms_key_id=key)
    assert result["rc"] == 1 and "kms_key_id" in result["msg"] and "alias/" in result["msg"], result["msg"]


def test_missing_disabled_or_asymmetric_keys_are_refused_and_nothing_changes(aws, capsys):
    missing = run(capsys, kms_key_id="alias/nosuch-ebs")
    assert missing["rc"] == 1 and "no such KMS key in us-east-1" in missing["msg"]

    disabled = aws["kms"].create_key()["KeyMetadata"]["KeyId"]
    aws["kms"].disable_key(KeyId=disabled)
    refused = run(capsys, kms_key_id=disabled)
    assert refused["rc"] == 1 and "is Disabled" in refused["msg"]

    asymmetric = aws["kms"].create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    refused = run(capsys, kms_key_id=asymmetric)
    assert refused["rc"] == 1 and "asymmetric" in refused["msg"]
    assert _state(aws)[0] is False and _state(aws)[1].endswith(":alias/aws/ebs")


def test_fresh_account_on_aws_compares_the_not_yet_created_managed_key(capsys):
    """Stubber: AWS names alias/aws/ebs before EBS has created that key; asking for it is no change."""
    ec2, kms = dummy_client("ec2", "eu-west-1"), dummy_client("kms", "eu-west-1")
    alias_arn = "arn:aws:kms:eu-west-1:123456789012:alias/aws/ebs"
    not_found = dict(service_error_code="NotFoundException", service_message="Alias not found")
    with Stubber(ec2) as ec2_stub, Stubber(kms) as kms_stub:
        ec2_stub.add_response("get_ebs_encryption_by_default", {"EbsEncryptionByDefault": True}, {})
        ec2_stub.add_response("get_ebs_default_kms_key_id", {"KmsKeyId": alias_arn}, {})
        kms_stub.add_client_error("describe_key", expected_params={"KeyId": alias_arn}, **not_found)
        kms_stub.add_client_error("describe_key", expected_params={"KeyId": "alias/aws/ebs"}, **not_found)
        result = run(capsys, {"ec2": ec2, "kms": kms}.get, region="eu-west-1", kms_key_id="alias/aws/ebs")
        ec2_stub.assert_no_pending_responses()
        kms_stub.assert_no_pending_responses()
    assert result["changed"] is False and result["kms_key_arn"] == "alias/aws/ebs"
