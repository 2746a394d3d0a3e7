# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic behind llm_saas.platform.efs_replication.

ensure() takes a boto3 EFS client with the aws_retry keyword (RetryingBotoClientWrapper).
moto implements neither EFS replication nor PutBackupPolicy, so the unit tests use
botocore's Stubber.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:  # noqa: SIM105
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

ARGUMENT_SPEC = dict(
    file_system_id=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    destination=dict(
        type="dict",
        options=dict(
            region=dict(type="str", required=True),
            file_system_id=dict(type="str"),
            kms_key_id=dict(type="str"),
            availability_zone_name=dict(type="str"),
        ),
    ),
    backup_policy=dict(type="str", choices=["enabled", "disabled"]),
)

REQUIRED_IF = [["state", "present", ["destination"]]]


class EfsReplicationError(Exception):
    """Input or state the module cannot act on; the message names the field and the fix."""


def get_replication(client, file_system_id):
    try:
        configs = client.describe_replication_configurations(aws_retry=True, FileSystemId=file_system_id)[
            "Replications"
        ]
    except is_boto3_error_code("ReplicationNotFound"):
        return None
    return configs[0] if configs else None


def get_backup_policy(client, file_system_id):
    try:
        status = client.describe_backup_policy(aws_retry=True, FileSystemId=file_system_id)["BackupPolicy"]["Status"]
    except is_boto3_error_code("PolicyNotFound"):
        return "disabled"
    # ENABLING/DISABLING are on their way to what was asked; treat them as arrived.
    return "enabled" if status in ("ENABLED", "ENABLING") else "disabled"


def _replication_view(config):
    if not config:
        return {}
    dest = (config.get("Destinations") or [{}])[0]
    return dict(
        region=dest.get("Region"),
        file_system_id=dest.get("FileSystemId"),
        status=dest.get("Status"),
    )


def _same_key(current, wanted):
    return current == wanted or (current or "").split("/")[-1] == wanted.split("/")[-1]


def ensure(client, params, check_mode=False):
    fs_id = params["file_system_id"]
    changed = False
    before = {}
    after = {}

    if params.get("backup_policy") is not None:
        current_backup = get_backup_policy(client, fs_id)
        before["backup_policy"] = current_backup
        after["backup_policy"] = params["backup_policy"]
        if current_backup != params["backup_policy"]:
            changed = True
            if not check_mode:
                client.put_backup_policy(
                    aws_retry=True, FileSystemId=fs_id, BackupPolicy={"Status": params["backup_policy"].upper()}
                )

    current = get_replication(client, fs_id)
    before["replication"] = _replication_view(current)

    if params["state"] == "absent":
        after["replication"] = {}
        if current is not None:
            changed = True
            if not check_mode:
                client.delete_replication_configuration(aws_retry=True, SourceFileSystemId=fs_id)
        return _result(changed, None, before, after, params)

    wanted = params["destination"]
    if current is None:
        destination = {"Region": wanted["region"]}
        for api_key, key in (
            ("FileSystemId", "file_system_id"),
            ("KmsKeyId", "kms_key_id"),
            ("AvailabilityZoneName", "availability_zone_name"),
        ):
            if wanted.get(key):
                destination[api_key] = wanted[key]
        after["replication"] = dict(
            region=wanted["region"], file_system_id=wanted.get("file_system_id"), status="ENABLING"
        )
        changed = True
        if check_mode:
            return _result(changed, None, before, after, params)
        created = client.create_replication_configuration(
            aws_retry=True, SourceFileSystemId=fs_id, Destinations=[destination]
        )
        return _result(changed, created, before, after, params)

    view = before["replication"]
    # EFS allows one destination per file system and no in-place change of it.
    if view["region"] != wanted["region"]:
        raise EfsReplicationError(
            "destination.region cannot change from %s to %s in place; run once with state=absent, "
            "then again with the new destination" % (view["region"], wanted["region"])
        )
    if wanted.get("file_system_id") and view["file_system_id"] != wanted["file_system_id"]:
        raise EfsReplicationError(
            "destination.file_system_id is %s, not %s; remove the replication (state=absent) to change it"
            % (view["file_system_id"], wanted["file_system_id"])
        )
    after["replication"] = dict(view)
    return _result(changed, current, before, after, params)


def _result(changed, config, before, after, params):
    return dict(
        changed=changed,
        replication=camel_dict_to_snake_dict(config) if config else {},
        destination_file_system_id=_replication_view(config).get("file_system_id") if config else None,
        backup_policy=after.get("backup_policy"),
        diff=dict(before=before, after=after),
    )


def run_module():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)
    client = module.client(
        "efs", retry_decorator=AWSRetry.jittered_backoff(catch_extra_error_codes=["IncorrectFileSystemLifeCycleState"])
    )
    try:
        result = ensure(client, module.params, check_mode=module.check_mode)
    except EfsReplicationError as e:
        module.fail_json(msg=str(e))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to manage replication of file system %s" % module.params["file_system_id"])
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)
