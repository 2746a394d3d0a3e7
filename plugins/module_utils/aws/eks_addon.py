# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of llm_saas.platform.eks_addon (EKS managed add-ons)."""

from __future__ import annotations

import json

try:
    import botocore
except ImportError:
    botocore = None  # AnsibleAWSModule reports the missing library

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import EKS_RETRY
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import apply_eks_tags
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import desired_tags
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import not_found
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import wait_for

ARGUMENT_SPEC = dict(
    cluster_name=dict(type="str", required=True),
    name=dict(type="str", required=True, aliases=["addon_name"]),
    addon_version=dict(type="str"),
    service_account_role_arn=dict(type="str"),
    configuration_values=dict(type="raw"),
    resolve_conflicts=dict(type="str", default="OVERWRITE", choices=["NONE", "OVERWRITE", "PRESERVE"]),
    preserve=dict(type="bool", default=False),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    tags=dict(type="dict", aliases=["resource_tags"]),
    purge_tags=dict(type="bool", default=True),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=1200),
)

_READY = ("ACTIVE", "DEGRADED")
_FAILED = ("CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED")


def _normalise_config(value):
    """Configuration values as a canonical JSON string (or None) so that dicts,
    YAML and JSON text of the same content compare equal."""
    if value in (None, "", {}):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def describe(client, cluster_name, name):
    try:
        return EKS_RETRY(client.describe_addon)(clusterName=cluster_name, addonName=name)["addon"]
    except botocore.exceptions.ClientError as e:
        if not_found(e):
            return None
        raise


def _view(addon):
    if not addon:
        return {}
    return {
        "addon_version": addon.get("addonVersion"),
        "service_account_role_arn": addon.get("serviceAccountRoleArn"),
        "configuration_values": _normalise_config(addon.get("configurationValues")),
        "tags": addon.get("tags") or {},
    }


def _wanted_changes(module, addon):
    """Fields of update_addon that differ from the live add-on (None means 'keep')."""
    p = module.params
    changes = {}
    if p["addon_version"] and p["addon_version"] != addon.get("addonVersion"):
        changes["addonVersion"] = p["addon_version"]
    if p["service_account_role_arn"] is not None and p["service_account_role_arn"] != (
        addon.get("serviceAccountRoleArn") or ""
    ):
        changes["serviceAccountRoleArn"] = p["service_account_role_arn"]
    wanted_config = _normalise_config(p["configuration_values"])
    if p["configuration_values"] is not None and wanted_config != _normalise_config(addon.get("configurationValues")):
        changes["configurationValues"] = wanted_config or ""
    return changes


def _wait_ready(module, client):
    p = module.params

    def ready(addon):
        if addon and addon.get("status") in _FAILED:
            module.fail_json(
                msg="Add-on {0} ended in {1}".format(p["name"], addon["status"]), addon=camel_dict_to_snake_dict(addon)
            )
        return addon is not None and addon.get("status") in _READY

    return wait_for(
        module,
        lambda: describe(client, p["cluster_name"], p["name"]),
        ready,
        timeout=p["wait_timeout"],
        what="add-on {0} on {1} to become active".format(p["name"], p["cluster_name"]),
    )


def ensure_present(module, client, addon):
    p = module.params
    before = _view(addon)
    if addon is None:
        request = dict(clusterName=p["cluster_name"], addonName=p["name"], resolveConflicts=p["resolve_conflicts"])
        if p["addon_version"]:
            request["addonVersion"] = p["addon_version"]
        if p["service_account_role_arn"]:
            request["serviceAccountRoleArn"] = p["service_account_role_arn"]
        config = _normalise_config(p["configuration_values"])
        if config:
            request["configurationValues"] = config
        if p["tags"]:
            request["tags"] = p["tags"]
        after = {
            "addon_version": p["addon_version"],
            "service_account_role_arn": p["service_account_role_arn"],
            "configuration_values": config,
            "tags": p["tags"] or {},
        }
        if module.check_mode:
            return True, None, before, after
        addon = EKS_RETRY(client.create_addon)(**request)["addon"]
        if p["wait"]:
            addon = _wait_ready(module, client)
        return True, addon, before, after

    changes = _wanted_changes(module, addon)
    after = dict(before)
    after.update(
        {
            "addon_version": changes.get("addonVersion", before["addon_version"]),
            "service_account_role_arn": changes.get("serviceAccountRoleArn", before["service_account_role_arn"]),
            "configuration_values": _normalise_config(changes["configurationValues"])
            if "configurationValues" in changes
            else before["configuration_values"],
            "tags": desired_tags(addon.get("tags"), p["tags"], purge=p["purge_tags"]),
        }
    )
    changed = apply_eks_tags(module, client, addon["addonArn"], addon.get("tags"), p["tags"], purge=p["purge_tags"])
    if changes:
        changed = True
        if not module.check_mode:
            EKS_RETRY(client.update_addon)(
                clusterName=p["cluster_name"], addonName=p["name"], resolveConflicts=p["resolve_conflicts"], **changes
            )
            if p["wait"]:
                addon = _wait_ready(module, client)
    if changed and not module.check_mode:
        addon = describe(client, p["cluster_name"], p["name"])
    return changed, addon, before, after


def ensure_absent(module, client, addon):
    p = module.params
    if addon is None:
        return False, None, {}, {}
    before = _view(addon)
    if module.check_mode:
        return True, None, before, {}
    if addon.get("status") != "DELETING":
        EKS_RETRY(client.delete_addon)(clusterName=p["cluster_name"], addonName=p["name"], preserve=p["preserve"])
    if p["wait"]:
        wait_for(
            module,
            lambda: describe(client, p["cluster_name"], p["name"]),
            lambda a: a is None,
            timeout=p["wait_timeout"],
            what="add-on {0} to be deleted".format(p["name"]),
        )
    return True, None, before, {}


def main():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    client = module.client("eks", retry_decorator=EKS_RETRY)
    try:
        addon = describe(client, module.params["cluster_name"], module.params["name"])
        if module.params["state"] == "present":
            changed, addon, before, after = ensure_present(module, client, addon)
        else:
            changed, addon, before, after = ensure_absent(module, client, addon)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(
            e,
            msg="Failed to manage add-on {0} of cluster {1}".format(
                module.params["name"], module.params["cluster_name"]
            ),
        )
    result = dict(changed=changed, addon=camel_dict_to_snake_dict(addon or {}, ignore_list=["tags"]))
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)
