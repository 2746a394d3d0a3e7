#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: guardduty_detector
short_description: Manage the Amazon GuardDuty detector of a region and its protection features
version_added: 0.1.0
description:
  - Makes sure the region has a GuardDuty detector (a region has at most one per account), enabled or
    suspended, with the finding publishing frequency and the protection features (EKS audit logs, runtime
    monitoring with its EKS add-on management, S3 data events, EBS malware protection, ...) as declared.
  - Exists because neither amazon.aws nor community.aws has a module for GuardDuty.
  - Only the features listed in O(features) are compared and changed; the others keep their state.
  - Supports check mode and diff mode; a second run with the same arguments changes nothing.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  state:
    description:
      - Whether the detector should exist.
      - V(absent) deletes the detector and with it every finding it holds.
    type: str
    default: present
    choices: [present, absent]
  enable:
    description: Whether the detector runs (V(false) suspends it and keeps its findings).
    type: bool
    default: true
  finding_publishing_frequency:
    description:
      - How often updated findings are published to EventBridge (and so to Security Hub).
      - Omit to leave it as it is (GuardDuty creates detectors with V(SIX_HOURS)).
    type: str
    choices: [FIFTEEN_MINUTES, ONE_HOUR, SIX_HOURS]
  features:
    description:
      - Protection features to set. Features not listed are left alone.
      - V(RUNTIME_MONITORING) and V(EKS_RUNTIME_MONITORING) cannot both be listed; the former covers EKS.
    type: list
    elements: dict
    suboptions:
      name:
        description: GuardDuty feature name.
        type: str
        required: true
        choices:
          - S3_DATA_EVENTS
          - EKS_AUDIT_LOGS
          - EBS_MALWARE_PROTECTION
          - RDS_LOGIN_EVENTS
          - LAMBDA_NETWORK_LOGS
          - EKS_RUNTIME_MONITORING
          - RUNTIME_MONITORING
      status:
        description: Whether the feature is on.
        type: str
        default: ENABLED
        choices: [ENABLED, DISABLED]
      additional_configuration:
        description:
          - Additional configurations of the feature; those not listed are left alone.
          - V(EKS_ADDON_MANAGEMENT) lets GuardDuty install and update its security agent add-on on EKS clusters
            (O(features[].name=RUNTIME_MONITORING) or O(features[].name=EKS_RUNTIME_MONITORING));
            V(ECS_FARGATE_AGENT_MANAGEMENT) and V(EC2_AGENT_MANAGEMENT) belong to V(RUNTIME_MONITORING) only.
        type: list
        elements: dict
        suboptions:
          name:
            description: Additional configuration name.
            type: str
            required: true
            choices: [EC2_AGENT_MANAGEMENT, ECS_FARGATE_AGENT_MANAGEMENT, EKS_ADDON_MANAGEMENT]
          status:
            description: Whether it is on.
            type: str
            default: ENABLED
            choices: [ENABLED, DISABLED]
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: GuardDuty with EKS audit logs and runtime monitoring (agent managed by GuardDuty)
  llm_saas.platform.guardduty_detector:
    finding_publishing_frequency: FIFTEEN_MINUTES
    features:
      - name: EKS_AUDIT_LOGS
      - name: RUNTIME_MONITORING
        additional_configuration:
          - name: EKS_ADDON_MANAGEMENT
    tags:
      Project: llm-saas

- name: Suspend GuardDuty in a sandbox region (findings are kept)
  llm_saas.platform.guardduty_detector:
    enable: false
"""

RETURN = r"""
detector_id:
  description: Id of the region's detector; null when there is none (or in check mode before creation).
  returned: always
  type: str
  sample: 12abc34d567e8fa901bc2d34e56789f0
detector:
  description: The detector as GetDetector returns it (snake_case keys, tags as they are); empty when absent.
  returned: always
  type: dict
  contains:
    status:
      description: C(ENABLED) or C(DISABLED).
      type: str
    finding_publishing_frequency:
      description: Publishing frequency of updated findings.
      type: str
    service_role:
      description: Service-linked role GuardDuty uses.
      type: str
    features:
      description: Every feature with its status and additional configurations.
      type: list
      elements: dict
    tags:
      description: Tags of the detector.
      type: dict
"""

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.guardduty_detector import main


if __name__ == "__main__":
    main()
