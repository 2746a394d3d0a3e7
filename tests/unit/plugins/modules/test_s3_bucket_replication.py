"""s3_bucket_replication logic.

Against moto where it keeps what we send; moto 5.2.5's GetBucketReplication always
answers DeleteMarkerReplication=Disabled and drops SourceSelectionCriteria, so the
full-fidelity round trip (delete markers + SSE-KMS objects) is tested with botocore's
Stubber, which validates every request and response against the real S3 model.
"""

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from aws_module_harness import dummy_client  # first: puts .collections on sys.path
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import s3_replication

ROLE = "arn:aws:iam::123456789012:role/replication"
KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
def s3():
    with mock_aws():
        raw = dummy_client("s3")
        for name, region in (("src", "us-east-1"), ("dst", "us-west-2")):
            kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            raw.create_bucket(Bucket=name, **kwargs)
            raw.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        yield raw, RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff())


def params(full=False, **overrides):
    base = dict(
        bucket="src",
        state="present",
        role=ROLE,
        rules=[
            dict(
                id="dr",
                priority=None,
                status="enabled",
                prefix="",
                delete_marker_replication=full,
                sse_kms_encrypted_objects=full,
                replica_modifications=False,
                replication_time_control=False,
                destination=dict(
                    bucket="dst",
                    storage_class="STANDARD_IA",
                    replica_kms_key_id=KEY,
                    account=None,
                    owner_override=False,
                ),
            )
        ],
    )
    base.update(overrides)
    return base


def test_creates_configuration_then_is_idempotent(s3):
    raw, client = s3
    first = s3_replication.ensure(client, params())
    assert first["changed"] is True
    stored = raw.get_bucket_replication(Bucket="src")["ReplicationConfiguration"]
    assert stored["Role"] == ROLE
    (rule,) = stored["Rules"]
    assert rule["ID"] == "dr"
    assert rule["Priority"] == 1
    assert rule["Destination"]["Bucket"] == "arn:aws:s3:::dst"
    assert rule["Destination"]["EncryptionConfiguration"] == {"ReplicaKmsKeyID": KEY}

    second = s3_replication.ensure(client, params())
    assert second["changed"] is False
    assert second["replication_configuration"]["rules"][0]["destination"]["bucket"] == "arn:aws:s3:::dst"


def test_check_mode_reports_change_without_writing(s3):
    raw, client = s3
    result = s3_replication.ensure(client, params(), check_mode=True)
    assert result["changed"] is True
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["rules"][0]["id"] == "dr"
    with pytest.raises(raw.exceptions.ClientError) as err:
        raw.get_bucket_replication(Bucket="src")
    assert err.value.response["Error"]["Code"] == "ReplicationConfigurationNotFoundError"


def test_changed_destination_is_updated_with_diff(s3):
    raw, client = s3
    s3_replication.ensure(client, params())
    changed = params()
    changed["rules"][0]["destination"]["storage_class"] = "GLACIER_IR"
    result = s3_replication.ensure(client, changed)
    assert result["changed"] is True
    assert result["diff"]["before"]["rules"][0]["destination"]["storage_class"] == "STANDARD_IA"
    assert result["diff"]["after"]["rules"][0]["destination"]["storage_class"] == "GLACIER_IR"
    stored = raw.get_bucket_replication(Bucket="src")["ReplicationConfiguration"]
    assert stored["Rules"][0]["Destination"]["StorageClass"] == "GLACIER_IR"


def test_absent_removes_and_is_idempotent(s3):
    raw, client = s3
    s3_replication.ensure(client, params())
    assert s3_replication.ensure(client, params(state="absent"), check_mode=True)["changed"] is True
    assert raw.get_bucket_replication(Bucket="src")["ReplicationConfiguration"]["Rules"]
    assert s3_replication.ensure(client, params(state="absent"))["changed"] is True
    assert s3_replication.ensure(client, params(state="absent"))["changed"] is False


def test_kms_objects_without_replica_key_names_the_field(s3):
    _, client = s3
    bad = params(full=True)
    bad["rules"][0]["destination"]["replica_kms_key_id"] = None
    with pytest.raises(s3_replication.ReplicationError, match=r"rules\[0\]\.destination\.replica_kms_key_id"):
        s3_replication.ensure(client, bad)


def test_duplicate_rule_ids_are_rejected_before_any_call():
    rules = params()["rules"] * 2
    with pytest.raises(s3_replication.ReplicationError, match=r"rules\[\]\.id must be unique; duplicated: dr"):
        s3_replication.build_configuration(params(rules=rules))


def test_normalize_reads_legacy_v1_prefix_rules():
    legacy = {
        "Role": ROLE,
        "Rules": [
            {
                "ID": "a",
                "Prefix": "models/",
                "Status": "Enabled",
                "Priority": 1,
                "Destination": {"Bucket": "arn:aws:s3:::dst"},
            }
        ],
    }
    normalized = s3_replication.normalize(legacy)
    assert normalized["Rules"][0]["Filter"] == {"Prefix": "models/"}
    assert normalized["Rules"][0]["DeleteMarkerReplication"] == {"Status": "Disabled"}


def _stubbed():
    client = dummy_client("s3")
    return client, Stubber(client)


def test_full_rule_round_trip_is_idempotent_against_the_real_model():
    client, stub = _stubbed()
    desired = s3_replication.build_configuration(params(full=True))
    # What S3 really answers: the rule as stored, plus nothing we do not manage.
    stub.add_response("get_bucket_replication", {"ReplicationConfiguration": desired}, {"Bucket": "src"})
    with stub:
        result = s3_replication.ensure(
            RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff()), params(full=True)
        )
    stub.assert_no_pending_responses()
    assert result["changed"] is False
    rule = result["replication_configuration"]["rules"][0]
    assert rule["delete_marker_replication"] == {"status": "Enabled"}
    assert rule["source_selection_criteria"] == {"sse_kms_encrypted_objects": {"status": "Enabled"}}


def test_full_rule_is_sent_as_the_real_model_expects():
    client, stub = _stubbed()
    desired = s3_replication.build_configuration(params(full=True))
    stub.add_client_error(
        "get_bucket_replication", service_error_code="ReplicationConfigurationNotFoundError", http_status_code=404
    )
    stub.add_response("put_bucket_replication", {}, {"Bucket": "src", "ReplicationConfiguration": desired})
    with stub:
        result = s3_replication.ensure(
            RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff()), params(full=True)
        )
    stub.assert_no_pending_responses()
    assert result["changed"] is True
    sent = desired["Rules"][0]
    assert sent["DeleteMarkerReplication"] == {"Status": "Enabled"}
    assert sent["Destination"]["EncryptionConfiguration"] == {"ReplicaKmsKeyID": KEY}
