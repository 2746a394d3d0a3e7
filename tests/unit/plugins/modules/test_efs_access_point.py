"""Unit tests of llm_saas.platform.efs_access_point on moto in process (moto 5.2.5 implements
Create/Describe/DeleteAccessPoint and TagResource/UntagResource); the wait on an access point still
"creating" runs against botocore's Stubber, since moto creates them available."""

from __future__ import annotations

from functools import partial

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from aws_module_harness import dummy_client, no_aws, run_aws_module  # first: puts .collections on sys.path
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import efs_access_point

RETRY = efs_access_point.RETRY
REGION = "us-east-1"
NAME = "plat-model-store"
USER = {"uid": 1000, "gid": 1000}
ROOT = {"path": "/models", "creation_info": {"owner_uid": 1000, "owner_gid": 1000, "permissions": "750"}}


run = partial(
    run_aws_module, efs_access_point.main, region=REGION, wrap=lambda client: RetryingBotoClientWrapper(client, RETRY)
)


@pytest.fixture
def fs_id():
    with mock_aws():
        yield dummy_client("efs", REGION).create_file_system(CreationToken="store", Encrypted=True)["FileSystemId"]


def _points(fs_id):
    return dummy_client("efs", REGION).describe_access_points(FileSystemId=fs_id)["AccessPoints"]


def test_creates_once_then_changes_nothing_and_check_mode_writes_nothing(fs_id, capsys):
    base = dict(file_system_id=fs_id, name=NAME, posix_user=USER, root_directory=ROOT, tags={"team": "ml"})
    checked = run(capsys, check_mode=True, **base)
    assert checked["changed"] is True and checked["access_point_id"] is None and _points(fs_id) == []

    first = run(capsys, **base)
    assert first["rc"] == 0 and first["changed"] is True, first
    (point,) = _points(fs_id)
    assert point["AccessPointId"] == first["access_point_id"]
    assert point["PosixUser"] == {"Uid": 1000, "Gid": 1000}
    assert point["RootDirectory"] == {
        "Path": "/models", "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 1000, "Permissions": "0750"}}
    assert {t["Key"]: t["Value"] for t in point["Tags"]} == {"Name": NAME, "team": "ml"}
    assert first["access_point"]["tags"] == {"Name": NAME, "team": "ml"}
    assert first["diff"]["before"] == {}

    # "750" and "0750" are the same mode; the second run finds the point by its name tag.
    same_mode = dict(ROOT, creation_info=dict(ROOT["creation_info"], permissions="0750"))
    again = run(capsys, **{**base, "root_directory": same_mode})
    assert again["changed"] is False and again["access_point_id"] == point["AccessPointId"]
    assert again["diff"]["before"] == again["diff"]["after"]
    assert len(_points(fs_id)) == 1


def test_tags_change_in_place_and_absent_deletes(fs_id, capsys):
    base = dict(file_system_id=fs_id, name=NAME, posix_user=USER, root_directory=ROOT)
    created = run(capsys, tags={"team": "ml"}, **base)["access_point_id"]

    checked = run(capsys, check_mode=True, tags={"cost": "x"}, **base)
    assert checked["changed"] is True and checked["diff"]["after"]["tags"] == {"Name": NAME, "cost": "x"}
    assert {t["Key"] for t in _points(fs_id)[0]["Tags"]} == {"Name", "team"}

    retagged = run(capsys, tags={"cost": "x"}, **base)
    assert retagged["changed"] is True and retagged["access_point_id"] == created
    assert {t["Key"]: t["Value"] for t in _points(fs_id)[0]["Tags"]} == {"Name": NAME, "cost": "x"}
    assert run(capsys, tags={"cost": "x"}, **base)["changed"] is False

    assert run(capsys, check_mode=True, file_system_id=fs_id, name=NAME, state="absent")["changed"] is True
    assert len(_points(fs_id)) == 1
    assert run(capsys, file_system_id=fs_id, name=NAME, state="absent")["changed"] is True
    assert _points(fs_id) == []
    assert run(capsys, file_system_id=fs_id, name=NAME, state="absent")["changed"] is False


def test_immutable_settings_are_refused_with_the_fix(fs_id, capsys):
    run(capsys, file_system_id=fs_id, name=NAME, posix_user=USER, root_directory=ROOT)
    moved = run(capsys, file_system_id=fs_id, name=NAME, posix_user=dict(USER, uid=2000), root_directory=ROOT)
    assert moved["rc"] == 1 and "posix_user" in moved["msg"] and "state=absent" in moved["msg"]
    assert _points(fs_id)[0]["PosixUser"]["Uid"] == 1000


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (dict(file_system_id="model-store"), "file_system_id"),
        (dict(posix_user={"uid": -1, "gid": 1000}), "posix_user.uid"),
        (dict(root_directory={"path": "models", "creation_info": ROOT["creation_info"]}), "root_directory.path"),
        (dict(root_directory={"path": "/m", "creation_info": dict(ROOT["creation_info"], permissions="rwx")}),
         "permissions"),
        (dict(root_directory={"path": "/models"}), "root_directory.creation_info"),
    ],
)
def test_bad_input_fails_before_any_call(capsys, params, field):
    args = dict(file_system_id="fs-0123456789abcdef0", name=NAME, posix_user=USER, root_directory=ROOT)
    args.update(params)
    result = run(capsys, no_aws, **args)
    assert result["rc"] == 1 and field in result["msg"], result["msg"]


def test_waits_until_a_new_access_point_is_available():
    raw = dummy_client("efs", REGION)
    stub = Stubber(raw)
    point = {"AccessPointId": "fsap-0123456789abcdef0", "FileSystemId": "fs-0123456789abcdef0",
             "Tags": [{"Key": "Name", "Value": NAME}], "PosixUser": {"Uid": 1000, "Gid": 1000},
             "RootDirectory": {"Path": "/"}}
    stub.add_response("describe_access_points", {"AccessPoints": []})
    stub.add_response("create_access_point", dict(point, LifeCycleState="creating"))
    stub.add_response("describe_access_points", {"AccessPoints": [dict(point, LifeCycleState="creating")]})
    stub.add_response("describe_access_points", {"AccessPoints": [dict(point, LifeCycleState="available")]})
    params = dict(file_system_id="fs-0123456789abcdef0", name=NAME, state="present",
                  posix_user=dict(USER, secondary_gids=[]), root_directory=None, tags={}, wait=True, wait_timeout=60)
    slept = []
    with stub:
        changed, result, _before, after = efs_access_point.ensure(
            RetryingBotoClientWrapper(raw, RETRY), params, sleep=slept.append)
    stub.assert_no_pending_responses()
    assert changed is True and result["LifeCycleState"] == "available" and len(slept) == 2
    assert after["access_point_id"] == "fsap-0123456789abcdef0"
