# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic behind llm_saas.platform.efs_replication.

ensure() takes boto3 EFS clients with the aws_retry keyword (RetryingBotoClientWrapper): one for the
module's region and, for destination.tags, a function returning one for the destination region.
moto implements neither EFS replication nor PutBackupPolicy, so the unit tests use botocore's Stubber.
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

RETRY = AWSRetry.jittered_backoff(catch_extra_error_codes=["IncorrectFileSystemLifeCycleState"])
# EFS creates a new destination file system in the other region while it answers the create call;
# a tag call right after may not find it yet there.
DESTINATION_RETRY = AWSRetry.jittered_backoff(
    catch_extra_error_codes=["IncorrectFileSystemLifeCycleState", "FileSystemNotFound"]
)

DELETION_MODES = ["ALL_CONFIGURATIONS", "LOCAL_CONFIGURATION_ONLY"]

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
            tags=dict(type="dict"),
        ),
    ),
    backup_policy=dict(type="str", choices=["enabled", "disabled"]),
    deletion_mode=dict(type="str", choices=DELETION_MODES),
)

REQUIRED_IF = [["state", "present", ["destination"]]]

# EFS tag limits (TagResource): 50 tags, keys of 1-128 characters, values up to 256, no aws: prefix.
MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256


class EfsReplicationError(Exception):
    """Input or state the module cannot act on; the message names the field and the fix."""


def validate(params):
    """Check what the argument spec cannot; return destination.tags as a dict of str (or None)."""
    if params.get("deletion_mode") and params["state"] != "absent":
        raise EfsReplicationError(
            "deletion_mode only applies when the replication is deleted; remove it or set state=absent"
        )
    if params["state"] != "present":
        return None  # destination (and its tags) describe a replication to have; absent ignores them
    tags = (params.get("destination") or {}).get("tags")
    if tags is None:
        return None
    if len(tags) > MAX_TAGS:
        raise EfsReplicationError(
            "destination.tags has %d tags; EFS allows at most %d, remove some" % (len(tags), MAX_TAGS)
        )
    wanted = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not key or len(key) > MAX_KEY:
            raise EfsReplicationError(
                "destination.tags key %r is not allowed; use a string of 1 to %d characters" % (key, MAX_KEY)
            )
        if key.lower().startswith("aws:"):
            raise EfsReplicationError(
                "destination.tags key %s uses the reserved aws: prefix; rename it" % key
            )
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise EfsReplicationError(
                "destination.tags.%s must be a string, not %r; quote it (an empty string is allowed)"
                % (key, value)
            )
        text = str(value)
        if len(text) > MAX_VALUE:
            raise EfsReplicationError(
                "destination.tags.%s is %d characters long; EFS allows at most %d, shorten it"
                % (key, len(text), MAX_VALUE)
            )
        wanted[key] = text
    return wanted


def get_replication(client, file_system_id):
    """The replication configuration the file system takes part in, as source or destination."""
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


def get_tags(client, file_system_id):
    tags = {}
    kwargs = dict(ResourceId=file_system_id)
    while True:
        page = client.list_tags_for_resource(aws_retry=True, **kwargs)
        tags.update((tag["Key"], tag["Value"]) for tag in page.get("Tags", []))
        if not page.get("NextToken"):
            return tags
        kwargs["NextToken"] = page["NextToken"]


def _destination(config):
    return (config.get("Destinations") or [{}])[0]


def role_of(config, file_system_id):
    """source or destination: the part file_system_id has in config (None without one)."""
    if not config:
        return None
    return "source" if config.get("SourceFileSystemId") == file_system_id else "destination"


def _replication_view(config, file_system_id):
    if not config:
        return {}
    dest = _destination(config)
    return dict(
        role=role_of(config, file_system_id),
        source_file_system_id=config.get("SourceFileSystemId"),
        source_region=config.get("SourceFileSystemRegion"),
        region=dest.get("Region"),
        file_system_id=dest.get("FileSystemId"),
        status=dest.get("Status"),
    )


def _same_account_and_region(config):
    dest = _destination(config)
    owners = (config.get("SourceFileSystemOwnerId"), dest.get("OwnerId"))
    same_account = None in owners or owners[0] == owners[1]
    return same_account and config.get("SourceFileSystemRegion") == dest.get("Region")


def ensure(client, params, check_mode=False, destination_client=None):
    """Converge; destination_client(region) returns an EFS client for the destination region."""
    wanted_tags = validate(params)
    fs_id = params["file_system_id"]
    changed = False
    before = {}
    after = {}

    current = get_replication(client, fs_id)
    role = role_of(current, fs_id)
    before["replication"] = _replication_view(current, fs_id)
    deleting = current is not None and _destination(current).get("Status") == "DELETING"

    # Everything that can refuse the run does so before the first change.
    if params["state"] == "absent":
        if (
            current is not None
            and not deleting
            and params.get("deletion_mode") == "LOCAL_CONFIGURATION_ONLY"
            and _same_account_and_region(current)
        ):
            raise EfsReplicationError(
                "deletion_mode=LOCAL_CONFIGURATION_ONLY is refused by EFS for a replication within one region "
                "(%s); remove deletion_mode" % current.get("SourceFileSystemRegion")
            )
    elif current is not None:
        view = before["replication"]
        if role == "destination":
            raise EfsReplicationError(
                "file_system_id %s is the destination of the replication from %s in %s; state=present manages a "
                "replication from its source: pass file_system_id=%s with region=%s (or state=absent to end it)"
                % (fs_id, view["source_file_system_id"], view["source_region"], view["source_file_system_id"],
                   view["source_region"])
            )
        if deleting:
            raise EfsReplicationError(
                "the replication of file_system_id %s is being deleted (status DELETING); run again once it is gone"
                % fs_id
            )
        wanted = params["destination"]
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

    if params["state"] == "absent":
        if current is None or deleting:
            after["replication"] = dict(before["replication"])
            return _result(changed, None, before=before, after=after, role=role, described=current)
        after["replication"] = {}
        changed = True
        if not check_mode:
            # Always the source's id, whichever side (region) the call is made from.
            kwargs = dict(SourceFileSystemId=current["SourceFileSystemId"])
            if params.get("deletion_mode"):
                kwargs["DeletionMode"] = params["deletion_mode"]
            client.delete_replication_configuration(aws_retry=True, **kwargs)
        return _result(changed, None, before=before, after=after, role=role, described=current)

    wanted = params["destination"]
    config = current
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
            role="source",
            source_file_system_id=fs_id,
            source_region=getattr(getattr(client, "meta", None), "region_name", None),
            region=wanted["region"],
            file_system_id=wanted.get("file_system_id"),
            status="ENABLING",
        )
        changed = True
        if not check_mode:
            config = client.create_replication_configuration(
                aws_retry=True, SourceFileSystemId=fs_id, Destinations=[destination]
            )
            after["replication"] = _replication_view(config, fs_id)
    else:
        after["replication"] = dict(before["replication"])

    tags = None
    if wanted_tags is not None:
        dest_id = _destination(config).get("FileSystemId") if config else wanted.get("file_system_id")
        tags, tags_changed = _ensure_destination_tags(
            destination_client,
            wanted["region"],
            dest_id,
            wanted_tags,
            before=before,
            after=after,
            check_mode=check_mode,
        )
        changed = changed or tags_changed
    return _result(
        changed,
        config,
        before=before,
        after=after,
        role="source",
        described=config or dict(SourceFileSystemId=fs_id),
        destination_tags=tags,
    )


def _ensure_destination_tags(destination_client, region, dest_id, wanted, *, before, after, check_mode):
    """Add or update the wanted tags on the destination (other keys stay); return (all tags, changed).

    The diff shows the wanted keys only. Without a destination id (check mode, new replication into a
    file system EFS creates) the destination has no tags yet.
    """
    if not dest_id and not check_mode:
        raise EfsReplicationError(
            "EFS did not report the destination file system of the replication; run again to set destination.tags"
        )
    current = get_tags(destination_client(region), dest_id) if dest_id else {}
    to_set = dict((k, v) for k, v in wanted.items() if current.get(k) != v)
    before["destination_tags"] = dict((k, current[k]) for k in wanted if k in current)
    after["destination_tags"] = dict(wanted)
    if to_set and not check_mode:
        destination_client(region).tag_resource(
            aws_retry=True, ResourceId=dest_id, Tags=[{"Key": k, "Value": v} for k, v in sorted(to_set.items())]
        )
    tags = dict(current)
    tags.update(wanted)
    return tags, bool(to_set)


def _result(changed, config, *, before, after, role, described, destination_tags=None):
    """config: the replication after the run (None when absent); described: the one file_system_id
    takes part in (before a deletion, planned in check mode), which role and source come from."""
    result = dict(
        changed=changed,
        replication=camel_dict_to_snake_dict(config) if config else {},
        destination_file_system_id=_destination(config).get("FileSystemId") if config else None,
        backup_policy=after.get("backup_policy"),
        role=role,
        source_file_system_id=described.get("SourceFileSystemId") if described else None,
        diff=dict(before=before, after=after),
    )
    if destination_tags is not None:
        result["destination_tags"] = destination_tags
    return result


def run_module():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)
    client = module.client("efs", retry_decorator=RETRY)
    destination_clients = {}

    def destination_client(region):
        if region not in destination_clients:
            destination_clients[region] = module.client("efs", region=region, retry_decorator=DESTINATION_RETRY)
        return destination_clients[region]

    try:
        result = ensure(client, module.params, check_mode=module.check_mode, destination_client=destination_client)
    except EfsReplicationError as e:
        module.fail_json(msg=str(e))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to manage replication of file system %s" % module.params["file_system_id"])
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)
