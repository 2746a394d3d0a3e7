#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: eks_cluster_settings
short_description: Set the endpoint access, logging, secrets encryption and IAM OIDC provider of an EKS cluster
version_added: 0.1.0
description:
  - Converges the settings of an existing Amazon EKS cluster that M(community.aws.eks_cluster) has no options
    for, namely the private and public API endpoint, the CIDR allow-list of the public endpoint, control-plane
    logging, envelope encryption of Kubernetes secrets with a KMS key, and the IAM OpenID Connect provider of
    the cluster's issuer (for IAM roles for service accounts).
  - Every change is planned from one read of the cluster before any is made, so a request EKS would refuse
    fails with nothing changed. EKS runs one update of a cluster at a time; the module waits for each
    (the cluster back to C(ACTIVE)) before the next.
  - Secrets encryption can only be turned on, never changed nor removed; a different O(secrets_kms_key_arn)
    for a cluster whose secrets are encrypted fails.
  - The OIDC provider is always created when missing (audience C(sts.amazonaws.com)); it is never deleted.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  name:
    description: Name of the EKS cluster, which must exist (except in check mode, which then reports a change).
    type: str
    required: true
    aliases: [cluster_name]
  endpoint_private_access:
    description: Whether the Kubernetes API is reachable from inside the VPC.
    type: bool
    required: true
  endpoint_public_access:
    description:
      - Whether the Kubernetes API is reachable from the internet, from O(public_access_cidrs) only.
      - At least one of O(endpoint_private_access) and O(endpoint_public_access) must be true.
    type: bool
    required: true
  public_access_cidrs:
    description:
      - IPv4 CIDR blocks allowed to reach the public endpoint, compared as a set.
      - Required (not empty) with O(endpoint_public_access=true), since EKS would otherwise open the endpoint
        to C(0.0.0.0/0); write C(0.0.0.0/0) to mean that.
      - Neither sent nor compared with O(endpoint_public_access=false).
    type: list
    elements: str
    default: []
  log_types:
    description:
      - Control-plane log types sent to CloudWatch Logs; the others are turned off. An empty list turns all off.
      - Omit to leave logging alone.
    type: list
    elements: str
    choices: [api, audit, authenticator, controllerManager, scheduler]
  secrets_kms_key_arn:
    description:
      - ARN of the KMS key that envelope-encrypts the cluster's Kubernetes secrets (AssociateEncryptionConfig).
      - Omit it (or pass an empty string) to leave encryption alone.
      - EKS cannot change or remove the key once set; a different key fails before anything changes.
    type: str
  tags:
    description:
      - Tags the IAM OIDC provider is created with.
      - The tags of an existing provider are not compared nor changed.
    type: dict
  emulated:
    description:
      - Test-only workaround for emulators, to be true only against moto, never against AWS.
      - moto's UpdateClusterConfig replaces C(resourcesVpcConfig) instead of merging it, so an endpoint access
        update would drop the cluster's subnets and security groups; with O(emulated=true) the update resends
        the current subnet and security group ids. On AWS the update carries only the access settings.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for each update of the cluster (and for the cluster to be C(ACTIVE)).
    type: int
    default: 1800
notes:
  - Supports C(check_mode) (reads only) and C(diff).
  - Needs C(eks:DescribeCluster), C(eks:UpdateClusterConfig), C(eks:DescribeUpdate),
    C(eks:AssociateEncryptionConfig), C(iam:ListOpenIDConnectProviders), C(iam:CreateOpenIDConnectProvider)
    and C(iam:TagOpenIDConnectProvider); the role of the cluster needs the KMS key's grant permissions.
seealso:
  - module: community.aws.eks_cluster
  - module: llm_saas.platform.eks_addon
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Private and allow-listed public endpoint, all control-plane logs, encrypted secrets, IRSA
  llm_saas.platform.eks_cluster_settings:
    name: llm-saas-production
    endpoint_private_access: true
    endpoint_public_access: true
    public_access_cidrs: [203.0.113.0/24]
    log_types: [api, audit, authenticator, controllerManager, scheduler]
    secrets_kms_key_arn: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    tags:
      Project: llm-saas
  register: settings

- name: Show what a kubeconfig and IRSA trust policies need
  ansible.builtin.debug:
    msg: "{{ settings.cluster.endpoint }} {{ settings.cluster.oidc_provider_arn }}"

- name: Private endpoint only, logging left alone
  llm_saas.platform.eks_cluster_settings:
    name: llm-saas-production
    endpoint_private_access: true
    endpoint_public_access: false
"""

RETURN = r"""
cluster:
  description:
    - The cluster after the change (before it in check mode).
    - Empty in check mode when the cluster does not exist yet.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the cluster.
      type: str
      sample: llm-saas-production
    arn:
      description: ARN of the cluster.
      type: str
      sample: arn:aws:eks:us-east-1:123456789012:cluster/llm-saas-production
    endpoint:
      description: URL of the Kubernetes API.
      type: str
      sample: https://0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com
    certificate_authority:
      description: Base64 PEM of the cluster's certificate authority (kubeconfig C(certificate-authority-data)).
      type: str
    oidc_issuer:
      description: URL of the cluster's OIDC issuer.
      type: str
      sample: https://oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF
    oidc_provider_arn:
      description: ARN of the IAM OIDC provider of the issuer (null in check mode before it is created).
      type: str
      sample: arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF
    cluster_security_group_id:
      description: The security group EKS made for the cluster (null when it has none).
      type: str
      sample: sg-0123456789abcdef0
"""

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.eks_cluster_settings import main


if __name__ == "__main__":
    main()
