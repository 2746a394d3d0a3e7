#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: eks_access_entry
short_description: Manage Amazon EKS access entries and their access policies
version_added: 0.1.0
description:
  - Grants an IAM principal access to an EKS cluster through an access entry (the API replacing the
    C(aws-auth) ConfigMap) and keeps the entry's Kubernetes groups, username, associated access
    policies (with cluster or namespace scope) and tags as declared.
  - Exists because neither amazon.aws nor community.aws has a module for EKS access entries.
  - The cluster must use the C(API) or C(API_AND_CONFIG_MAP) authentication mode.
  - Supports check mode and diff mode; a second run with the same arguments changes nothing.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  cluster_name:
    description: Name of the EKS cluster.
    type: str
    required: true
  principal_arn:
    description: ARN of the IAM role or user the entry is for.
    type: str
    required: true
  type:
    description: Type of the access entry; it cannot change after creation.
    type: str
    default: STANDARD
    choices: [STANDARD, EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX]
  kubernetes_groups:
    description: Kubernetes groups the principal is mapped to (compared as a set). Omit to leave them alone.
    type: list
    elements: str
  username:
    description: Kubernetes username of the principal. Omit to let EKS choose it and leave it alone.
    type: str
  access_policies:
    description: EKS access policies to associate. Omit to leave associations alone.
    type: list
    elements: dict
    suboptions:
      policy_arn:
        description:
          - ARN of the access policy,
            for example C(arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy).
        type: str
        required: true
      access_scope:
        description: Where the policy applies.
        type: dict
        default: {type: cluster}
        suboptions:
          type:
            description: C(cluster) or C(namespace).
            type: str
            required: true
            choices: [cluster, namespace]
          namespaces:
            description: Namespaces when O(access_policies[].access_scope.type=namespace).
            type: list
            elements: str
            default: []
  purge_access_policies:
    description: Disassociate policies not listed in O(access_policies).
    type: bool
    default: true
  state:
    description: Whether the access entry should exist.
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Make the platform admin role cluster admin
  llm_saas.platform.eks_access_entry:
    cluster_name: llm-saas-production
    principal_arn: arn:aws:iam::123456789012:role/platform-admin
    access_policies:
      - policy_arn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
        access_scope:
          type: cluster

- name: Read-only access to one tenant namespace
  llm_saas.platform.eks_access_entry:
    cluster_name: llm-saas-production
    principal_arn: arn:aws:iam::123456789012:role/tenant-acme-viewer
    kubernetes_groups: [tenant-acme-viewers]
    access_policies:
      - policy_arn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy
        access_scope:
          type: namespace
          namespaces: [tenant-acme]
"""

RETURN = r"""
access_entry:
  description: The access entry as EKS describes it (snake_case keys); empty when absent.
  returned: always
  type: dict
  contains:
    principal_arn:
      description: IAM principal of the entry.
      type: str
    access_entry_arn:
      description: ARN of the access entry.
      type: str
    kubernetes_groups:
      description: Kubernetes groups of the principal.
      type: list
      elements: str
    username:
      description: Kubernetes username of the principal.
      type: str
    type:
      description: Type of the entry.
      type: str
      sample: STANDARD
access_policies:
  description: Associated access policies after the run, as a map of policy ARN to scope.
  returned: always
  type: dict
  sample:
    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy": {type: cluster, namespaces: []}
"""

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.eks_access_entry import main


if __name__ == "__main__":
    main()
