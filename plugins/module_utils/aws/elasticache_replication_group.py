# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic behind llm_saas.platform.elasticache_replication_group.

ensure() takes a boto3 client with the aws_retry keyword (RetryingBotoClientWrapper),
so unit tests drive it against moto (which implements Create/Describe/Modify/Delete
ReplicationGroup) and against botocore's Stubber for the replica-count and tag APIs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

try:  # noqa: SIM105
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

ARGUMENT_SPEC = dict(
    replication_group_id=dict(type="str", required=True, aliases=["name"]),
    description=dict(type="str"),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    engine=dict(type="str", default="redis", choices=["redis", "valkey"]),
    engine_version=dict(type="str"),
    cache_node_type=dict(type="str"),
    num_cache_clusters=dict(type="int", default=2),
    automatic_failover=dict(type="bool", default=True),
    multi_az=dict(type="bool", default=True),
    cache_subnet_group=dict(type="str"),
    security_group_ids=dict(type="list", elements="str"),
    cache_parameter_group=dict(type="str"),
    port=dict(type="int", default=6379),
    at_rest_encryption=dict(type="bool", default=True),
    transit_encryption=dict(type="bool", default=True),
    kms_key_id=dict(type="str"),
    auth_token=dict(type="str", no_log=True),
    snapshot_retention_limit=dict(type="int"),
    snapshot_window=dict(type="str"),
    preferred_maintenance_window=dict(type="str"),
    auto_minor_version_upgrade=dict(type="bool"),
    apply_immediately=dict(type="bool", default=True),
    tags=dict(type="dict", aliases=["resource_tags"]),
    purge_tags=dict(type="bool", default=True),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=1800),
)

REQUIRED_IF = [["state", "present", ["cache_node_type"]]]

# Settings AWS only takes at creation; a difference means replacing the group.
IMMUTABLE = {
    "at_rest_encryption": "AtRestEncryptionEnabled",
    "transit_encryption": "TransitEncryptionEnabled",
    "kms_key_id": "KmsKeyId",
}


class ReplicationGroupError(Exception):
    """Input or state the module cannot act on; the message names the field and the fix."""


def validate(params):
    if params["state"] != "present":
        return
    if params["num_cache_clusters"] < 1:
        raise ReplicationGroupError("num_cache_clusters must be at least 1 (the primary)")
    if params["automatic_failover"] and params["num_cache_clusters"] < 2:
        raise ReplicationGroupError("automatic_failover needs num_cache_clusters >= 2 (a replica to fail over to)")
    if params["multi_az"] and not params["automatic_failover"]:
        raise ReplicationGroupError("multi_az requires automatic_failover=true")
    if params.get("auth_token") and not params["transit_encryption"]:
        raise ReplicationGroupError("auth_token requires transit_encryption=true (AWS rejects AUTH without TLS)")
    if params.get("auth_token") is not None and not 16 <= len(params["auth_token"]) <= 128:
        raise ReplicationGroupError("auth_token must be 16 to 128 characters long")
    if params.get("kms_key_id") and not params["at_rest_encryption"]:
        raise ReplicationGroupError("kms_key_id requires at_rest_encryption=true")


def describe(client, group_id):
    try:
        groups = client.describe_replication_groups(aws_retry=True, ReplicationGroupId=group_id)["ReplicationGroups"]
    except is_boto3_error_code("ReplicationGroupNotFoundFault"):
        return None
    return groups[0] if groups else None


def describe_member(client, group):
    """Security groups, engine version and maintenance window live on the member clusters."""
    members = group.get("MemberClusters") or []
    if not members:
        return {}
    try:
        clusters = client.describe_cache_clusters(aws_retry=True, CacheClusterId=members[0])["CacheClusters"]
    except is_boto3_error_code("CacheClusterNotFound"):
        return {}
    return clusters[0] if clusters else {}


def get_tags(client, arn):
    if not arn:
        return {}
    try:
        tags = client.list_tags_for_resource(aws_retry=True, ResourceName=arn).get("TagList", [])
    except is_boto3_error_code(["ReplicationGroupNotFoundFault", "InvalidARN"]):
        return {}
    return boto3_tag_list_to_ansible_dict(tags)


def _enabled(value):
    return value in ("enabled", "enabling", True)


def current_state(group, member, tags):
    """The managed settings as they stand, in the module's own terms."""
    state = dict(
        description=group.get("Description"),
        cache_node_type=group.get("CacheNodeType"),
        num_cache_clusters=len(group.get("MemberClusters") or []),
        automatic_failover=_enabled(group.get("AutomaticFailover")),
        multi_az=_enabled(group.get("MultiAZ")),
        at_rest_encryption=bool(group.get("AtRestEncryptionEnabled")),
        transit_encryption=bool(group.get("TransitEncryptionEnabled")),
        kms_key_id=group.get("KmsKeyId"),
        auth_token_enabled=bool(group.get("AuthTokenEnabled")),
        snapshot_retention_limit=group.get("SnapshotRetentionLimit"),
        snapshot_window=group.get("SnapshotWindow"),
        tags=tags,
    )
    if member:
        state.update(
            engine_version=member.get("EngineVersion"),
            security_group_ids=sorted(sg["SecurityGroupId"] for sg in member.get("SecurityGroups", [])),
            preferred_maintenance_window=member.get("PreferredMaintenanceWindow"),
            auto_minor_version_upgrade=member.get("AutoMinorVersionUpgrade"),
        )
    return state


def desired_state(params, current=None):
    desired = dict(
        description=params.get("description") or params["replication_group_id"],
        cache_node_type=params["cache_node_type"],
        num_cache_clusters=params["num_cache_clusters"],
        automatic_failover=params["automatic_failover"],
        multi_az=params["multi_az"],
        at_rest_encryption=params["at_rest_encryption"],
        transit_encryption=params["transit_encryption"],
        kms_key_id=params.get("kms_key_id"),
        auth_token_enabled=bool(params.get("auth_token")),
    )
    for key in (
        "snapshot_retention_limit",
        "snapshot_window",
        "engine_version",
        "preferred_maintenance_window",
        "auto_minor_version_upgrade",
    ):
        if params.get(key) is not None:
            desired[key] = params[key]
    if params.get("security_group_ids") is not None:
        desired["security_group_ids"] = sorted(params["security_group_ids"])
    if current is not None:
        desired["tags"] = _merged_tags(current.get("tags", {}), params)
    else:
        desired["tags"] = params.get("tags") or {}
    if current is not None and params.get("auth_token") is None:
        # The token cannot be read back; without one in the input keep what is there.
        desired["auth_token_enabled"] = current.get("auth_token_enabled", False)
    return desired


def _merged_tags(current, params):
    if params.get("tags") is None:
        return current
    if params.get("purge_tags", True):
        return dict(params["tags"])
    merged = dict(current)
    merged.update(params["tags"])
    return merged


def _same_key(current, wanted):
    """KMS keys come back as ARNs even when given as id or alias ARN."""
    if not wanted:
        return True
    if not current:
        return False
    return current == wanted or current.split("/")[-1] == wanted.split("/")[-1]


def _create_request(params):
    request = dict(
        ReplicationGroupId=params["replication_group_id"],
        ReplicationGroupDescription=params.get("description") or params["replication_group_id"],
        Engine=params["engine"],
        CacheNodeType=params["cache_node_type"],
        NumCacheClusters=params["num_cache_clusters"],
        AutomaticFailoverEnabled=params["automatic_failover"],
        MultiAZEnabled=params["multi_az"],
        Port=params["port"],
        AtRestEncryptionEnabled=params["at_rest_encryption"],
        TransitEncryptionEnabled=params["transit_encryption"],
    )
    optional = dict(
        EngineVersion="engine_version",
        CacheSubnetGroupName="cache_subnet_group",
        SecurityGroupIds="security_group_ids",
        CacheParameterGroupName="cache_parameter_group",
        KmsKeyId="kms_key_id",
        AuthToken="auth_token",
        SnapshotRetentionLimit="snapshot_retention_limit",
        SnapshotWindow="snapshot_window",
        PreferredMaintenanceWindow="preferred_maintenance_window",
        AutoMinorVersionUpgrade="auto_minor_version_upgrade",
    )
    for api_key, param in optional.items():
        if params.get(param) is not None:
            request[api_key] = params[param]
    if params.get("tags"):
        request["Tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
    return request


def _modify_request(params, current, desired):
    request = {}
    mapping = dict(
        description="ReplicationGroupDescription",
        cache_node_type="CacheNodeType",
        automatic_failover="AutomaticFailoverEnabled",
        multi_az="MultiAZEnabled",
        snapshot_retention_limit="SnapshotRetentionLimit",
        snapshot_window="SnapshotWindow",
        engine_version="EngineVersion",
        preferred_maintenance_window="PreferredMaintenanceWindow",
        auto_minor_version_upgrade="AutoMinorVersionUpgrade",
        security_group_ids="SecurityGroupIds",
    )
    for key, api_key in mapping.items():
        # Keys missing from current (no member cluster visible) cannot be compared.
        if key in desired and key in current and desired[key] != current[key]:
            request[api_key] = desired[key]
    if params.get("auth_token") and not current.get("auth_token_enabled"):
        request["AuthToken"] = params["auth_token"]
        request["AuthTokenUpdateStrategy"] = "SET"
    if request:
        request["ReplicationGroupId"] = params["replication_group_id"]
        request["ApplyImmediately"] = params["apply_immediately"]
    return request


def _wait(client, group_id, timeout, gone=False):
    deadline = time.time() + timeout
    while True:
        group = describe(client, group_id)
        if gone and group is None:
            return None
        if not gone and group is not None and group.get("Status") == "available":
            return group
        if time.time() > deadline:
            raise ReplicationGroupError(
                "Timed out after %ss waiting for replication group %s (status %s); raise wait_timeout"
                % (timeout, group_id, (group or {}).get("Status"))
            )
        time.sleep(15)


def _result(changed, group, before, after, client=None):
    result = dict(changed=changed, diff=dict(before=before or {}, after=after or {}))
    if group:
        snake = camel_dict_to_snake_dict(group)
        result["replication_group"] = snake
        node_groups = group.get("NodeGroups") or [{}]
        primary = node_groups[0].get("PrimaryEndpoint") or {}
        reader = node_groups[0].get("ReaderEndpoint") or {}
        result["primary_endpoint"] = dict(address=primary.get("Address"), port=primary.get("Port"))
        result["reader_endpoint"] = dict(address=reader.get("Address"), port=reader.get("Port"))
    else:
        result["replication_group"] = {}
    return result


def ensure(client, params, check_mode=False):
    validate(params)
    group_id = params["replication_group_id"]
    group = describe(client, group_id)

    if params["state"] == "absent":
        if group is None:
            return _result(False, None, {}, {})
        before = current_state(group, {}, {})
        if group.get("Status") != "deleting" and not check_mode:
            client.delete_replication_group(aws_retry=True, ReplicationGroupId=group_id)
            if params["wait"]:
                _wait(client, group_id, params["wait_timeout"], gone=True)
        return _result(group.get("Status") != "deleting", None, before, {})

    if group is None:
        after = desired_state(params)
        if check_mode:
            return _result(True, None, {}, after)
        client.create_replication_group(aws_retry=True, **_create_request(params))
        group = _wait(client, group_id, params["wait_timeout"]) if params["wait"] else describe(client, group_id)
        return _result(True, group, {}, after)

    member = describe_member(client, group)
    tags = get_tags(client, group.get("ARN"))
    current = current_state(group, member, tags)
    desired = desired_state(params, current)

    for key in IMMUTABLE:
        if key == "kms_key_id":
            if not _same_key(current[key], desired[key]):
                raise ReplicationGroupError(
                    "kms_key_id cannot change on an existing replication group (has %s); "
                    "create a new group or keep the key" % current[key]
                )
        elif current[key] != desired[key]:
            raise ReplicationGroupError(
                "%s cannot change on an existing replication group (is %s); create a new group or keep the setting"
                % (key, current[key])
            )
    if desired["kms_key_id"] and _same_key(current["kms_key_id"], desired["kms_key_id"]):
        desired["kms_key_id"] = current["kms_key_id"]

    changed = False
    modify = _modify_request(params, current, desired)
    if modify:
        changed = True
        if not check_mode:
            client.modify_replication_group(aws_retry=True, **modify)

    replicas_wanted = desired["num_cache_clusters"] - 1
    replicas_now = current["num_cache_clusters"] - 1
    if replicas_wanted != replicas_now:
        changed = True
        if not check_mode:
            method = client.increase_replica_count if replicas_wanted > replicas_now else client.decrease_replica_count
            method(aws_retry=True, ReplicationGroupId=group_id, NewReplicaCount=replicas_wanted, ApplyImmediately=True)

    if params.get("tags") is not None:
        to_add, to_remove = compare_aws_tags(current["tags"], params["tags"], params["purge_tags"])
        if to_add or to_remove:
            changed = True
            if not check_mode:
                if to_remove:
                    client.remove_tags_from_resource(aws_retry=True, ResourceName=group["ARN"], TagKeys=to_remove)
                if to_add:
                    client.add_tags_to_resource(
                        aws_retry=True, ResourceName=group["ARN"], Tags=ansible_dict_to_boto3_tag_list(to_add)
                    )

    if changed and not check_mode:
        group = _wait(client, group_id, params["wait_timeout"]) if params["wait"] else describe(client, group_id)
    # Only settings both sides know are shown: unmanaged ones are noise, and ones AWS does
    # not report (no member cluster visible) cannot be compared.
    shared = [k for k in desired if k in current]
    return _result(changed, group, dict((k, current[k]) for k in shared), dict((k, desired[k]) for k in shared))


def run_module():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)
    client = module.client(
        "elasticache",
        retry_decorator=AWSRetry.jittered_backoff(catch_extra_error_codes=["InvalidReplicationGroupState"]),
    )
    try:
        result = ensure(client, module.params, check_mode=module.check_mode)
    except ReplicationGroupError as e:
        module.fail_json(msg=str(e))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to manage replication group %s" % module.params["replication_group_id"])
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)
