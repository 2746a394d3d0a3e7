#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: elasticache_replication_group
short_description: Manage an ElastiCache (Redis OSS / Valkey) replication group
version_added: 0.1.0
description:
  - Creates, updates or deletes an ElastiCache replication group with Multi-AZ, automatic failover,
    encryption at rest and in transit and an AUTH token.
  - Exists because M(community.aws.elasticache) manages single cache clusters only (no replication
    group, hence no Multi-AZ failover or in-transit encryption), and it fails on re-runs against
    cluster descriptions without C(CacheNodes).
  - Settings AWS fixes at creation (O(at_rest_encryption), O(transit_encryption), O(kms_key_id))
    make the module fail with a message instead of silently replacing the group.
  - The AUTH token cannot be read back. It is set at creation, or added with the C(SET) strategy
    when the group has none; rotate it with the AWS API (C(ROTATE)) outside this module.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  replication_group_id:
    description: Replication group identifier.
    type: str
    required: true
    aliases: [name]
  description:
    description: Human readable description; defaults to O(replication_group_id).
    type: str
  state:
    description: Whether the group should exist.
    type: str
    default: present
    choices: [present, absent]
  engine:
    description: Cache engine.
    type: str
    default: redis
    choices: [redis, valkey]
  engine_version:
    description: Engine version, e.g. C(7.1). Changing it upgrades the group.
    type: str
  cache_node_type:
    description: Node type, e.g. C(cache.r6g.large). Required when O(state=present).
    type: str
  num_cache_clusters:
    description: Number of nodes (primary plus replicas). Changes add or remove replicas.
    type: int
    default: 2
  automatic_failover:
    description: Promote a replica automatically when the primary fails. Needs O(num_cache_clusters) of at least 2.
    type: bool
    default: true
  multi_az:
    description: Spread nodes over availability zones. Requires O(automatic_failover=true).
    type: bool
    default: true
  cache_subnet_group:
    description: Cache subnet group name (creation only).
    type: str
  security_group_ids:
    description: VPC security group ids.
    type: list
    elements: str
  cache_parameter_group:
    description: Cache parameter group name (creation only).
    type: str
  port:
    description: Port the nodes listen on (creation only).
    type: int
    default: 6379
  at_rest_encryption:
    description: Encrypt data at rest (creation only).
    type: bool
    default: true
  transit_encryption:
    description: TLS between clients and nodes (creation only).
    type: bool
    default: true
  kms_key_id:
    description: KMS key for encryption at rest (creation only). Requires O(at_rest_encryption=true).
    type: str
  auth_token:
    description:
      - Redis AUTH token, 16 to 128 printable characters. Requires O(transit_encryption=true).
      - Used at creation, or to add a token to a group that has none.
    type: str
  snapshot_retention_limit:
    description: Days automatic snapshots are kept; C(0) disables them.
    type: int
  snapshot_window:
    description: Daily UTC range for snapshots, e.g. C(02:00-03:00).
    type: str
  preferred_maintenance_window:
    description: Weekly UTC range for maintenance, e.g. C(sun:05:30-sun:06:30).
    type: str
  auto_minor_version_upgrade:
    description: Let AWS apply minor engine upgrades.
    type: bool
  apply_immediately:
    description: Apply modifications now instead of in the next maintenance window.
    type: bool
    default: true
  wait:
    description: Wait until the group is C(available) (or gone).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 1800
notes:
  - Supports C(check_mode) and C(diff).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Multi-AZ Redis with TLS and AUTH
  llm_saas.platform.elasticache_replication_group:
    replication_group_id: llm-saas-production-redis
    engine_version: "7.1"
    cache_node_type: cache.r6g.large
    num_cache_clusters: 3
    cache_subnet_group: llm-saas-production-redis
    security_group_ids: [sg-0123456789abcdef0]
    kms_key_id: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    auth_token: "{{ redis_auth_token }}"
    snapshot_retention_limit: 7
    tags:
      Project: llm-saas
"""

RETURN = r"""
replication_group:
  description:
    - The group as described by ElastiCache, in snake_case.
    - Empty when absent, or in check mode before creation.
  returned: always
  type: dict
  sample: {"replication_group_id": "llm-saas-production-redis", "status": "available", "multi_az": "enabled"}
primary_endpoint:
  description: Address and port of the primary.
  returned: when the group exists
  type: dict
  sample: {"address": "master.llm-saas-production-redis.abc123.use1.cache.amazonaws.com", "port": 6379}
reader_endpoint:
  description: Address and port balancing over the replicas.
  returned: when the group exists
  type: dict
  sample: {"address": "replica.llm-saas-production-redis.abc123.use1.cache.amazonaws.com", "port": 6379}
"""

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.elasticache_replication_group import run_module


def main():
    run_module()


if __name__ == "__main__":
    main()
