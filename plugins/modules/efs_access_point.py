#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: efs_access_point
short_description: Manage one named access point of an EFS file system
version_added: 0.1.0
description:
  - Creates, re-tags or deletes an EFS access point, found by its C(Name) tag among the access points
    of O(file_system_id); a retried create reuses the first one (the client token derives from the
    file system and the name).
  - Every request through the access point runs as O(posix_user), confined to O(root_directory),
    which EFS creates with O(root_directory.creation_info) on first use.
  - Exists because amazon.aws and community.aws have no access point module.
  - EFS cannot change the POSIX user or root directory of an access point; the module fails and
    names the fix instead of replacing it under mounted clients. Only tags are updated in place.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  file_system_id:
    description: Id of the file system the access point belongs to.
    type: str
    required: true
  name:
    description: Value of the access point's C(Name) tag, unique within the file system.
    type: str
    required: true
  state:
    description: Whether the access point should exist.
    type: str
    default: present
    choices: [present, absent]
  posix_user:
    description:
      - The identity every file system request through the access point uses, whatever the client
        claims. Required when O(state=present).
    type: dict
    suboptions:
      uid:
        description: POSIX user id, 0 to 4294967295.
        type: int
        required: true
      gid:
        description: POSIX group id, 0 to 4294967295.
        type: int
        required: true
      secondary_gids:
        description: Secondary group ids (at most 16).
        type: list
        elements: int
        default: []
  root_directory:
    description: The directory clients see as the root of the file system.
    type: dict
    suboptions:
      path:
        description: Absolute path in the file system, at most 100 characters.
        type: str
        default: /
      creation_info:
        description:
          - Owner and permissions EFS creates O(root_directory.path) with when it does not exist.
          - Required for a path other than C(/), since mounts fail while the directory is missing.
        type: dict
        suboptions:
          owner_uid:
            description: Owner user id.
            type: int
            required: true
          owner_gid:
            description: Owner group id.
            type: int
            required: true
          permissions:
            description: Octal mode, for example C(0750).
            type: str
            required: true
  tags:
    description: Tags besides C(Name); tags not listed here are removed.
    type: dict
    default: {}
  wait:
    description: Wait until the access point is C(available) after creating it.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait with O(wait=true).
    type: int
    default: 120
notes:
  - Supports C(check_mode) and C(diff).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Model store access point (uid/gid 1000, its own directory)
  llm_saas.platform.efs_access_point:
    file_system_id: fs-0123456789abcdef0
    name: llm-saas-prod-model-store
    posix_user:
      uid: 1000
      gid: 1000
    root_directory:
      path: /models
      creation_info:
        owner_uid: 1000
        owner_gid: 1000
        permissions: "0750"
  register: model_store_ap

- name: Remove it
  llm_saas.platform.efs_access_point:
    file_system_id: fs-0123456789abcdef0
    name: llm-saas-prod-model-store
    state: absent
"""

RETURN = r"""
access_point_id:
  description: Id of the access point (null when absent or about to be created in check mode).
  returned: always
  type: str
  sample: fsap-0123456789abcdef0
access_point:
  description: The access point as EFS describes it, in snake_case, tags as a dict.
  returned: always
  type: dict
  sample:
    access_point_id: fsap-0123456789abcdef0
    file_system_id: fs-0123456789abcdef0
    posix_user: {uid: 1000, gid: 1000}
    root_directory: {path: /models, creation_info: {owner_uid: 1000, owner_gid: 1000, permissions: "0750"}}
    life_cycle_state: available
    tags: {Name: llm-saas-prod-model-store}
"""

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.efs_access_point import main


if __name__ == "__main__":
    main()
