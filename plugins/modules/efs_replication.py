#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: efs_replication
short_description: Manage EFS replication to another region and the automatic backup policy
version_added: 0.1.0
description:
  - Creates or deletes the replication configuration of an EFS file system (one destination,
    in another region or the same one) and switches its AWS Backup automatic backup policy.
  - Exists because no amazon.aws or community.aws module covers C(CreateReplicationConfiguration)
    or C(PutBackupPolicy); M(community.aws.efs) only manages the file system and mount targets
    (and still reads tags through the deprecated C(DescribeTags) API).
  - Both settings protect the same file system against the loss of a region or of data, which is
    why one module carries them.
  - The destination cannot be changed in place; the module fails and says so instead of deleting
    a replica.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  file_system_id:
    description: Id of the source file system.
    type: str
    required: true
  state:
    description: Whether the replication configuration should exist.
    type: str
    default: present
    choices: [present, absent]
  destination:
    description: Where to replicate to. Required when O(state=present).
    type: dict
    suboptions:
      region:
        description: Destination region.
        type: str
        required: true
      file_system_id:
        description: Replicate into this existing file system instead of letting EFS create one.
        type: str
      kms_key_id:
        description: KMS key in the destination region for a new destination file system.
        type: str
      availability_zone_name:
        description: Make a new destination file system One Zone in this AZ.
        type: str
  backup_policy:
    description: Turn automatic AWS Backup backups on or off. Not touched when omitted.
    type: str
    choices: [enabled, disabled]
notes:
  - Supports C(check_mode) and C(diff).
  - Replication runs asynchronously; the destination file system is read-only while replicated.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Back up the model store and replicate it to the DR region
  llm_saas.platform.efs_replication:
    file_system_id: fs-0123456789abcdef0
    backup_policy: enabled
    destination:
      region: us-west-2
      kms_key_id: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
"""

RETURN = r"""
replication:
  description: The replication configuration as EFS describes it, in snake_case (empty when absent).
  returned: always
  type: dict
  sample:
    source_file_system_id: fs-0123456789abcdef0
    destinations: [{"region": "us-west-2", "status": "ENABLED"}]
destination_file_system_id:
  description: Id of the destination file system.
  returned: when replication exists
  type: str
  sample: fs-0fedcba9876543210
backup_policy:
  description: The backup policy after the run, when O(backup_policy) was given.
  returned: always
  type: str
  sample: enabled
"""

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.efs_replication import run_module


def main():
    run_module()


if __name__ == "__main__":
    main()
