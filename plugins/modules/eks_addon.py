#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: eks_addon
short_description: Manage Amazon EKS managed add-ons
version_added: 0.1.0
description:
  - Creates, updates (version, IRSA role, configuration values, tags) and deletes an EKS managed add-on
    such as C(vpc-cni), C(coredns), C(kube-proxy), C(aws-ebs-csi-driver), C(aws-efs-csi-driver) or
    C(eks-pod-identity-agent).
  - Exists because neither amazon.aws nor community.aws has a module for EKS add-ons.
  - Supports check mode and diff mode; a second run with the same arguments changes nothing.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  cluster_name:
    description: Name of the EKS cluster.
    type: str
    required: true
  name:
    description: Name of the add-on, for example C(vpc-cni).
    type: str
    required: true
    aliases: [addon_name]
  addon_version:
    description:
      - Add-on version to run, for example C(v1.19.2-eksbuild.1). Pin it; when omitted EKS picks
        the default version on create and the version is never changed afterwards.
    type: str
  service_account_role_arn:
    description: IAM role (IRSA) the add-on's service account assumes. An empty string removes it.
    type: str
  configuration_values:
    description: Add-on configuration as a dict or a JSON string; compared by content, not text.
    type: raw
  resolve_conflicts:
    description: How EKS resolves conflicts with fields changed outside the add-on.
    type: str
    default: OVERWRITE
    choices: [NONE, OVERWRITE, PRESERVE]
  preserve:
    description: With O(state=absent), keep the add-on's Kubernetes resources in the cluster.
    type: bool
    default: false
  state:
    description: Whether the add-on should exist.
    type: str
    default: present
    choices: [present, absent]
  wait:
    description: Wait until the add-on is C(ACTIVE) (or C(DEGRADED)), or gone for O(state=absent).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 1200
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Run the VPC CNI at a pinned version with its IRSA role
  llm_saas.platform.eks_addon:
    cluster_name: llm-saas-production
    name: vpc-cni
    addon_version: v1.19.2-eksbuild.1
    service_account_role_arn: arn:aws:iam::123456789012:role/llm-saas-production-vpc-cni
    configuration_values:
      env:
        ENABLE_PREFIX_DELEGATION: "true"
    tags:
      Project: llm-saas

- name: Remove the add-on but leave its workloads running
  llm_saas.platform.eks_addon:
    cluster_name: llm-saas-production
    name: coredns
    state: absent
    preserve: true
"""

RETURN = r"""
addon:
  description: The add-on as EKS describes it (keys in snake_case, tags unchanged); empty when absent.
  returned: always
  type: dict
  contains:
    addon_name:
      description: Name of the add-on.
      type: str
      sample: vpc-cni
    addon_version:
      description: Running version.
      type: str
      sample: v1.19.2-eksbuild.1
    status:
      description: Add-on status.
      type: str
      sample: ACTIVE
    addon_arn:
      description: ARN of the add-on.
      type: str
    service_account_role_arn:
      description: IRSA role of the add-on.
      type: str
    configuration_values:
      description: Configuration JSON.
      type: str
    tags:
      description: Tags of the add-on.
      type: dict
"""

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.eks_addon import main


if __name__ == "__main__":
    main()
