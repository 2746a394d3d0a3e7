#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: s3_bucket_replication
short_description: Manage the replication configuration of an S3 bucket
version_added: 0.1.0
description:
  - Creates, updates or removes the replication configuration (CRR/SRR rules) of an S3 bucket.
  - Exists because neither M(amazon.aws.s3_bucket) nor any community.aws module manages
    C(PutBucketReplication); the platform needs cross-region replication of the model and
    backup buckets to the DR region.
  - Compares only the fields it manages, so S3's echoed defaults do not cause a change on every run.
  - Both buckets must have versioning enabled; the IAM role needs the usual replication permissions.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  bucket:
    description: Name of the source bucket.
    type: str
    required: true
    aliases: [name]
  state:
    description: Whether the replication configuration should exist. V(absent) removes all rules.
    type: str
    default: present
    choices: [present, absent]
  role:
    description:
      - ARN of the IAM role S3 assumes to replicate objects.
      - Required when O(state=present).
    type: str
  rules:
    description:
      - The complete list of rules. Rules not listed are removed.
      - Required when O(state=present).
    type: list
    elements: dict
    suboptions:
      id:
        description: Unique rule identifier.
        type: str
        required: true
      priority:
        description: Rule priority; defaults to the rule's position in the list, starting at 1.
        type: int
      status:
        description: Whether the rule is active.
        type: str
        default: enabled
        choices: [enabled, disabled]
      prefix:
        description: Only objects whose key starts with this prefix are replicated; empty means all objects.
        type: str
        default: ""
      delete_marker_replication:
        description: Replicate delete markers too.
        type: bool
        default: false
      sse_kms_encrypted_objects:
        description:
          - Replicate objects encrypted with SSE-KMS.
          - Requires O(rules[].destination.replica_kms_key_id).
        type: bool
        default: false
      replica_modifications:
        description: Replicate metadata changes made on replicas back (needed for two-way replication).
        type: bool
        default: false
      replication_time_control:
        description: Enable S3 Replication Time Control (15 minute SLA) and its metrics.
        type: bool
        default: false
      destination:
        description: Where the objects go.
        type: dict
        required: true
        suboptions:
          bucket:
            description: Destination bucket name or ARN.
            type: str
            required: true
          storage_class:
            description: Storage class of the replicas; defaults to the source object's class.
            type: str
            choices:
              - STANDARD
              - REDUCED_REDUNDANCY
              - STANDARD_IA
              - ONEZONE_IA
              - INTELLIGENT_TIERING
              - GLACIER
              - DEEP_ARCHIVE
              - GLACIER_IR
          replica_kms_key_id:
            description: KMS key ARN in the destination region used to encrypt the replicas.
            type: str
          account:
            description: Account id owning the destination bucket (cross-account replication).
            type: str
          owner_override:
            description: Make the destination account own the replicas. Requires O(rules[].destination.account).
            type: bool
            default: false
notes:
  - Supports C(check_mode) and C(diff).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Replicate the model bucket to the DR region
  llm_saas.platform.s3_bucket_replication:
    bucket: llm-saas-production-models-123456789012-us-east-1
    role: arn:aws:iam::123456789012:role/llm-saas-production-s3-replication
    rules:
      - id: dr
        delete_marker_replication: true
        sse_kms_encrypted_objects: true
        destination:
          bucket: llm-saas-production-models-123456789012-us-west-2
          replica_kms_key_id: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
          storage_class: STANDARD_IA

- name: Stop replicating
  llm_saas.platform.s3_bucket_replication:
    bucket: llm-saas-production-models-123456789012-us-east-1
    state: absent
"""

RETURN = r"""
replication_configuration:
  description: The managed part of the replication configuration after the run (empty when absent).
  returned: always
  type: dict
  contains:
    role:
      description: IAM role ARN.
      type: str
      sample: arn:aws:iam::123456789012:role/replication
    rules:
      description: Rules, sorted by id, in snake_case.
      type: list
      elements: dict
      sample: [{"id": "dr", "priority": 1, "status": "Enabled", "filter": {"prefix": ""}}]
"""

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.s3_replication import run_module


def main():
    run_module()


if __name__ == "__main__":
    main()
