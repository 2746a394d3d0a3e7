"""efs_replication logic, tested with botocore's Stubber.

moto 5.2.5 implements neither EFS replication (Create/Describe/DeleteReplicationConfiguration)
nor PutBackupPolicy, so every AWS answer here is stubbed; Stubber validates each request
and response against the real EFS service model.
"""

import datetime

import pytest
from botocore.stub import Stubber

from aws_module_harness import dummy_client  # first: puts .collections on sys.path
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import efs_replication

FS = "fs-0123456789abcdef0"
DEST_FS = "fs-0fedcba9876543210"
DR_KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def params(**overrides):
    base = dict(
        file_system_id=FS,
        state="present",
        destination=dict(region="us-west-2", file_system_id=None, kms_key_id=DR_KEY, availability_zone_name=None),
        backup_policy="enabled",
    )
    base.update(overrides)
    return base


def config(region="us-west-2", status="ENABLED"):
    return {
        "SourceFileSystemId": FS,
        "SourceFileSystemRegion": "us-east-1",
        "SourceFileSystemArn": "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/" + FS,
        "OriginalSourceFileSystemArn": "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/" + FS,
        "CreationTime": datetime.datetime(2025, 1, 1),
        "Destinations": [{"Status": status, "FileSystemId": DEST_FS, "Region": region}],
    }


@pytest.fixture
def stubbed():
    raw = dummy_client("efs")
    stub = Stubber(raw)
    with stub:
        yield stub, RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff())
    stub.assert_no_pending_responses()


def _no_replication(stub):
    stub.add_client_error(
        "describe_replication_configurations",
        service_error_code="ReplicationNotFound",
        http_status_code=404,
        expected_params={"FileSystemId": FS},
    )


def test_fresh_file_system_gets_backups_and_replication(stubbed):
    stub, client = stubbed
    stub.add_response("describe_backup_policy", {"BackupPolicy": {"Status": "DISABLED"}}, {"FileSystemId": FS})
    stub.add_response(
        "put_backup_policy",
        {"BackupPolicy": {"Status": "ENABLING"}},
        {"FileSystemId": FS, "BackupPolicy": {"Status": "ENABLED"}},
    )
    _no_replication(stub)
    stub.add_response(
        "create_replication_configuration",
        config(status="ENABLING"),
        {"SourceFileSystemId": FS, "Destinations": [{"Region": "us-west-2", "KmsKeyId": DR_KEY}]},
    )
    result = efs_replication.ensure(client, params())
    assert result["changed"] is True
    assert result["destination_file_system_id"] == DEST_FS
    assert result["diff"]["before"] == {"backup_policy": "disabled", "replication": {}}
    assert result["diff"]["after"]["replication"]["region"] == "us-west-2"


def test_converged_file_system_is_unchanged(stubbed):
    stub, client = stubbed
    stub.add_response("describe_backup_policy", {"BackupPolicy": {"Status": "ENABLED"}}, {"FileSystemId": FS})
    stub.add_response("describe_replication_configurations", {"Replications": [config()]}, {"FileSystemId": FS})
    result = efs_replication.ensure(client, params())
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"]


def test_check_mode_only_reads(stubbed):
    stub, client = stubbed
    stub.add_client_error("describe_backup_policy", service_error_code="PolicyNotFound", http_status_code=404)
    _no_replication(stub)
    result = efs_replication.ensure(client, params(), check_mode=True)
    assert result["changed"] is True
    assert result["replication"] == {}


def test_other_region_fails_naming_the_field(stubbed):
    stub, client = stubbed
    stub.add_response(
        "describe_replication_configurations", {"Replications": [config(region="eu-west-1")]}, {"FileSystemId": FS}
    )
    with pytest.raises(
        efs_replication.EfsReplicationError, match=r"^destination\.region cannot change from eu-west-1 to us-west-2"
    ):
        efs_replication.ensure(client, params(backup_policy=None))


def test_absent_deletes_then_is_idempotent(stubbed):
    stub, client = stubbed
    stub.add_response("describe_replication_configurations", {"Replications": [config()]}, {"FileSystemId": FS})
    stub.add_response("delete_replication_configuration", {}, {"SourceFileSystemId": FS})
    _no_replication(stub)
    assert efs_replication.ensure(client, params(state="absent", backup_policy=None))["changed"] is True
    assert efs_replication.ensure(client, params(state="absent", backup_policy=None))["changed"] is False
