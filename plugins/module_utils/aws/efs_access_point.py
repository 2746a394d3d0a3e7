# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of llm_saas.platform.efs_access_point (one named EFS access point of a file system).

An access point is known by its Name tag within its file system; EFS cannot change its POSIX user
or root directory after creation, so a difference there is refused with the fix rather than
silently replaced (clients mounted through it would lose their mount).
"""

from __future__ import annotations

import hashlib
import re
import time

try:
    import botocore
except ImportError:
    botocore = None  # AnsibleAWSModule reports the missing library

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# EFS answers IncorrectFileSystemLifeCycleState while the file system is still being created.
RETRY = AWSRetry.jittered_backoff(retries=10, catch_extra_error_codes=["IncorrectFileSystemLifeCycleState"])

MAX_ID = 4294967295
PERMISSIONS = re.compile(r"^[0-7]{3,4}$")

ARGUMENT_SPEC = dict(
    file_system_id=dict(type="str", required=True),
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    posix_user=dict(
        type="dict",
        options=dict(
            uid=dict(type="int", required=True),
            gid=dict(type="int", required=True),
            secondary_gids=dict(type="list", elements="int", default=[]),
        ),
    ),
    root_directory=dict(
        type="dict",
        options=dict(
            path=dict(type="str", default="/"),
            creation_info=dict(
                type="dict",
                options=dict(
                    owner_uid=dict(type="int", required=True),
                    owner_gid=dict(type="int", required=True),
                    permissions=dict(type="str", required=True),
                ),
            ),
        ),
    ),
    tags=dict(type="dict", default={}),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=120),
)


def validate(params):
    """Messages for input EFS would refuse (or accept and then fail mounts with), before any call."""
    errors = []
    if not re.match(r"^fs-[0-9a-f]{8,40}$", params["file_system_id"]):
        errors.append(
            "file_system_id %r is not an EFS file system id (fs-0123456789abcdef0)" % params["file_system_id"]
        )
    if params["state"] == "absent":
        return errors
    user = params.get("posix_user") or {}
    for field in ("uid", "gid"):
        if field in user and not 0 <= user[field] <= MAX_ID:
            errors.append("posix_user.%s must be 0..%d (is %s)" % (field, MAX_ID, user[field]))
    if len(user.get("secondary_gids") or []) > 16:
        errors.append("posix_user.secondary_gids takes at most 16 groups")
    root = params.get("root_directory") or {}
    path = root.get("path", "/")
    if not path.startswith("/") or len(path) > 100:
        errors.append("root_directory.path must be absolute and at most 100 characters (is %r)" % path)
    info = root.get("creation_info")
    if info:
        if not PERMISSIONS.match(info["permissions"]):
            errors.append(
                "root_directory.creation_info.permissions must be octal like '0755' (is %r)" % info["permissions"]
            )
        for field in ("owner_uid", "owner_gid"):
            if not 0 <= info[field] <= MAX_ID:
                errors.append("root_directory.creation_info.%s must be 0..%d" % (field, MAX_ID))
    elif path != "/":
        # EFS accepts this, and every mount through the access point then fails until the directory exists.
        errors.append(
            "root_directory.creation_info is required for path %r: EFS only creates the directory with it" % path
        )
    return errors


def wanted_settings(params):
    user = params.get("posix_user")
    root = params.get("root_directory") or {"path": "/"}
    settings = {"posix_user": None, "root_directory": {"path": root.get("path") or "/"}}
    if user:
        settings["posix_user"] = {
            "uid": user["uid"], "gid": user["gid"], "secondary_gids": sorted(user["secondary_gids"] or [])}
    info = root.get("creation_info")
    if info:
        settings["root_directory"]["creation_info"] = {
            "owner_uid": info["owner_uid"],
            "owner_gid": info["owner_gid"],
            "permissions": "%04o" % int(info["permissions"], 8),
        }
    return settings


def current_settings(point):
    user = point.get("PosixUser")
    root = point.get("RootDirectory") or {}
    settings = {"posix_user": None, "root_directory": {"path": root.get("Path") or "/"}}
    if user:
        settings["posix_user"] = {
            "uid": user["Uid"], "gid": user["Gid"], "secondary_gids": sorted(user.get("SecondaryGids") or [])}
    info = root.get("CreationInfo")
    if info:
        settings["root_directory"]["creation_info"] = {
            "owner_uid": info["OwnerUid"],
            "owner_gid": info["OwnerGid"],
            "permissions": "%04o" % int(info["Permissions"], 8),
        }
    return settings


def _tags(point):
    return {t["Key"]: t["Value"] for t in point.get("Tags") or []}


def find(client, file_system_id, name):
    found = []
    token = None
    while True:
        kwargs = {"FileSystemId": file_system_id}
        if token:
            kwargs["NextToken"] = token
        page = client.describe_access_points(aws_retry=True, **kwargs)
        found += [ap for ap in page["AccessPoints"] if _tags(ap).get("Name") == name]
        token = page.get("NextToken")
        if not token:
            break
    if len(found) > 1:
        raise EfsAccessPointError(
            "%d access points of %s are named %r (%s); delete all but one, the module manages exactly one"
            % (len(found), file_system_id, name, ", ".join(ap["AccessPointId"] for ap in found))
        )
    return found[0] if found else None


class EfsAccessPointError(Exception):
    """State the module will not act on; the message names the field and the fix."""


def _view(point):
    if not point:
        return {}
    view = current_settings(point)
    view.update(access_point_id=point["AccessPointId"], tags=_tags(point))
    return view


def ensure(client, params, check_mode=False, sleep=time.sleep):
    point = find(client, params["file_system_id"], params["name"])
    before = _view(point)

    if params["state"] == "absent":
        if point and not check_mode:
            try:
                client.delete_access_point(aws_retry=True, AccessPointId=point["AccessPointId"])
            except is_boto3_error_code("AccessPointNotFound"):
                pass
        return bool(point), None, before, {}

    wanted = wanted_settings(params)
    tags = dict(params["tags"] or {}, Name=params["name"])
    if point is None:
        after = dict(wanted, access_point_id=None, tags=tags)
        if check_mode:
            return True, None, before, after
        # Same file system and name, same token: a retried create returns the first access point.
        token = hashlib.sha256(("%s/%s" % (params["file_system_id"], params["name"])).encode()).hexdigest()[:64]
        request = {
            "ClientToken": token,
            "FileSystemId": params["file_system_id"],
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
            "RootDirectory": {"Path": wanted["root_directory"]["path"]},
        }
        if wanted["posix_user"]:
            request["PosixUser"] = {"Uid": wanted["posix_user"]["uid"], "Gid": wanted["posix_user"]["gid"]}
            if wanted["posix_user"]["secondary_gids"]:
                request["PosixUser"]["SecondaryGids"] = wanted["posix_user"]["secondary_gids"]
        info = wanted["root_directory"].get("creation_info")
        if info:
            request["RootDirectory"]["CreationInfo"] = {
                "OwnerUid": info["owner_uid"], "OwnerGid": info["owner_gid"], "Permissions": info["permissions"]}
        point = client.create_access_point(aws_retry=True, **request)
        if params["wait"]:
            point = wait_available(client, point, params["wait_timeout"], sleep)
        return True, point, before, _view(point)

    current = current_settings(point)
    for field in ("posix_user", "root_directory"):
        if current[field] != wanted[field]:
            raise EfsAccessPointError(
                "%s of access point %s (%r) is %s, not %s; EFS cannot change it in place: run once with "
                "state=absent (clients must remount), then again with the new %s"
                % (field, point["AccessPointId"], params["name"], current[field], wanted[field], field)
            )
    current_tags = _tags(point)
    after = dict(before, tags=tags)
    if current_tags == tags:
        return False, point, before, after
    if not check_mode:
        stale = [k for k in current_tags if k not in tags]
        if stale:
            client.untag_resource(aws_retry=True, ResourceId=point["AccessPointId"], TagKeys=stale)
        fresh = [{"Key": k, "Value": v} for k, v in sorted(tags.items()) if current_tags.get(k) != v]
        if fresh:
            client.tag_resource(aws_retry=True, ResourceId=point["AccessPointId"], Tags=fresh)
        point = dict(point, Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())])
    return True, point, before, after


def wait_available(client, point, timeout, sleep):
    deadline = time.monotonic() + timeout
    while point.get("LifeCycleState") != "available":
        if time.monotonic() > deadline:
            raise EfsAccessPointError(
                "access point %s is still %s after wait_timeout=%ss; raise wait_timeout or set wait=false"
                % (point["AccessPointId"], point.get("LifeCycleState"), timeout)
            )
        sleep(5)
        point = client.describe_access_points(aws_retry=True, AccessPointId=point["AccessPointId"])["AccessPoints"][0]
    return point


def main():
    module = AnsibleAWSModule(
        argument_spec=ARGUMENT_SPEC,
        required_if=[["state", "present", ["posix_user"]]],
        supports_check_mode=True,
    )
    errors = validate(module.params)
    if errors:
        module.fail_json(msg="efs_access_point: " + "; ".join(errors))
    client = module.client("efs", retry_decorator=RETRY)
    try:
        changed, point, before, after = ensure(client, module.params, check_mode=module.check_mode)
    except EfsAccessPointError as e:
        module.fail_json(msg=str(e))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(
            e, msg="Failed to manage access point %r of %s" % (module.params["name"], module.params["file_system_id"])
        )
    result = dict(
        changed=changed,
        access_point_id=point["AccessPointId"] if point else None,
        access_point=dict(camel_dict_to_snake_dict(point), tags=_tags(point)) if point else {},
    )
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)
