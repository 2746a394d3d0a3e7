# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of llm_saas.platform.guardduty_detector (the GuardDuty detector of one region and its features)."""

from __future__ import annotations

try:
    import botocore
except ImportError:
    botocore = None  # AnsibleAWSModule reports the missing library

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import desired_tags
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import tag_changes

# GuardDuty is a REST-JSON service: it throttles with TooManyRequestsException, which the default
# jittered_backoff (Query-protocol codes) does not know.
GUARDDUTY_RETRY = AWSRetry.jittered_backoff(
    retries=10,
    catch_extra_error_codes=["TooManyRequestsException", "ThrottlingException", "InternalServerErrorException"],
)

FEATURES = [
    "S3_DATA_EVENTS",
    "EKS_AUDIT_LOGS",
    "EBS_MALWARE_PROTECTION",
    "RDS_LOGIN_EVENTS",
    "LAMBDA_NETWORK_LOGS",
    "EKS_RUNTIME_MONITORING",
    "RUNTIME_MONITORING",
]
# Which additional configurations GuardDuty accepts under which feature (API_DetectorAdditionalConfiguration).
ADDITIONAL = {
    "EKS_RUNTIME_MONITORING": ["EKS_ADDON_MANAGEMENT"],
    "RUNTIME_MONITORING": ["EKS_ADDON_MANAGEMENT", "ECS_FARGATE_AGENT_MANAGEMENT", "EC2_AGENT_MANAGEMENT"],
}
STATUS = ["ENABLED", "DISABLED"]

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    enable=dict(type="bool", default=True),
    finding_publishing_frequency=dict(type="str", choices=["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"]),
    features=dict(
        type="list",
        elements="dict",
        options=dict(
            name=dict(type="str", required=True, choices=FEATURES),
            status=dict(type="str", default="ENABLED", choices=STATUS),
            additional_configuration=dict(
                type="list",
                elements="dict",
                options=dict(
                    name=dict(
                        type="str",
                        required=True,
                        choices=sorted({n for names in ADDITIONAL.values() for n in names}),
                    ),
                    status=dict(type="str", default="ENABLED", choices=STATUS),
                ),
            ),
        ),
    ),
    tags=dict(type="dict", aliases=["resource_tags"]),
    purge_tags=dict(type="bool", default=True),
)


def wanted_features(module):
    """Validate O(features) and return {name: {"status": ..., "additional": {name: status}}}."""
    wanted = {}
    for item in module.params["features"] or []:
        name = item["name"]
        if name in wanted:
            module.fail_json(msg="features lists {0} twice; list each feature once".format(name))
        additional = {}
        for extra in item["additional_configuration"] or []:
            if extra["name"] not in ADDITIONAL.get(name, []):
                module.fail_json(
                    msg="features[{0}].additional_configuration: {1} does not belong to {0}; allowed: {2}".format(
                        name, extra["name"], ", ".join(ADDITIONAL.get(name, [])) or "none"
                    )
                )
            additional[extra["name"]] = extra["status"]
        wanted[name] = {"status": item["status"], "additional": additional}
    if "RUNTIME_MONITORING" in wanted and "EKS_RUNTIME_MONITORING" in wanted:
        # GuardDuty refuses both in one request: RUNTIME_MONITORING already covers EKS.
        module.fail_json(
            msg="features: list RUNTIME_MONITORING or EKS_RUNTIME_MONITORING, not both "
            "(RUNTIME_MONITORING includes EKS; use its EKS_ADDON_MANAGEMENT additional_configuration)"
        )
    return wanted


def find_detector(client):
    """Return (detector_id, detector) of this region, or (None, None); a region has at most one."""
    ids = []
    kwargs = {}
    while True:
        page = GUARDDUTY_RETRY(client.list_detectors)(**kwargs)
        ids.extend(page.get("DetectorIds", []))
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    if not ids:
        return None, None
    detector = GUARDDUTY_RETRY(client.get_detector)(DetectorId=ids[0])
    detector.pop("ResponseMetadata", None)
    return ids[0], detector


def current_features(detector):
    result = {}
    for feature in detector.get("Features") or []:
        result[feature["Name"]] = {
            "status": feature.get("Status"),
            "additional": {a["Name"]: a.get("Status") for a in feature.get("AdditionalConfiguration") or []},
        }
    return result


def _view(detector):
    """What the diff shows: the settings this module manages."""
    if not detector:
        return {}
    return {
        "status": detector.get("Status"),
        "finding_publishing_frequency": detector.get("FindingPublishingFrequency"),
        "features": current_features(detector),
        "tags": detector.get("Tags") or {},
    }


def features_to_change(current, wanted):
    """Features whose status or listed additional configurations differ, as the API expects them."""
    request = []
    for name, want in wanted.items():
        have = current.get(name, {"status": None, "additional": {}})
        additional_differs = any(have["additional"].get(k) != v for k, v in want["additional"].items())
        if have["status"] == want["status"] and not additional_differs:
            continue
        feature = {"Name": name, "Status": want["status"]}
        if want["additional"]:
            feature["AdditionalConfiguration"] = [
                {"Name": k, "Status": v} for k, v in sorted(want["additional"].items())
            ]
        request.append(feature)
    return request


def _request_features(wanted):
    return features_to_change({}, wanted)


def _merged_features(current, wanted):
    result = {name: {"status": f["status"], "additional": dict(f["additional"])} for name, f in current.items()}
    for name, want in wanted.items():
        merged = result.setdefault(name, {"status": None, "additional": {}})
        merged["status"] = want["status"]
        merged["additional"].update(want["additional"])
    return result


def _arn(module, client, detector_id):
    account = module.client("sts").get_caller_identity()["Account"]
    partition = client.meta.partition
    return "arn:{0}:guardduty:{1}:{2}:detector/{3}".format(partition, client.meta.region_name, account, detector_id)


def ensure_present(module, client, detector_id, detector, wanted):
    p = module.params
    status = "ENABLED" if p["enable"] else "DISABLED"
    if detector is None:
        after = {
            "status": status,
            "finding_publishing_frequency": p["finding_publishing_frequency"] or "SIX_HOURS",
            "features": _merged_features({}, wanted),
            "tags": p["tags"] or {},
        }
        if module.check_mode:
            return True, None, None, {}, after
        request = dict(Enable=p["enable"])
        if p["finding_publishing_frequency"]:
            request["FindingPublishingFrequency"] = p["finding_publishing_frequency"]
        if wanted:
            request["Features"] = _request_features(wanted)
        if p["tags"]:
            request["Tags"] = p["tags"]
        detector_id = GUARDDUTY_RETRY(client.create_detector)(**request)["DetectorId"]
        detector = GUARDDUTY_RETRY(client.get_detector)(DetectorId=detector_id)
        detector.pop("ResponseMetadata", None)
        return True, detector_id, detector, {}, after

    before = _view(detector)
    update = {}
    if before["status"] != status:
        update["Enable"] = p["enable"]
    frequency = p["finding_publishing_frequency"]
    if frequency and before["finding_publishing_frequency"] != frequency:
        update["FindingPublishingFrequency"] = frequency
    if features_to_change(before["features"], wanted):
        # Every declared feature, not only the differing ones: the request then states the whole declared
        # configuration, which AWS applies feature by feature (and an emulator replacing the list keeps it).
        update["Features"] = _request_features(wanted)
    to_set, to_remove = tag_changes(before["tags"], p["tags"], p["purge_tags"])
    changed = bool(update or to_set or to_remove)
    after = {
        "status": status,
        "finding_publishing_frequency": frequency or before["finding_publishing_frequency"],
        "features": _merged_features(before["features"], wanted),
        "tags": desired_tags(before["tags"], p["tags"], purge=p["purge_tags"]),
    }
    if not changed or module.check_mode:
        return changed, detector_id, detector, before, after
    if update:
        # UpdateDetector requires Enable; unchanged fields are sent as they are.
        update.setdefault("Enable", p["enable"])
        GUARDDUTY_RETRY(client.update_detector)(DetectorId=detector_id, **update)
    if to_set or to_remove:
        arn = _arn(module, client, detector_id)
        if to_remove:
            GUARDDUTY_RETRY(client.untag_resource)(ResourceArn=arn, TagKeys=to_remove)
        if to_set:
            GUARDDUTY_RETRY(client.tag_resource)(ResourceArn=arn, Tags=to_set)
    detector = GUARDDUTY_RETRY(client.get_detector)(DetectorId=detector_id)
    detector.pop("ResponseMetadata", None)
    return True, detector_id, detector, before, after


def ensure_absent(module, client, detector_id, detector):
    if detector is None:
        return False, None, None, {}, {}
    before = _view(detector)
    if not module.check_mode:
        # Deleting the detector discards its findings: state=absent is an explicit decision.
        GUARDDUTY_RETRY(client.delete_detector)(DetectorId=detector_id)
    return True, None, None, before, {}


def main():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    # Bad input fails before any AWS call.
    wanted = wanted_features(module)
    client = module.client("guardduty", retry_decorator=GUARDDUTY_RETRY)
    try:
        detector_id, detector = find_detector(client)
        if module.params["state"] == "present":
            changed, detector_id, detector, before, after = ensure_present(
                module, client, detector_id, detector, wanted
            )
        else:
            changed, detector_id, detector, before, after = ensure_absent(module, client, detector_id, detector)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to manage the GuardDuty detector")
    result = dict(
        changed=changed,
        detector_id=detector_id,
        detector=camel_dict_to_snake_dict(detector or {}, ignore_list=["Tags"]),
    )
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)
