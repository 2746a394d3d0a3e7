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
  - With O(state=absent), O(file_system_id) may be either side of the replication, the source or the
    destination (the DR copy) with O(region) set to the destination region; this is how a failover
    ends the replication while the source region is down. The result's RV(role) tells which side it was.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  file_system_id:
    description:
      - Id of the source file system, in O(region).
      - With O(state=absent) it may also be the destination file system of the replication, in the
        destination region (give that region as O(region)); the replication it takes part in is deleted
        either way.
      - With O(state=present) it must be the source; the destination of a replication is refused.
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
      tags:
        description:
          - Tags the destination file system must carry, set with C(TagResource) in O(destination.region).
          - EFS creates a new destination file system untagged and with a random creation token; a Name
            tag here lets a DR failover find the copy in the destination region alone.
          - Keys not listed are left alone (nothing is removed); a tag is only written when missing or
            different. Applied to an existing replication's destination and to one just created.
          - Values are strings; keys must not start with C(aws:). Ignored with O(state=absent).
        type: dict
  backup_policy:
    description: Turn automatic AWS Backup backups on or off. Not touched when omitted.
    type: str
    choices: [enabled, disabled]
  deletion_mode:
    description:
      - How EFS deletes the replication configuration with O(state=absent), sent as C(DeletionMode).
      - When omitted nothing is sent and EFS uses its default, V(ALL_CONFIGURATIONS), which deletes the
        configuration in both the source and the destination region.
      - V(LOCAL_CONFIGURATION_ONLY) deletes it only in O(region), for when the other region is
        unreachable (for example the source region is down during a failover). AWS says to use it only
        after V(ALL_CONFIGURATIONS) failed, as the configuration left in the other region cannot be
        recovered and must be deleted there later; never for a replication within one region and
        account (EFS refuses it, and so does the module, before any change).
      - Only valid with O(state=absent).
    type: str
    choices: [ALL_CONFIGURATIONS, LOCAL_CONFIGURATION_ONLY]
notes:
  - Supports C(check_mode) and C(diff).
  - O(destination.tags) are read and written with a second connection to O(destination.region); the
    credentials need C(elasticfilesystem:ListTagsForResource) and C(elasticfilesystem:TagResource) there.
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
      # EFS creates the copy untagged; the failover below finds it by this Name in us-west-2.
      tags:
        Name: model-store
        Role: dr-copy

- name: DR failover - make the DR copy writable, from the DR region only (us-east-1 is down)
  llm_saas.platform.efs_replication:
    region: us-west-2
    file_system_id: fs-0fedcba9876543210  # the DR copy, found by its Name tag in us-west-2
    state: absent
  register: failover
  ignore_errors: true

- name: Same, when EFS cannot reach the source region to delete the configuration there too
  llm_saas.platform.efs_replication:
    region: us-west-2
    file_system_id: fs-0fedcba9876543210
    state: absent
    deletion_mode: LOCAL_CONFIGURATION_ONLY
  when: failover is failed
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
role:
  description:
    - The side O(file_system_id) is (with O(state=absent), was before the deletion) of the replication,
      V(source) or V(destination); V(destination) when a failover ended the replication from the DR copy.
    - V(source) with O(state=present); null when O(state=absent) found no replication.
  returned: always
  type: str
  sample: destination
source_file_system_id:
  description:
    - Id of the replication's source file system, the one C(DeleteReplicationConfiguration) was given;
      differs from O(file_system_id) when that was the destination.
    - Null when O(state=absent) found no replication.
  returned: always
  type: str
  sample: fs-0123456789abcdef0
destination_tags:
  description:
    - All tags of the destination file system after the run (O(destination.tags) applied; in check
      mode, as they would be).
  returned: when O(destination.tags) is given and O(state=present)
  type: dict
  sample: {"Name": "model-store", "Role": "dr-copy"}
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
