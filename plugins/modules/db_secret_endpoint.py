#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: db_secret_endpoint
short_description: Point JSON database secrets in Secrets Manager at a database host
version_added: 0.1.0
description:
  - Sets the host (and optionally the port) keys of JSON secrets in one region, keeping every
    other key (user names, passwords) as it is. Used by the DR failover and failback to point the
    platform's and tenants' database secrets at a promoted writer. One call handles any number of
    secrets (a failover with hundreds of tenants must not pay a module start per tenant).
  - A replica secret (one replicated from another region) is read-only. With
    O(promote_replica=true) it is first turned into a standalone secret of this region
    (C(StopReplicationToReplica)), which is what a region failover needs.
  - Exists because M(community.aws.secretsmanager_secret) can neither promote a replica secret
    nor change single keys of a JSON secret without knowing (and returning) the others.
  - Never returns secret values; the diff shows the host and port keys only.
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
    description: The host the secret must point at.
    type: str
    required: true
  port:
    description: The port the secret must carry. Omitted means the port key is left alone.
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
    type: bool
    default: false
  missing:
    description:
      - What to do when a secret does not exist in the region (or is scheduled for deletion).
      - V(skip) updates the others and lists the missing ones in RV(missing).
    type: str
    default: fail
    choices: [fail, skip]
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
"""

RETURN = r"""
secrets:
  description: One entry per name, in order.
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
    replica:
      description: Whether the secret was a replica of another region's secret before this run.
      type: bool
    promoted:
      description: Whether the replica secret was (in check mode, would be) made standalone.
      type: bool
    previous_host:
      description: The host the secret held before.
      type: str
missing:
  description: The names that do not exist in the region (with O(missing=skip)).
  type: list
  elements: str
  returned: always
"""

import json

try:  # noqa: SIM105
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


class _Failure(Exception):
    pass


def _ensure(module, client, region, name):
    """Point one secret at the host; return its result entry (None when it is missing)."""
    params = module.params
    try:
        desc = client.describe_secret(aws_retry=True, SecretId=name)
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg="describing secret %s in %s" % (name, region))
    if desc.get("DeletedDate"):
        return None

    try:
        value = client.get_secret_value(aws_retry=True, SecretId=desc["ARN"])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="reading secret %s in %s" % (name, region))
    try:
        data = json.loads(value.get("SecretString") or "")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise _Failure("secret %s in %s does not hold a JSON object" % (name, region))

    replica = bool(desc.get("PrimaryRegion")) and desc["PrimaryRegion"] != region
    wanted = dict(data)
    wanted[params["host_key"]] = params["host"]
    if params["port"] is not None:
        wanted[params["port_key"]] = params["port"]
    needs_update = wanted != data

    if replica and needs_update and not params["promote_replica"]:
        raise _Failure(
            "secret %s in %s is a replica of the secret in %s and cannot be changed here; "
            "set promote_replica=true to make it a standalone secret of %s first"
            % (name, region, desc["PrimaryRegion"], region)
        )
    promote = replica and params["promote_replica"]
    changed = promote or needs_update

    if changed and not module.check_mode:
        if promote:
            try:
                client.stop_replication_to_replica(aws_retry=True, SecretId=desc["ARN"])
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                module.fail_json_aws(e, msg="making the replica secret %s in %s standalone" % (name, region))
        if needs_update:
            try:
                client.put_secret_value(aws_retry=True, SecretId=desc["ARN"], SecretString=json.dumps(wanted))
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                module.fail_json_aws(e, msg="updating secret %s in %s" % (name, region))

    def view(d):
        return {k: d.get(k) for k in (params["host_key"], params["port_key"]) if k in d}

    return dict(
        name=name,
        exists=True,
        changed=changed,
        arn=desc["ARN"],
        replica=replica,
        promoted=promote,
        previous_host=data.get(params["host_key"]),
        before=dict(view(data), replica=replica),
        after=dict(view(wanted), replica=replica and not promote),
    )


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            names=dict(type="list", elements="str", required=True, aliases=["name"]),
            host=dict(type="str", required=True),
            port=dict(type="int"),
            host_key=dict(type="str", default="host", no_log=False),
            port_key=dict(type="str", default="port", no_log=False),
            promote_replica=dict(type="bool", default=False),
            missing=dict(type="str", default="fail", choices=["fail", "skip"]),
        ),
        supports_check_mode=True,
    )
    client = module.client("secretsmanager", retry_decorator=AWSRetry.jittered_backoff())
    region = client.meta.region_name

    results, missing, failures = [], [], []
    for name in module.params["names"]:
        try:
            entry = _ensure(module, client, region, name)
        except _Failure as e:
            failures.append(str(e))
            continue
        if entry is None:
            missing.append(name)
            entry = dict(name=name, exists=False, changed=False, promoted=False)
        results.append(entry)
    if missing and module.params["missing"] == "fail":
        failures.append("secrets missing in %s: %s" % (region, ", ".join(missing)))

    changed = any(r["changed"] for r in results)
    diff = dict(
        before={r["name"]: r["before"] for r in results if r["changed"]},
        after={r["name"]: r["after"] for r in results if r["changed"]},
    )
    for r in results:
        r.pop("before", None)
        r.pop("after", None)
    if failures:
        module.fail_json(msg="; ".join(failures), changed=changed, secrets=results, missing=missing)
    module.exit_json(changed=changed, secrets=results, missing=missing, diff=diff)


if __name__ == "__main__":
    main()
