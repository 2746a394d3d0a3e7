# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic behind llm_saas.platform.s3_bucket_replication.

Kept out of the module file so that unit tests can drive ensure() with a boto3
client wrapped in RetryingBotoClientWrapper (moto implements
Put/Get/DeleteBucketReplication, so the tests run against moto).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

try:  # noqa: SIM105
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

STORAGE_CLASSES = [
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
]

ARGUMENT_SPEC = dict(
    bucket=dict(type="str", required=True, aliases=["name"]),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    role=dict(type="str"),
    rules=dict(
        type="list",
        elements="dict",
        options=dict(
            id=dict(type="str", required=True),
            priority=dict(type="int"),
            status=dict(type="str", default="enabled", choices=["enabled", "disabled"]),
            prefix=dict(type="str", default=""),
            delete_marker_replication=dict(type="bool", default=False),
            sse_kms_encrypted_objects=dict(type="bool", default=False),
            replica_modifications=dict(type="bool", default=False),
            replication_time_control=dict(type="bool", default=False),
            destination=dict(
                type="dict",
                required=True,
                options=dict(
                    bucket=dict(type="str", required=True),
                    storage_class=dict(type="str", choices=STORAGE_CLASSES),
                    replica_kms_key_id=dict(type="str"),
                    account=dict(type="str"),
                    owner_override=dict(type="bool", default=False),
                ),
            ),
        ),
    ),
)

REQUIRED_IF = [["state", "present", ["role", "rules"]]]

# S3 Replication Time Control only offers a 15 minute SLA; both the replication
# time and the metrics threshold must carry it.
RTC_MINUTES = 15


class ReplicationError(Exception):
    """Raised for input the S3 API would reject, with a message naming the field."""


def _status(flag):
    return "Enabled" if flag else "Disabled"


def bucket_arn(name_or_arn):
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return "arn:aws:s3:::" + name_or_arn


def build_rule(rule, index):
    dest = rule["destination"]
    destination = {"Bucket": bucket_arn(dest["bucket"])}
    if dest.get("storage_class"):
        destination["StorageClass"] = dest["storage_class"]
    if dest.get("replica_kms_key_id"):
        destination["EncryptionConfiguration"] = {"ReplicaKmsKeyID": dest["replica_kms_key_id"]}
    if dest.get("account"):
        destination["Account"] = dest["account"]
    if dest.get("owner_override"):
        if not dest.get("account"):
            raise ReplicationError(
                "rules[%d].destination.owner_override needs rules[%d].destination.account "
                "(the destination bucket owner's account id)" % (index, index)
            )
        destination["AccessControlTranslation"] = {"Owner": "Destination"}
    if rule.get("replication_time_control"):
        destination["ReplicationTime"] = {"Status": "Enabled", "Time": {"Minutes": RTC_MINUTES}}
        destination["Metrics"] = {"Status": "Enabled", "EventThreshold": {"Minutes": RTC_MINUTES}}

    if rule.get("sse_kms_encrypted_objects") and not dest.get("replica_kms_key_id"):
        raise ReplicationError(
            "rules[%d].sse_kms_encrypted_objects requires rules[%d].destination.replica_kms_key_id "
            "(the KMS key in the destination region that re-encrypts the replicas)" % (index, index)
        )

    built = {
        "ID": rule["id"],
        "Priority": rule["priority"] if rule.get("priority") is not None else index + 1,
        "Status": _status(rule.get("status", "enabled") == "enabled"),
        # A Filter (not the legacy top-level Prefix) selects the V2 schema, the only
        # one that supports delete marker replication and priorities.
        "Filter": {"Prefix": rule.get("prefix") or ""},
        "DeleteMarkerReplication": {"Status": _status(rule.get("delete_marker_replication"))},
        "Destination": destination,
    }
    criteria = {}
    if rule.get("sse_kms_encrypted_objects"):
        criteria["SseKmsEncryptedObjects"] = {"Status": "Enabled"}
    if rule.get("replica_modifications"):
        criteria["ReplicaModifications"] = {"Status": "Enabled"}
    if criteria:
        built["SourceSelectionCriteria"] = criteria
    return built


def build_configuration(params):
    rules = params.get("rules") or []
    ids = [r["id"] for r in rules]
    duplicates = sorted(set(i for i in ids if ids.count(i) > 1))
    if duplicates:
        raise ReplicationError("rules[].id must be unique; duplicated: %s" % ", ".join(duplicates))
    built = [build_rule(rule, index) for index, rule in enumerate(rules)]
    priorities = [r["Priority"] for r in built]
    if len(set(priorities)) != len(priorities):
        raise ReplicationError("rules[].priority must be unique across rules")
    return {"Role": params["role"], "Rules": built}


def _pick(source, keys):
    return dict((k, copy.deepcopy(source[k])) for k in keys if k in source)


def normalize(config):
    """Reduce a configuration to the fields this module manages, in a stable order.

    S3 echoes the rules back with defaults filled in and (for the V1 schema) a
    top-level Prefix; comparing raw documents would report a change forever.
    """
    if not config:
        return None
    rules = []
    for rule in config.get("Rules", []):
        flt = rule.get("Filter")
        if flt is None:
            prefix = rule.get("Prefix", "")
        else:
            prefix = flt.get("Prefix", "")
            if "And" in flt:
                prefix = flt["And"].get("Prefix", "")
        dest = rule.get("Destination", {})
        normalized_dest = _pick(
            dest,
            [
                "Bucket",
                "StorageClass",
                "EncryptionConfiguration",
                "Account",
                "AccessControlTranslation",
                "ReplicationTime",
                "Metrics",
            ],
        )
        criteria = {}
        for key in ("SseKmsEncryptedObjects", "ReplicaModifications"):
            status = rule.get("SourceSelectionCriteria", {}).get(key, {}).get("Status")
            if status == "Enabled":
                criteria[key] = {"Status": "Enabled"}
        normalized = {
            "ID": rule.get("ID"),
            "Priority": int(rule["Priority"]) if rule.get("Priority") is not None else None,
            "Status": rule.get("Status"),
            "Filter": {"Prefix": prefix or ""},
            "DeleteMarkerReplication": {"Status": rule.get("DeleteMarkerReplication", {}).get("Status", "Disabled")},
            "Destination": normalized_dest,
        }
        if criteria:
            normalized["SourceSelectionCriteria"] = criteria
        rules.append(normalized)
    rules.sort(key=lambda r: r["ID"] or "")
    return {"Role": config.get("Role"), "Rules": rules}


def get_replication(client, bucket):
    try:
        return client.get_bucket_replication(aws_retry=True, Bucket=bucket)["ReplicationConfiguration"]
    except is_boto3_error_code("ReplicationConfigurationNotFoundError"):
        return None


def ensure(client, params, check_mode=False):
    """Converge one bucket's replication configuration; returns the module result."""
    bucket = params["bucket"]
    current = get_replication(client, bucket)
    before = normalize(current)

    if params["state"] == "absent":
        if current is None:
            return dict(changed=False, replication_configuration={}, diff=dict(before={}, after={}))
        if not check_mode:
            client.delete_bucket_replication(aws_retry=True, Bucket=bucket)
        return dict(changed=True, replication_configuration={}, diff=dict(before=_snake(before), after={}))

    desired = build_configuration(params)
    after = normalize(desired)
    if before == after:
        return dict(
            changed=False,
            replication_configuration=_snake(before),
            diff=dict(before=_snake(before), after=_snake(after)),
        )
    if not check_mode:
        client.put_bucket_replication(aws_retry=True, Bucket=bucket, ReplicationConfiguration=desired)
    return dict(
        changed=True,
        replication_configuration=_snake(after),
        diff=dict(before=_snake(before) if before else {}, after=_snake(after)),
    )


def _snake(config):
    if not config:
        return {}
    return camel_dict_to_snake_dict(config, ignore_list=[])


def run_module():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)
    client = module.client("s3", retry_decorator=AWSRetry.jittered_backoff(catch_extra_error_codes=["NoSuchBucket"]))
    try:
        result = ensure(client, module.params, check_mode=module.check_mode)
    except ReplicationError as e:
        module.fail_json(msg=str(e))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to manage replication of bucket %s" % module.params["bucket"])
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)
