"""The local platform's moto answers the EFS calls the model store needs and moto 5.2.5 lacks
(tests/local_platform/moto_tls_server.py: add_efs_replication_and_backup_policy), over HTTPS
through the server's own routing, as AWS answers them."""

from __future__ import annotations

import sys
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent))

from private_moto import private_moto, self_signed_certificate  # noqa: E402


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    cert_file, key_file = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    with private_moto(cert_file, key_file, launcher=_HERE / "moto_tls_server.py") as endpoint:

        def make(service: str, region: str = "us-east-1"):
            return boto3.client(service, region_name=region, endpoint_url=endpoint, verify=str(cert_file),
                                aws_access_key_id="testing", aws_secret_access_key="testing")

        yield make


def _code(error: pytest.ExceptionInfo) -> str:
    return error.value.response["Error"]["Code"]


def test_deprecated_tag_calls_and_backup_policy(client):
    efs = client("efs")
    tags = [{"Key": "Name", "Value": "store"}, {"Key": "team", "Value": "a"}]
    fs_id = efs.create_file_system(CreationToken="tags", Encrypted=True, Tags=tags)["FileSystemId"]
    efs.create_tags(FileSystemId=fs_id, Tags=[{"Key": "cost", "Value": "x"}])
    efs.delete_tags(FileSystemId=fs_id, TagKeys=["team"])
    first = efs.describe_tags(FileSystemId=fs_id, MaxItems=1)
    rest = efs.describe_tags(FileSystemId=fs_id, Marker=first["NextMarker"])
    assert {t["Key"]: t["Value"] for t in first["Tags"] + rest["Tags"]} == {"Name": "store", "cost": "x"}
    assert "NextMarker" not in rest
    with pytest.raises(ClientError) as missing:
        efs.describe_tags(FileSystemId="fs-00000000")
    assert _code(missing) == "FileSystemNotFound"

    with pytest.raises(ClientError) as none_yet:
        efs.describe_backup_policy(FileSystemId=fs_id)
    assert _code(none_yet) == "PolicyNotFound"
    put = efs.put_backup_policy(FileSystemId=fs_id, BackupPolicy={"Status": "ENABLED"})
    assert put["BackupPolicy"] == {"Status": "ENABLED"}
    assert efs.describe_backup_policy(FileSystemId=fs_id)["BackupPolicy"]["Status"] == "ENABLED"
    efs.put_backup_policy(FileSystemId=fs_id, BackupPolicy={"Status": "DISABLED"})
    assert efs.describe_backup_policy(FileSystemId=fs_id)["BackupPolicy"]["Status"] == "DISABLED"
    with pytest.raises(ClientError) as transitional:
        efs.put_backup_policy(FileSystemId=fs_id, BackupPolicy={"Status": "ENABLING"})
    assert _code(transitional) == "ValidationException"


def test_replication_to_another_region_lifecycle(client):
    efs, dr_efs, dr_kms = client("efs"), client("efs", "us-west-2"), client("kms", "us-west-2")
    key = dr_kms.create_key(Description="dr")["KeyMetadata"]
    dr_kms.create_alias(AliasName="alias/dr-data", TargetKeyId=key["KeyId"])
    fs_id = efs.create_file_system(CreationToken="replicated", Encrypted=True)["FileSystemId"]

    with pytest.raises(ClientError) as bad_key:
        efs.create_replication_configuration(SourceFileSystemId=fs_id,
                                             Destinations=[{"Region": "us-west-2", "KmsKeyId": "alias/nope"}])
    assert _code(bad_key) == "BadRequest"

    created = efs.create_replication_configuration(
        SourceFileSystemId=fs_id, Destinations=[{"Region": "us-west-2", "KmsKeyId": "alias/dr-data"}])
    assert created["Destinations"][0]["Status"] == "ENABLING"
    dest_id = created["Destinations"][0]["FileSystemId"]
    dest = dr_efs.describe_file_systems(FileSystemId=dest_id)["FileSystems"][0]
    assert dest["Encrypted"] is True and dest["KmsKeyId"] == key["Arn"]
    assert dest["FileSystemProtection"]["ReplicationOverwriteProtection"] == "REPLICATING"
    assert dr_efs.describe_backup_policy(FileSystemId=dest_id)["BackupPolicy"]["Status"] == "ENABLED"
    # Either side of the pair describes the same configuration.
    for side, side_id in ((efs, fs_id), (dr_efs, dest_id)):
        (config,) = side.describe_replication_configurations(FileSystemId=side_id)["Replications"]
        assert config["SourceFileSystemId"] == fs_id and config["SourceFileSystemRegion"] == "us-east-1"
        assert config["Destinations"] == [{"Status": "ENABLED", "FileSystemId": dest_id, "Region": "us-west-2"}]

    with pytest.raises(ClientError) as twice:
        efs.create_replication_configuration(SourceFileSystemId=fs_id, Destinations=[{"Region": "us-west-2"}])
    assert _code(twice) == "ValidationException"
    for side, side_id in ((efs, fs_id), (dr_efs, dest_id)):
        with pytest.raises(ClientError) as in_use:
            side.delete_file_system(FileSystemId=side_id)
        assert _code(in_use) == "FileSystemInUse"

    efs.delete_replication_configuration(SourceFileSystemId=fs_id)
    assert _protection(dr_efs, dest_id) == "ENABLED"
    with pytest.raises(ClientError) as gone:
        efs.describe_replication_configurations(FileSystemId=fs_id)
    assert _code(gone) == "ReplicationNotFound"
    with pytest.raises(ClientError) as again:
        efs.delete_replication_configuration(SourceFileSystemId=fs_id)
    assert _code(again) == "ReplicationNotFound"
    efs.delete_file_system(FileSystemId=fs_id)
    dr_efs.delete_file_system(FileSystemId=dest_id)
    left = [fs["FileSystemId"] for side in (efs, dr_efs) for fs in side.describe_file_systems()["FileSystems"]]
    assert fs_id not in left and dest_id not in left


def _replicated(efs, token: str, region: str = "us-west-2") -> tuple[str, str]:
    fs_id = efs.create_file_system(CreationToken=token, Encrypted=True)["FileSystemId"]
    created = efs.create_replication_configuration(SourceFileSystemId=fs_id, Destinations=[{"Region": region}])
    return fs_id, created["Destinations"][0]["FileSystemId"]


def _protection(efs, fs_id: str) -> str:
    return efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]["FileSystemProtection"][
        "ReplicationOverwriteProtection"]


def test_failover_deletes_the_replication_from_the_destination_region(client):
    """The DR failover ends the replication in the DR region alone, with the source's id."""
    efs, dr_efs = client("efs"), client("efs", "us-west-2")
    fs_id, dest_id = _replicated(efs, "failover")
    # EFS creates the copy untagged; the module tags it through the current tag API in its region.
    assert dr_efs.list_tags_for_resource(ResourceId=dest_id)["Tags"] == []
    dr_efs.tag_resource(ResourceId=dest_id, Tags=[{"Key": "Name", "Value": "store-dr"}])
    assert dr_efs.list_tags_for_resource(ResourceId=dest_id)["Tags"] == [{"Key": "Name", "Value": "store-dr"}]
    assert _protection(dr_efs, dest_id) == "REPLICATING"

    with pytest.raises(ClientError) as unknown:
        dr_efs.delete_replication_configuration(SourceFileSystemId="fs-00000000")
    assert _code(unknown) == "FileSystemNotFound"

    dr_efs.delete_replication_configuration(SourceFileSystemId=fs_id)
    assert _protection(dr_efs, dest_id) == "ENABLED"
    for side, side_id in ((dr_efs, dest_id), (efs, fs_id)):
        with pytest.raises(ClientError) as gone:
            side.describe_replication_configurations(FileSystemId=side_id)
        assert _code(gone) == "ReplicationNotFound"
    with pytest.raises(ClientError) as again:
        dr_efs.delete_replication_configuration(SourceFileSystemId=fs_id)
    assert _code(again) == "ReplicationNotFound"
    # Neither side is in a replication any more.
    efs.delete_file_system(FileSystemId=fs_id)
    dr_efs.delete_file_system(FileSystemId=dest_id)


def test_local_configuration_only_deletes_the_calling_side(client):
    efs, dr_efs = client("efs"), client("efs", "us-west-2")
    fs_id, dest_id = _replicated(efs, "local-only")

    dr_efs.delete_replication_configuration(SourceFileSystemId=fs_id, DeletionMode="LOCAL_CONFIGURATION_ONLY")
    assert _protection(dr_efs, dest_id) == "ENABLED"
    with pytest.raises(ClientError) as gone_here:
        dr_efs.describe_replication_configurations(FileSystemId=dest_id)
    assert _code(gone_here) == "ReplicationNotFound"
    # The source region's side is left, as AWS leaves it, until deleted there.
    (left,) = efs.describe_replication_configurations(FileSystemId=fs_id)["Replications"]
    assert left["Destinations"][0]["FileSystemId"] == dest_id
    with pytest.raises(ClientError) as in_use:
        efs.delete_file_system(FileSystemId=fs_id)
    assert _code(in_use) == "FileSystemInUse"
    dr_efs.delete_file_system(FileSystemId=dest_id)

    efs.delete_replication_configuration(SourceFileSystemId=fs_id, DeletionMode="ALL_CONFIGURATIONS")
    with pytest.raises(ClientError) as gone:
        efs.describe_replication_configurations(FileSystemId=fs_id)
    assert _code(gone) == "ReplicationNotFound"
    efs.delete_file_system(FileSystemId=fs_id)


def test_local_configuration_only_from_the_source_leaves_the_destination_read_only(client):
    efs, dr_efs = client("efs"), client("efs", "us-west-2")
    fs_id, dest_id = _replicated(efs, "local-only-source")

    efs.delete_replication_configuration(SourceFileSystemId=fs_id, DeletionMode="LOCAL_CONFIGURATION_ONLY")
    with pytest.raises(ClientError) as gone_here:
        efs.describe_replication_configurations(FileSystemId=fs_id)
    assert _code(gone_here) == "ReplicationNotFound"
    assert _protection(dr_efs, dest_id) == "REPLICATING"
    (left,) = dr_efs.describe_replication_configurations(FileSystemId=dest_id)["Replications"]
    assert left["SourceFileSystemId"] == fs_id
    efs.delete_file_system(FileSystemId=fs_id)

    # The source is gone, yet its id still names the destination's side.
    dr_efs.delete_replication_configuration(SourceFileSystemId=fs_id)
    assert _protection(dr_efs, dest_id) == "ENABLED"
    dr_efs.delete_file_system(FileSystemId=dest_id)


def test_local_configuration_only_within_one_region_is_a_bad_request(client):
    efs = client("efs")
    fs_id, dest_id = _replicated(efs, "same-region", region="us-east-1")

    with pytest.raises(ClientError) as refused:
        efs.delete_replication_configuration(SourceFileSystemId=fs_id, DeletionMode="LOCAL_CONFIGURATION_ONLY")
    assert _code(refused) == "BadRequest"
    assert _protection(efs, dest_id) == "REPLICATING"
    with pytest.raises(ClientError) as unknown_mode:
        efs.delete_replication_configuration(SourceFileSystemId=fs_id, DeletionMode="SOME")
    assert _code(unknown_mode) == "ValidationException"

    efs.delete_replication_configuration(SourceFileSystemId=fs_id)
    assert _protection(efs, dest_id) == "ENABLED"
    for side_id in (fs_id, dest_id):
        efs.delete_file_system(FileSystemId=side_id)
