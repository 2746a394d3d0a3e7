"""efs_replication logic, tested with botocore's Stubber.

moto 5.2.5 implements neither EFS replication (Create/Describe/DeleteReplicationConfiguration)
nor PutBackupPolicy, so every AWS answer here is stubbed; Stubber validates each request
and response against the real EFS service model, and fails on any call not queued (so a test that
queues no write proves none is sent).
"""

import datetime
import json
from unittest.mock import patch

import pytest
from botocore.stub import Stubber

from aws_module_harness import dummy_client  # first: puts .collections on sys.path
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import efs_replication
from ansible_collections.llm_saas.platform.plugins.modules import efs_replication as efs_replication_module

FS = "fs-0123456789abcdef0"
DEST_FS = "fs-0fedcba9876543210"
DR_KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DR_TAGS = {"Name": "plat-models", "Role": "dr-copy"}


def params(**overrides):
    destination = overrides.pop("destination", {})
    base = dict(
        file_system_id=FS,
        state="present",
        destination=dict(
            dict(region="us-west-2", file_system_id=None, kms_key_id=DR_KEY, availability_zone_name=None, tags=None),
            **destination,
        ),
        backup_policy="enabled",
        deletion_mode=None,
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


def _wrapped(raw):
    return RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff())


@pytest.fixture
def stubbed():
    raw = dummy_client("efs")
    stub = Stubber(raw)
    with stub:
        yield stub, _wrapped(raw)
    stub.assert_no_pending_responses()


@pytest.fixture
def dest():
    """The destination region's stubbed client: (stub, factory, regions asked for)."""
    raw = dummy_client("efs", "us-west-2")
    stub = Stubber(raw)
    regions = []

    def factory(region):
        regions.append(region)
        return _wrapped(raw)

    with stub:
        yield stub, factory, regions
    stub.assert_no_pending_responses()


def no_destination_client(region):
    raise AssertionError("no client for %s expected" % region)


def _no_replication(stub, fs_id=FS):
    stub.add_client_error(
        "describe_replication_configurations",
        service_error_code="ReplicationNotFound",
        http_status_code=404,
        expected_params={"FileSystemId": fs_id},
    )


def _described(stub, fs_id=FS, **kwargs):
    stub.add_response(
        "describe_replication_configurations", {"Replications": [config(**kwargs)]}, {"FileSystemId": fs_id}
    )


def _tags(stub, tags):
    stub.add_response(
        "list_tags_for_resource",
        {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]},
        {"ResourceId": DEST_FS},
    )


def test_fresh_file_system_gets_backups_and_replication(stubbed):
    stub, client = stubbed
    _no_replication(stub)
    stub.add_response("describe_backup_policy", {"BackupPolicy": {"Status": "DISABLED"}}, {"FileSystemId": FS})
    stub.add_response(
        "put_backup_policy",
        {"BackupPolicy": {"Status": "ENABLING"}},
        {"FileSystemId": FS, "BackupPolicy": {"Status": "ENABLED"}},
    )
    stub.add_response(
        "create_replication_configuration",
        config(status="ENABLING"),
        {"SourceFileSystemId": FS, "Destinations": [{"Region": "us-west-2", "KmsKeyId": DR_KEY}]},
    )
    result = efs_replication.ensure(client, params(), destination_client=no_destination_client)
    assert result["changed"] is True
    assert result["destination_file_system_id"] == DEST_FS
    assert result["role"] == "source" and result["source_file_system_id"] == FS
    assert "destination_tags" not in result
    assert result["diff"]["before"] == {"backup_policy": "disabled", "replication": {}}
    assert result["diff"]["after"]["replication"]["region"] == "us-west-2"
    assert result["diff"]["after"]["replication"]["file_system_id"] == DEST_FS


def test_converged_file_system_is_unchanged(stubbed):
    stub, client = stubbed
    _described(stub)
    stub.add_response("describe_backup_policy", {"BackupPolicy": {"Status": "ENABLED"}}, {"FileSystemId": FS})
    result = efs_replication.ensure(client, params())
    assert result["changed"] is False
    assert result["role"] == "source"
    assert result["diff"]["before"] == result["diff"]["after"]


def test_check_mode_only_reads(stubbed):
    stub, client = stubbed
    _no_replication(stub)
    stub.add_client_error("describe_backup_policy", service_error_code="PolicyNotFound", http_status_code=404)
    result = efs_replication.ensure(client, params(), check_mode=True)
    assert result["changed"] is True
    assert result["replication"] == {}
    assert result["diff"]["after"]["replication"]["status"] == "ENABLING"


def test_other_region_fails_naming_the_field(stubbed):
    stub, client = stubbed
    _described(stub, region="eu-west-1")
    with pytest.raises(
        efs_replication.EfsReplicationError, match=r"^destination\.region cannot change from eu-west-1 to us-west-2"
    ):
        efs_replication.ensure(client, params(backup_policy=None))


def test_absent_deletes_then_is_idempotent(stubbed):
    stub, client = stubbed
    _described(stub)
    stub.add_response("delete_replication_configuration", {}, {"SourceFileSystemId": FS})
    _no_replication(stub)
    first = efs_replication.ensure(client, params(state="absent", backup_policy=None))
    assert first["changed"] is True
    assert first["role"] == "source" and first["source_file_system_id"] == FS
    assert first["diff"]["after"] == {"replication": {}}
    second = efs_replication.ensure(client, params(state="absent", backup_policy=None))
    assert second["changed"] is False
    assert second["role"] is None and second["source_file_system_id"] is None


def test_absent_from_the_destination_deletes_with_the_source_id(stubbed):
    """The failover: called in the DR region with the DR copy's id while the source region is down."""
    stub, client = stubbed
    _described(stub, fs_id=DEST_FS)
    stub.add_response("delete_replication_configuration", {}, {"SourceFileSystemId": FS})
    _no_replication(stub, fs_id=DEST_FS)
    result = efs_replication.ensure(client, params(file_system_id=DEST_FS, state="absent", backup_policy=None))
    assert result["changed"] is True
    assert result["role"] == "destination"
    assert result["source_file_system_id"] == FS
    assert result["diff"]["before"]["replication"]["role"] == "destination"
    assert result["diff"]["before"]["replication"]["source_region"] == "us-east-1"
    assert result["diff"]["after"]["replication"] == {}
    again = efs_replication.ensure(client, params(file_system_id=DEST_FS, state="absent", backup_policy=None))
    assert again["changed"] is False


@pytest.mark.parametrize("mode", ["ALL_CONFIGURATIONS", "LOCAL_CONFIGURATION_ONLY"])
def test_deletion_mode_is_passed_through(stubbed, mode):
    stub, client = stubbed
    _described(stub, fs_id=DEST_FS)
    stub.add_response("delete_replication_configuration", {}, {"SourceFileSystemId": FS, "DeletionMode": mode})
    result = efs_replication.ensure(
        client, params(file_system_id=DEST_FS, state="absent", backup_policy=None, deletion_mode=mode)
    )
    assert result["changed"] is True and result["role"] == "destination"


def test_absent_in_check_mode_sends_nothing(stubbed):
    stub, client = stubbed
    _described(stub, fs_id=DEST_FS)
    result = efs_replication.ensure(
        client,
        params(file_system_id=DEST_FS, state="absent", backup_policy=None, deletion_mode="LOCAL_CONFIGURATION_ONLY"),
        check_mode=True,
    )
    assert result["changed"] is True
    assert result["role"] == "destination" and result["source_file_system_id"] == FS
    assert result["diff"]["after"]["replication"] == {}


def test_absent_while_deleting_sends_nothing(stubbed):
    stub, client = stubbed
    _described(stub, status="DELETING")
    result = efs_replication.ensure(client, params(state="absent", backup_policy=None))
    assert result["changed"] is False


def test_local_only_within_one_region_fails_before_any_change(stubbed):
    stub, client = stubbed
    _described(stub, region="us-east-1")  # source and destination both in us-east-1
    with pytest.raises(
        efs_replication.EfsReplicationError, match=r"^deletion_mode=LOCAL_CONFIGURATION_ONLY .*us-east-1"
    ):
        efs_replication.ensure(client, params(state="absent", deletion_mode="LOCAL_CONFIGURATION_ONLY"))
    # backup_policy=enabled was asked, yet neither DescribeBackupPolicy nor a write was sent.


def test_deletion_mode_with_present_fails_before_any_call(stubbed):
    _stub, client = stubbed
    with pytest.raises(efs_replication.EfsReplicationError, match=r"^deletion_mode .*set state=absent"):
        efs_replication.ensure(client, params(deletion_mode="ALL_CONFIGURATIONS"))


def test_present_on_the_destination_fails_naming_the_source(stubbed):
    stub, client = stubbed
    _described(stub, fs_id=DEST_FS)
    with pytest.raises(
        efs_replication.EfsReplicationError,
        match=r"^file_system_id %s is the destination .* pass file_system_id=%s with region=us-east-1" % (DEST_FS, FS),
    ):
        efs_replication.ensure(client, params(file_system_id=DEST_FS))


def test_destination_tags_are_added_when_missing_or_different_only(stubbed, dest):
    stub, client = stubbed
    dest_stub, factory, regions = dest
    _described(stub)
    _tags(dest_stub, {"Name": "old", "Role": "dr-copy", "kept": "x"})
    dest_stub.add_response(
        "tag_resource", {}, {"ResourceId": DEST_FS, "Tags": [{"Key": "Name", "Value": "plat-models"}]}
    )
    result = efs_replication.ensure(
        client, params(backup_policy=None, destination=dict(tags=DR_TAGS)), destination_client=factory
    )
    assert result["changed"] is True
    assert set(regions) == {"us-west-2"}
    assert result["destination_tags"] == {"Name": "plat-models", "Role": "dr-copy", "kept": "x"}
    assert result["diff"]["before"]["destination_tags"] == {"Name": "old", "Role": "dr-copy"}
    assert result["diff"]["after"]["destination_tags"] == DR_TAGS
    assert result["diff"]["before"]["replication"] == result["diff"]["after"]["replication"]


def test_destination_tags_second_run_changes_nothing(stubbed, dest):
    stub, client = stubbed
    dest_stub, factory, _regions = dest
    _described(stub)
    _tags(dest_stub, dict(DR_TAGS, kept="x"))
    result = efs_replication.ensure(
        client, params(backup_policy=None, destination=dict(tags=DR_TAGS)), destination_client=factory
    )
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"]


def test_destination_tags_in_check_mode_are_reported_not_written(stubbed, dest):
    stub, client = stubbed
    dest_stub, factory, _regions = dest
    _described(stub)
    _tags(dest_stub, {})
    result = efs_replication.ensure(
        client, params(backup_policy=None, destination=dict(tags=DR_TAGS)), check_mode=True, destination_client=factory
    )
    assert result["changed"] is True
    assert result["diff"]["before"]["destination_tags"] == {}
    assert result["destination_tags"] == DR_TAGS


def test_destination_tags_on_a_just_created_replication(stubbed, dest):
    stub, client = stubbed
    dest_stub, factory, regions = dest
    _no_replication(stub)
    stub.add_response(
        "create_replication_configuration",
        config(status="ENABLING"),
        {"SourceFileSystemId": FS, "Destinations": [{"Region": "us-west-2", "KmsKeyId": DR_KEY}]},
    )
    _tags(dest_stub, {})
    dest_stub.add_response(
        "tag_resource",
        {},
        {"ResourceId": DEST_FS, "Tags": [{"Key": "Name", "Value": "plat-models"}, {"Key": "Role", "Value": "dr-copy"}]},
    )
    result = efs_replication.ensure(
        client, params(backup_policy=None, destination=dict(tags=DR_TAGS)), destination_client=factory
    )
    assert result["changed"] is True and result["destination_file_system_id"] == DEST_FS
    assert "us-west-2" in regions
    assert result["destination_tags"] == DR_TAGS


def test_destination_tags_of_a_planned_replication_need_no_destination_call(stubbed):
    stub, client = stubbed
    _no_replication(stub)
    result = efs_replication.ensure(
        client,
        params(backup_policy=None, destination=dict(tags=DR_TAGS)),
        check_mode=True,
        destination_client=no_destination_client,
    )
    assert result["changed"] is True
    assert result["diff"]["after"]["destination_tags"] == DR_TAGS


def test_destination_tags_are_ignored_when_absent(stubbed):
    stub, client = stubbed
    _no_replication(stub)
    result = efs_replication.ensure(
        client,
        params(state="absent", backup_policy=None, destination=dict(tags={"aws:bad": None})),
        destination_client=no_destination_client,
    )
    assert result["changed"] is False and "destination_tags" not in result


@pytest.mark.parametrize(
    "tags, message",
    [
        ({"aws:cloudformation:stack-name": "x"}, r"^destination\.tags key aws:cloudformation:stack-name .*reserved"),
        ({"Name": None}, r"^destination\.tags\.Name must be a string"),
        ({"Name": ["a"]}, r"^destination\.tags\.Name must be a string"),
        ({"Name": "x" * 257}, r"^destination\.tags\.Name is 257 characters long"),
        ({"": "x"}, r"^destination\.tags key '' is not allowed"),
    ],
)
def test_bad_destination_tags_fail_before_any_call(stubbed, tags, message):
    _stub, client = stubbed
    with pytest.raises(efs_replication.EfsReplicationError, match=message):
        efs_replication.ensure(client, params(destination=dict(tags=tags)), destination_client=no_destination_client)


def test_numbers_in_destination_tags_become_strings(stubbed, dest):
    stub, client = stubbed
    dest_stub, factory, _regions = dest
    _described(stub)
    _tags(dest_stub, {"cost-centre": "42"})
    result = efs_replication.ensure(
        client, params(backup_policy=None, destination=dict(tags={"cost-centre": 42})), destination_client=factory
    )
    assert result["changed"] is False


def _run_module(capsys, clients, **args):
    """main() in process; AnsibleAWSModule.client returns clients[region] (the module's region: us-east-1)."""
    asked = []

    def client(service, **kwargs):
        asked.append((service, kwargs.get("region"), kwargs.get("retry_decorator")))
        raw = clients[kwargs.get("region", "us-east-1")]
        return RetryingBotoClientWrapper(raw, kwargs["retry_decorator"])

    module_args = dict(region="us-east-1", _ansible_check_mode=False, _ansible_diff=True, **args)
    with (
        patch_module_args(module_args),
        patch.object(AnsibleAWSModule, "client", side_effect=client),
        pytest.raises(SystemExit) as exit_info,
    ):
        efs_replication_module.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exit_info.value.code
    return result, asked


def test_module_tags_the_destination_through_a_client_of_its_region(capsys):
    source, destination = dummy_client("efs"), dummy_client("efs", "us-west-2")
    source_stub, dest_stub = Stubber(source), Stubber(destination)
    _described(source_stub)
    _tags(dest_stub, {})
    dest_stub.add_response("tag_resource", {}, {"ResourceId": DEST_FS, "Tags": [{"Key": "Name", "Value": "m"}]})
    with source_stub, dest_stub:
        result, asked = _run_module(
            capsys,
            {"us-east-1": source, "us-west-2": destination},
            file_system_id=FS,
            destination=dict(region="us-west-2", tags={"Name": "m"}),
        )
    source_stub.assert_no_pending_responses()
    dest_stub.assert_no_pending_responses()
    assert result["rc"] == 0 and result["changed"] is True, result
    assert result["role"] == "source" and result["destination_tags"] == {"Name": "m"}
    assert [(service, region) for service, region, _retry in asked] == [("efs", None), ("efs", "us-west-2")]
    assert all(retry is not None for _service, _region, retry in asked)


def test_module_failover_deletes_from_the_destination_region(capsys):
    dr = dummy_client("efs", "us-west-2")
    stub = Stubber(dr)
    _described(stub, fs_id=DEST_FS)
    stub.add_response(
        "delete_replication_configuration", {}, {"SourceFileSystemId": FS, "DeletionMode": "LOCAL_CONFIGURATION_ONLY"}
    )
    with stub:
        result, asked = _run_module(
            capsys,
            {"us-east-1": dr},  # the module's own client: region us-west-2 in a real run
            file_system_id=DEST_FS,
            state="absent",
            deletion_mode="LOCAL_CONFIGURATION_ONLY",
        )
    stub.assert_no_pending_responses()
    assert result["rc"] == 0 and result["changed"] is True, result
    assert result["role"] == "destination" and result["source_file_system_id"] == FS
    assert len(asked) == 1


def test_module_reports_bad_input_naming_the_field(capsys):
    silent = dummy_client("efs")
    with Stubber(silent):  # nothing queued: any call would fail the run differently
        result, _asked = _run_module(
            capsys, {"us-east-1": silent}, file_system_id=FS, destination=dict(region="us-west-2"),
            deletion_mode="ALL_CONFIGURATIONS",
        )
    assert result["rc"] == 1 and result["msg"].startswith("deletion_mode only applies"), result
    assert result.get("changed", False) is False
