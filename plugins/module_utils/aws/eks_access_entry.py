# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of llm_saas.platform.eks_access_entry (EKS access entries + access policies)."""

from __future__ import annotations

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

ARGUMENT_SPEC = dict(
    cluster_name=dict(type="str", required=True),
    principal_arn=dict(type="str", required=True),
    type=dict(type="str", default="STANDARD", choices=["STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX"]),
    kubernetes_groups=dict(type="list", elements="str"),
    username=dict(type="str"),
    access_policies=dict(
        type="list",
        elements="dict",
        options=dict(
            policy_arn=dict(type="str", required=True),
            access_scope=dict(
                type="dict",
                default={"type": "cluster"},
                options=dict(
                    type=dict(type="str", required=True, choices=["cluster", "namespace"]),
                    namespaces=dict(type="list", elements="str", default=[]),
                ),
            ),
        ),
    ),
    purge_access_policies=dict(type="bool", default=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    tags=dict(type="dict", aliases=["resource_tags"]),
    purge_tags=dict(type="bool", default=True),
)


def describe(client, cluster_name, principal_arn):
    try:
        return EKS_RETRY(client.describe_access_entry)(clusterName=cluster_name, principalArn=principal_arn)[
            "accessEntry"
        ]
    except botocore.exceptions.ClientError as e:
        if not_found(e):
            return None
        raise


def _policies(client, cluster_name, principal_arn):
    result = {}
    kwargs = dict(clusterName=cluster_name, principalArn=principal_arn)
    while True:
        page = EKS_RETRY(client.list_associated_access_policies)(**kwargs)
        for item in page.get("associatedAccessPolicies", []):
            scope = item.get("accessScope", {})
            result[item["policyArn"]] = {"type": scope.get("type"), "namespaces": sorted(scope.get("namespaces") or [])}
        if not page.get("nextToken"):
            return result
        kwargs["nextToken"] = page["nextToken"]


def _wanted_policies(module):
    wanted = {}
    for item in module.params["access_policies"] or []:
        scope = item["access_scope"] or {"type": "cluster", "namespaces": []}
        if scope["type"] == "namespace" and not scope.get("namespaces"):
            module.fail_json(
                msg="access_policies[].access_scope.namespaces must list at least one namespace "
                "when access_scope.type is 'namespace' (policy {0})".format(item["policy_arn"])
            )
        namespaces = sorted(scope.get("namespaces") or []) if scope["type"] == "namespace" else []
        wanted[item["policy_arn"]] = {"type": scope["type"], "namespaces": namespaces}
    return wanted


def _view(entry, policies):
    if not entry:
        return {}
    return {
        "type": entry.get("type"),
        "kubernetes_groups": sorted(entry.get("kubernetesGroups") or []),
        "username": entry.get("username"),
        "access_policies": policies,
        "tags": entry.get("tags") or {},
    }


def _sync_policies(module, client, current, wanted):
    """Associate missing/changed scopes, disassociate extras when purging."""
    p = module.params
    changed = False
    if p["access_policies"] is None:
        return False, current
    result = dict(current)
    for arn, scope in wanted.items():
        if current.get(arn) == scope:
            continue
        changed = True
        result[arn] = scope
        if not module.check_mode:
            access_scope = {"type": scope["type"]}
            if scope["type"] == "namespace":
                access_scope["namespaces"] = scope["namespaces"]
            EKS_RETRY(client.associate_access_policy)(
                clusterName=p["cluster_name"], principalArn=p["principal_arn"], policyArn=arn, accessScope=access_scope
            )
    if p["purge_access_policies"]:
        for arn in sorted(set(current) - set(wanted)):
            changed = True
            result.pop(arn)
            if not module.check_mode:
                EKS_RETRY(client.disassociate_access_policy)(
                    clusterName=p["cluster_name"], principalArn=p["principal_arn"], policyArn=arn
                )
    return changed, result


def ensure_present(module, client, entry):
    p = module.params
    wanted = _wanted_policies(module)
    if entry is None:
        after = {
            "type": p["type"],
            "kubernetes_groups": sorted(p["kubernetes_groups"] or []),
            "username": p["username"],
            "access_policies": wanted,
            "tags": p["tags"] or {},
        }
        if module.check_mode:
            return True, None, {}, after
        request = dict(clusterName=p["cluster_name"], principalArn=p["principal_arn"], type=p["type"])
        if p["kubernetes_groups"]:
            request["kubernetesGroups"] = p["kubernetes_groups"]
        if p["username"]:
            request["username"] = p["username"]
        if p["tags"]:
            request["tags"] = p["tags"]
        EKS_RETRY(client.create_access_entry)(**request)
        _sync_policies(module, client, {}, wanted)
        return True, describe(client, p["cluster_name"], p["principal_arn"]), {}, after

    if entry.get("type") and entry["type"] != p["type"]:
        module.fail_json(
            msg="Access entry for {0} has type {1}; the type of an access entry cannot change: "
            "delete it (state=absent) first or set type: {1}".format(p["principal_arn"], entry["type"])
        )
    current_policies = _policies(client, p["cluster_name"], p["principal_arn"])
    before = _view(entry, current_policies)
    update = {}
    if p["kubernetes_groups"] is not None and sorted(p["kubernetes_groups"]) != before["kubernetes_groups"]:
        update["kubernetesGroups"] = p["kubernetes_groups"]
    if p["username"] is not None and p["username"] != before["username"]:
        update["username"] = p["username"]
    changed = bool(update)
    if update and not module.check_mode:
        EKS_RETRY(client.update_access_entry)(clusterName=p["cluster_name"], principalArn=p["principal_arn"], **update)
    policies_changed, policies_after = _sync_policies(module, client, current_policies, wanted)
    tags_changed = apply_eks_tags(
        module, client, entry["accessEntryArn"], entry.get("tags"), p["tags"], purge=p["purge_tags"]
    )
    changed = changed or policies_changed or tags_changed
    after = dict(before)
    after.update(
        {
            "kubernetes_groups": sorted(update.get("kubernetesGroups", before["kubernetes_groups"])),
            "username": update.get("username", before["username"]),
            "access_policies": policies_after,
            "tags": desired_tags(entry.get("tags"), p["tags"], purge=p["purge_tags"]),
        }
    )
    if changed and not module.check_mode:
        entry = describe(client, p["cluster_name"], p["principal_arn"])
    return changed, entry, before, after


def ensure_absent(module, client, entry):
    p = module.params
    if entry is None:
        return False, None, {}, {}
    before = _view(entry, _policies(client, p["cluster_name"], p["principal_arn"]))
    if not module.check_mode:
        # Deleting the entry also removes its policy associations.
        EKS_RETRY(client.delete_access_entry)(clusterName=p["cluster_name"], principalArn=p["principal_arn"])
    return True, None, before, {}


def main():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    client = module.client("eks", retry_decorator=EKS_RETRY)
    p = module.params
    # Bad input fails before any AWS call.
    _wanted_policies(module)
    try:
        entry = describe(client, p["cluster_name"], p["principal_arn"])
        if p["state"] == "present":
            changed, entry, before, after = ensure_present(module, client, entry)
        else:
            changed, entry, before, after = ensure_absent(module, client, entry)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(
            e,
            msg="Failed to manage the access entry of {0} on cluster {1}".format(p["principal_arn"], p["cluster_name"]),
        )
    result = dict(
        changed=changed,
        access_entry=camel_dict_to_snake_dict(entry or {}, ignore_list=["tags"]),
        access_policies=after.get("access_policies", {}),
    )
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)
