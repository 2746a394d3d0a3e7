# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of llm_saas.platform.securityhub_standards (Security Hub of one region and its enabled standards)."""

from __future__ import annotations

import re

try:
    import botocore
except ImportError:
    botocore = None  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# Security Hub throttles with TooManyRequestsException / LimitExceededException (REST-JSON), unknown to the
# default jittered_backoff.
SECURITYHUB_RETRY = AWSRetry.jittered_backoff(
    retries=10, catch_extra_error_codes=["TooManyRequestsException", "LimitExceededException", "ThrottlingException"]
)

# A standard is named by its ARN or by what follows "standards/" (or "ruleset/" for CIS 1.2.0) in it.
STANDARD_ID = re.compile(r"^(arn:[a-z-]+:securityhub:[a-z0-9-]*::(standards|ruleset)/)?[a-z0-9-]+/v/[0-9.]+$")
# A subscription that is going away no longer counts as enabled; every other status does (PENDING and
# INCOMPLETE settle on their own, and re-enabling a FAILED one would be reported as a change on every run).
GONE = ("DELETING",)

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    standards=dict(type="list", elements="str"),
    purge_standards=dict(type="bool", default=True),
)


def check_input(module):
    for standard in module.params["standards"] or []:
        if not STANDARD_ID.match(standard):
            module.fail_json(
                msg="standards: {0!r} is neither a Security Hub standards ARN nor a standard id such as "
                "cis-aws-foundations-benchmark/v/3.0.0 or aws-foundational-security-best-practices/v/1.0.0".format(
                    standard
                )
            )


def standard_id(arn):
    """cis-aws-foundations-benchmark/v/3.0.0 of arn:aws:securityhub:us-east-1::standards/cis-aws-...."""
    return re.sub(r"^arn:[^:]+:securityhub:[^:]*:[^:]*:(standards|ruleset)/", "", arn)


def describe_hub(client):
    try:
        hub = SECURITYHUB_RETRY(client.describe_hub)()
    except botocore.exceptions.ClientError as e:
        # Not subscribed: InvalidAccessException (documented), ResourceNotFoundException (seen on some accounts).
        if is_boto3_error_code(["InvalidAccessException", "ResourceNotFoundException"], e=e):
            return None
        raise
    hub.pop("ResponseMetadata", None)
    return hub


def _paged(call, key, **kwargs):
    items = []
    while True:
        page = SECURITYHUB_RETRY(call)(**kwargs)
        items.extend(page.get(key, []))
        if not page.get("NextToken"):
            return items
        kwargs["NextToken"] = page["NextToken"]


def enabled_standards(client):
    """{StandardsArn: subscription} of every subscription not being deleted."""
    subscriptions = _paged(client.get_enabled_standards, "StandardsSubscriptions")
    return {s["StandardsArn"]: s for s in subscriptions if s.get("StandardsStatus") not in GONE}


def resolve(module, client):
    """Map each wanted standard to the ARN DescribeStandards lists in this region (right partition, right form)."""
    available = [s["StandardsArn"] for s in _paged(client.describe_standards, "Standards")]
    by_id = {standard_id(arn): arn for arn in available}
    wanted = []
    for standard in module.params["standards"]:
        arn = standard if standard in available else by_id.get(standard_id(standard))
        if arn is None:
            module.fail_json(
                msg="standards: {0} is not available in {1}; available: {2}".format(
                    standard, client.meta.region_name, ", ".join(sorted(by_id))
                )
            )
        if arn not in wanted:
            wanted.append(arn)
    return wanted


def _view(hub, subscriptions):
    if hub is None:
        return {}
    view = {"hub_arn": hub.get("HubArn")}
    if subscriptions is not None:
        view["standards"] = sorted(subscriptions)
    return view


def ensure_present(module, client, hub):
    p = module.params
    changed = False
    before = _view(hub, None)
    if hub is None:
        if module.check_mode:
            # Without a hub there is nothing to read the standards from: all of them would be enabled.
            standards = {s: "PENDING" for s in p["standards"] or []}
            return True, None, standards, {}, _view({"HubArn": None}, standards if p["standards"] is not None else None)
        changed = True
        # Default standards would add ones nobody asked for; the list below is the whole truth.
        SECURITYHUB_RETRY(client.enable_security_hub)(EnableDefaultStandards=False)
        hub = describe_hub(client) or {}
    if p["standards"] is None:
        return changed, hub, {}, before, _view(hub, None)

    wanted = resolve(module, client)
    current = enabled_standards(client)
    if before:
        before["standards"] = sorted(current)
    to_enable = [arn for arn in wanted if arn not in current]
    to_disable = sorted(set(current) - set(wanted)) if p["purge_standards"] else []
    result = {arn: current[arn].get("StandardsStatus") for arn in current if arn not in to_disable}
    result.update({arn: "PENDING" for arn in to_enable})
    for arn, subscription in current.items():
        if subscription.get("StandardsStatus") in ("FAILED", "INCOMPLETE"):
            module.warn(
                "Security Hub standard {0} is {1}: {2}".format(
                    arn,
                    subscription["StandardsStatus"],
                    (subscription.get("StandardsStatusReason") or {}).get("StatusReasonCode", "no reason given"),
                )
            )
    if (to_enable or to_disable) and not module.check_mode:
        if to_disable:
            SECURITYHUB_RETRY(client.batch_disable_standards)(
                StandardsSubscriptionArns=[current[arn]["StandardsSubscriptionArn"] for arn in to_disable]
            )
        if to_enable:
            SECURITYHUB_RETRY(client.batch_enable_standards)(
                StandardsSubscriptionRequests=[{"StandardsArn": arn} for arn in to_enable]
            )
    changed = changed or bool(to_enable or to_disable)
    after = {"hub_arn": hub.get("HubArn"), "standards": sorted(result)}
    return changed, hub, result, before, after


def ensure_absent(module, client, hub):
    if hub is None:
        return False, None, {}, {}, {}
    before = _view(hub, None)
    if not module.check_mode:
        # Disabling the hub drops its standards and findings with it.
        SECURITYHUB_RETRY(client.disable_security_hub)()
    return True, None, {}, before, {}


def main():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    # Bad input fails before any AWS call.
    check_input(module)
    client = module.client("securityhub", retry_decorator=SECURITYHUB_RETRY)
    try:
        hub = describe_hub(client)
        if module.params["state"] == "present":
            changed, hub, standards, before, after = ensure_present(module, client, hub)
        else:
            changed, hub, standards, before, after = ensure_absent(module, client, hub)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to manage Security Hub")
    result = dict(changed=changed, hub_arn=(hub or {}).get("HubArn"), standards=standards)
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)
