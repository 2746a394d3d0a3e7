"""Audit baseline against moto (served over TLS): CloudTrail, audit bucket, KMS, AWS Config, GuardDuty,
Security Hub, and tenant audit records.

Runs playbooks/security.yml against a moto server of this test's own (one Config recorder per account and
region: a shared server would mix other tests' state into the assertions), three times: converge,
re-run (changed=0), check mode with --diff (changed=0). Then reads every setting back with boto3.
moto has the Security Hub hub but not its standards API, so on the emulator the role enables the hub and
leaves the standards alone (security_baseline_securityhub_skip_standards, docs/emulator-gaps/security.md);
the standards are proven by tests/unit/plugins/modules/test_securityhub_standards.py (botocore Stubber).
"""

from __future__ import annotations

import json

import boto3
import pytest
from platform_helpers import REPO, recap, run_playbook
from private_moto import private_moto, self_signed_certificate

PLAYBOOK = REPO / "playbooks" / "security.yml"
BUCKET = "llm-saas-local-audit-logs"
AUDIT_PLAYBOOK = """\
- name: Tenant lifecycle audit record
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  module_defaults:
    group/aws:
      endpoint_url: "{{ lookup('ansible.builtin.env', 'AWS_ENDPOINT_URL') }}"
      region: us-east-1
  tasks:
    - name: Record
      ansible.builtin.include_role:
        name: llm_saas.platform.security_baseline
        tasks_from: audit_record
      vars:
        security_baseline_bucket: %s
"""


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory):
    """moto over HTTPS, as the audit bucket's TLS-only policy demands of every client."""
    cert_file, key_file = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    with private_moto(cert_file, key_file) as endpoint:
        yield endpoint, str(cert_file)


@pytest.fixture(scope="module")
def env(moto_endpoint):
    endpoint, ca_bundle = moto_endpoint
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_CA_BUNDLE": ca_bundle,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "USER": "auditor-under-test",
    }


@pytest.fixture(scope="module")
def converged(env):
    first = run_playbook(PLAYBOOK, env=env)
    assert first.returncode == 0, first.stdout[-4000:]
    second = run_playbook(PLAYBOOK, env=env)
    checked = run_playbook(PLAYBOOK, "--check", "--diff", env=env)
    return first, second, checked


def _client(service, env):
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        verify=env["AWS_CA_BUNDLE"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_rerun_and_check_mode_change_nothing(converged):
    first, second, checked = converged
    assert recap(first.stdout)["controller"]["changed"] >= 8
    assert second.returncode == 0, second.stdout[-4000:]
    assert recap(second.stdout)["controller"]["changed"] == 0
    assert checked.returncode == 0, checked.stdout[-4000:]
    assert recap(checked.stdout)["controller"]["changed"] == 0


def test_kms_key_rotates(converged, env):
    kms = _client("kms", env)
    alias = next(a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/llm-saas-local-audit")
    assert kms.get_key_rotation_status(KeyId=alias["TargetKeyId"])["KeyRotationEnabled"] is True
    policy = json.loads(kms.get_key_policy(KeyId=alias["TargetKeyId"], PolicyName="default")["Policy"])
    principals = {json.dumps(s["Principal"]) for s in policy["Statement"]}
    assert any("cloudtrail.amazonaws.com" in p for p in principals) and any(
        "config.amazonaws.com" in p for p in principals
    )


def test_audit_bucket_is_encrypted_private_tls_only_with_lifecycle(converged, env):
    s3, kms = _client("s3", env), _client("kms", env)
    key_arn = kms.describe_key(KeyId="alias/llm-saas-local-audit")["KeyMetadata"]["Arn"]
    rule = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert len(lifecycle) == 1 and lifecycle[0]["Status"] == "Enabled"
    assert lifecycle[0]["Transitions"][0]["Days"] == 90 and lifecycle[0]["Transitions"][0]["StorageClass"] == "GLACIER"
    assert lifecycle[0]["Expiration"]["Days"] == 2557
    assert lifecycle[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30


def test_cloudtrail_multi_region_validated_kms(converged, env):
    ct, kms = _client("cloudtrail", env), _client("kms", env)
    trail = ct.get_trail(Name="llm-saas-local-trail")["Trail"]
    assert trail["IsMultiRegionTrail"] is True
    assert trail["IncludeGlobalServiceEvents"] is True
    assert trail["LogFileValidationEnabled"] is True
    assert trail["S3BucketName"] == BUCKET
    assert trail["KmsKeyId"] == kms.describe_key(KeyId="alias/llm-saas-local-audit")["KeyMetadata"]["Arn"]
    assert ct.get_trail_status(Name="llm-saas-local-trail")["IsLogging"] is True


def test_aws_config_records_everything_into_the_audit_bucket(converged, env):
    config = _client("config", env)
    recorder = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert len(recorder) == 1
    assert recorder[0]["roleARN"].endswith(":role/llm-saas-local-aws-config")
    assert recorder[0]["recordingGroup"]["allSupported"] is True
    assert recorder[0]["recordingGroup"]["includeGlobalResourceTypes"] is True
    channel = config.describe_delivery_channels()["DeliveryChannels"][0]
    assert channel["s3BucketName"] == BUCKET and channel["s3KeyPrefix"] == "config"
    assert channel["configSnapshotDeliveryProperties"]["deliveryFrequency"] == "TwentyFour_Hours"
    status = config.describe_configuration_recorder_status(ConfigurationRecorderNames=[recorder[0]["name"]])
    assert status["ConfigurationRecordersStatus"][0]["recording"] is True
    iam = _client("iam", env)
    attached = iam.list_attached_role_policies(RoleName="llm-saas-local-aws-config")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"]


def test_guardduty_watches_eks_audit_logs_and_runtime(converged, env):
    guardduty = _client("guardduty", env)
    (detector_id,) = guardduty.list_detectors()["DetectorIds"]
    detector = guardduty.get_detector(DetectorId=detector_id)
    assert detector["Status"] == "ENABLED"
    assert detector["FindingPublishingFrequency"] == "FIFTEEN_MINUTES"
    features = {f["Name"]: f for f in detector["Features"]}
    assert features["EKS_AUDIT_LOGS"]["Status"] == "ENABLED"
    assert features["RUNTIME_MONITORING"]["Status"] == "ENABLED"
    assert {a["Name"]: a["Status"] for a in features["RUNTIME_MONITORING"]["AdditionalConfiguration"]} == {
        "EKS_ADDON_MANAGEMENT": "ENABLED"
    }
    assert detector["Tags"]["Name"] == "llm-saas-local-guardduty"


def test_security_hub_is_enabled(converged, env):
    hub = _client("securityhub", env).describe_hub()
    assert hub["HubArn"].endswith(":hub/default")


@pytest.fixture(scope="module")
def writable_bucket(converged, env):
    """moto 5.2 evaluates a Deny statement whose Condition does not hold as a deny (IAMPolicyStatement
    returns DENIED when _check_conditions fails, whatever the Effect), so the TLS-only statement refuses
    every object request even over HTTPS. The bucket policy is proven above; here it is lifted so the
    records can be written and read back on the emulator."""
    _client("s3", env).delete_bucket_policy(Bucket=BUCKET)


@pytest.mark.parametrize("action", ["onboard", "change", "offboard", "export"])
def test_tenant_audit_record_lands_in_the_audit_bucket(writable_bucket, env, tmp_path, action):
    playbook = tmp_path / "audit.yml"
    playbook.write_text(AUDIT_PLAYBOOK % BUCKET)
    extra = {
        "audit_action": action,
        "audit_tenant": "acme",
        "audit_result": "success",
        "audit_details": {"tier": "standard"},
        "awx_job_id": 4242,
        "awx_user_name": "alice",
    }
    proc = run_playbook(playbook, extra_vars=extra, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    # Writing the log of a run is not a change of managed state.
    assert recap(proc.stdout)["localhost"]["changed"] == 0
    s3 = _client("s3", env)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="tenant-audit/tenant=acme/")["Contents"]]
    mine = [k for k in keys if k.endswith("-%s.json" % action)]
    assert len(mine) == 1, keys
    assert "/year=" in mine[0] and "/month=" in mine[0] and "/day=" in mine[0]
    obj = s3.get_object(Bucket=BUCKET, Key=mine[0])
    record = json.loads(obj["Body"].read())
    assert record["who"] == "alice" and record["via"] == "awx" and record["job_id"] == "4242"
    assert record["what"] == action and record["tenant"] == "acme" and record["result"] == "success"
    assert record["when"].endswith("Z") and record["when"][:4].isdigit()
    assert record["details"] == {"tier": "standard"}
    assert record["schema"] == "llm-saas.io/tenant-audit/v1"


def test_audit_record_who_falls_back_to_the_os_user(writable_bucket, env, tmp_path):
    playbook = tmp_path / "audit.yml"
    playbook.write_text(AUDIT_PLAYBOOK % BUCKET)
    extra = {"audit_action": "change", "audit_tenant": "globex", "audit_result": "failure"}
    proc = run_playbook(playbook, extra_vars=extra, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    s3 = _client("s3", env)
    key = s3.list_objects_v2(Bucket=BUCKET, Prefix="tenant-audit/tenant=globex/")["Contents"][0]["Key"]
    record = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert (
        record["who"] == "auditor-under-test" and record["via"] == "ansible-playbook" and record["result"] == "failure"
    )


def test_audit_record_refuses_unknown_action(env, tmp_path):
    playbook = tmp_path / "audit.yml"
    playbook.write_text(AUDIT_PLAYBOOK % BUCKET)
    proc = run_playbook(
        playbook, extra_vars={"audit_action": "delete", "audit_tenant": "acme", "audit_result": "success"}, env=env
    )
    assert proc.returncode != 0
    assert "audit_action" in proc.stdout and "onboard" in proc.stdout
