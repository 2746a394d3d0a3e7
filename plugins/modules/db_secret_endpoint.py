#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: db_secret_endpoint
short_description: Point JSON database secrets in Secrets Manager at a database host, or promote replica secrets
version_added: 0.1.0
description:
  - Sets the host (and optionally the port) keys of JSON secrets in one region, keeping every
    other key (user names, passwords) as it is. Used by the DR failover and failback to point the
    platform's and tenants' database secrets at a promoted writer. One call handles any number of
    secrets (a failover with hundreds of tenants must not pay a module start per tenant).
  - A replica secret (one replicated from another region) is read-only. With
    O(promote_replica=true) it is first turned into a standalone secret of this region
    (C(StopReplicationToReplica)), which is what a region failover needs.
  - Without O(host) (and O(port)) no key is changed and the secret's value is not even read, so the
    secret need not hold a JSON object. With O(promote_replica=true) the module then only makes
    replica secrets standalone secrets of the region, for example the Redis AUTH-token secret (a
    JSON object with the key C(auth_token) and no host), so that the converge in the DR region can
    manage it. Without O(promote_replica) it only reports which secrets exist and which are
    replicas.
  - Exists because M(community.aws.secretsmanager_secret) can neither promote a replica secret
    nor change single keys of a JSON secret without knowing (and returning) the others.
  - Never returns secret values; the diff shows the host and port keys and the replica flag only.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  names:
    description: Names or ARNs of the secrets; all get the same host, port and keys.
    type: list
    elements: str
    required: true
    aliases: [name]
  host:
    description:
      - The host the secret must point at. The secret must then hold a JSON object.
      - Omitted means no key is changed and the value is not read (see O(promote_replica)).
      - Must not be empty.
    type: str
  port:
    description:
      - The port the secret must carry. Omitted means the port key is left alone.
      - Requires O(host); a port without a host fails before any change.
    type: int
  host_key:
    description: The key of the JSON object that holds the host.
    type: str
    default: host
  port_key:
    description: The key of the JSON object that holds the port.
    type: str
    default: port
  promote_replica:
    description:
      - When the secret is a replica of a secret in another region, stop its replication first so
        that it becomes a standalone secret of this region. Irreversible for this replica.
      - When V(false), a replica secret whose host differs fails the module.
      - Without O(host) this is all the module does.
    type: bool
    default: false
  missing:
    description:
      - What to do when a secret does not exist in the region (or is scheduled for deletion).
      - V(skip) updates the others and lists the missing ones in RV(missing).
      - V(fail) updates the others too, then fails naming the missing ones.
    type: str
    default: fail
    choices: [fail, skip]
notes:
  - A secret that cannot be changed (a replica without O(promote_replica), a value that is not a
    JSON object while O(host) is given, an AWS error) does not stop the others; the module fails
    at the end naming every such secret, with RV(secrets) and RV(missing) still returned.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Point a tenant's replicated secret in the DR region at the promoted writer
  llm_saas.platform.db_secret_endpoint:
    region: us-west-2
    names:
      - llm-saas/production/tenants/acme/app
      - llm-saas/production/tenants/globex/app
    host: llm-saas-production-postgres-dr.abc.us-west-2.rds.amazonaws.com
    port: 5432
    host_key: db_host
    port_key: db_port
    promote_replica: true

- name: Make the replicated Redis AUTH-token secret a standalone secret of the DR region (no key changes)
  llm_saas.platform.db_secret_endpoint:
    region: us-west-2
    names:
      - llm-saas-production/redis/auth-token
    promote_replica: true
    missing: skip
  register: redis_secret

- name: Fail when the Redis AUTH-token secret was not replicated to the DR region
  ansible.builtin.assert:
    that: redis_secret.missing | length == 0
"""

RETURN = r"""
secrets:
  description: One entry per name, in order (a secret whose update failed is left out, unless it was promoted).
  type: list
  elements: dict
  returned: always
  contains:
    name:
      description: The name as given.
      type: str
    exists:
      description: Whether the secret exists in the region.
      type: bool
    changed:
      description: Whether this secret was (in check mode, would be) changed.
      type: bool
    arn:
      description: ARN of the secret in the region.
      type: str
      returned: when the secret exists
    replica:
      description: Whether the secret was a replica of another region's secret before this run.
      type: bool
      returned: when the secret exists
    promoted:
      description: Whether the replica secret was (in check mode, would be) made standalone.
      type: bool
    previous_host:
      description: The host the secret held before (null when it had no host key).
      type: str
      returned: when O(host) is given and the secret exists
missing:
  description: The names that do not exist in the region (with O(missing=skip); with V(fail) also in the message).
  type: list
  elements: str
  returned: always
"""

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.db_secret_endpoint import run_module


def main():
    run_module()


if __name__ == "__main__":
    main()
