# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic behind llm_saas.platform.db_secret_endpoint.

ensure() takes a boto3 Secrets Manager client with the aws_retry keyword (RetryingBotoClientWrapper)
and handles one secret. It never puts a secret value into what it returns or raises: results and
messages carry names, ARNs, the replica flag and the host/port keys only.

Without a host the module changes no keys and does not even read the secret's value (so the secret
need not hold a JSON object); with promote_replica it then only makes replica secrets standalone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

try:  # noqa: SIM105
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# Secrets Manager speaks JSON: it throttles with "ThrottlingException", which jittered_backoff does
# not know by itself.
RETRY = AWSRetry.jittered_backoff(retries=10, catch_extra_error_codes=["ThrottlingException"])

ARGUMENT_SPEC = dict(
    names=dict(type="list", elements="str", required=True, aliases=["name"]),
    host=dict(type="str"),
    port=dict(type="int"),
    host_key=dict(type="str", default="host", no_log=False),
    port_key=dict(type="str", default="port", no_log=False),
    promote_replica=dict(type="bool", default=False),
    missing=dict(type="str", default="fail", choices=["fail", "skip"]),
)


class DbSecretEndpointError(Exception):
    """A secret the module will not (or could not) change; the message names it and the fix.

    entry, when set, is the secret's result entry as far as the module got (say promoted, then the
    update failed), so that the run still reports what it changed.
    """

    def __init__(self, msg, entry=None):
        super(DbSecretEndpointError, self).__init__(msg)
        self.entry = entry


def validate(params):
    """Messages for input the module refuses before any AWS call."""
    errors = []
    if params.get("host") is None:
        if params.get("port") is not None:
            errors.append(
                "port is given without host: the port is only written together with the host. Give host too, "
                "or omit both host and port to only make replica secrets standalone (promote_replica=true)"
            )
    elif not params["host"].strip():
        errors.append("host is empty; give the database host, or omit host to change no keys")
    return errors


def _aws(what, method, **kwargs):
    """Call a wrapped client method with retries; an AWS error becomes a DbSecretEndpointError naming what failed."""
    try:
        return method(aws_retry=True, **kwargs)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        raise DbSecretEndpointError("%s: %s" % (what, e)) from e


def describe(client, name, region):
    """DescribeSecret of the name; None when the secret does not exist or is scheduled for deletion."""
    try:
        desc = client.describe_secret(aws_retry=True, SecretId=name)
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        raise DbSecretEndpointError("describing secret %s in %s: %s" % (name, region, e)) from e
    if desc.get("DeletedDate"):
        return None
    return desc


def _read_json_object(client, name, region, arn):
    value = _aws("reading secret %s in %s" % (name, region), client.get_secret_value, SecretId=arn)
    try:
        data = json.loads(value.get("SecretString") or "")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        # Never say what the value holds instead.
        raise DbSecretEndpointError(
            "secret %s in %s does not hold a JSON object, so its host key cannot be set; "
            "omit host to only promote it" % (name, region)
        )
    return data


def ensure(client, params, region, name, check_mode=False):
    """Bring one secret to what params ask; return its result entry, or None when it is missing.

    The entry carries before and after (the diff of this secret); run_module() moves them into the
    module's diff. Raises DbSecretEndpointError for a secret that cannot be changed.
    """
    desc = describe(client, name, region)
    if desc is None:
        return None
    arn = desc["ARN"]
    # Real Secrets Manager names the primary's region on the primary itself too; moto leaves it out.
    replica = bool(desc.get("PrimaryRegion")) and desc["PrimaryRegion"] != region
    host_key, port_key = params["host_key"], params["port_key"]

    if params.get("host") is None:
        # Promote-only (or nothing to do): the value is not read, so it may be anything.
        data = wanted = None
        needs_update = False
    else:
        data = _read_json_object(client, name, region, arn)
        wanted = dict(data)
        wanted[host_key] = params["host"]
        if params.get("port") is not None:
            wanted[port_key] = params["port"]
        needs_update = wanted != data

    if replica and needs_update and not params["promote_replica"]:
        raise DbSecretEndpointError(
            "secret %s in %s is a replica of the secret in %s and cannot be changed here; "
            "set promote_replica=true to make it a standalone secret of %s first"
            % (name, region, desc["PrimaryRegion"], region)
        )
    promote = replica and params["promote_replica"]

    def view(d, is_replica):
        keys = {} if d is None else {k: d[k] for k in (host_key, port_key) if k in d}
        return dict(keys, replica=is_replica)

    entry = dict(
        name=name,
        exists=True,
        changed=promote or needs_update,
        arn=arn,
        replica=replica,
        promoted=promote,
        before=view(data, replica),
        after=view(wanted, replica and not promote),
    )
    if data is not None:
        entry["previous_host"] = data.get(host_key)

    if check_mode:
        return entry
    if promote:
        _aws(
            "making the replica secret %s in %s standalone" % (name, region),
            client.stop_replication_to_replica,
            SecretId=arn,
        )
    if needs_update:
        try:
            _aws(
                "updating secret %s in %s" % (name, region),
                client.put_secret_value,
                SecretId=arn,
                SecretString=json.dumps(wanted),
            )
        except DbSecretEndpointError as e:
            if promote:  # the promotion stays: report it
                entry["changed"] = True
                entry["after"] = view(data, False)
                raise DbSecretEndpointError(str(e), entry=entry) from e
            raise
    return entry


def run_module():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    errors = validate(module.params)
    if errors:
        module.fail_json(msg="db_secret_endpoint: " + "; ".join(errors))
    client = module.client("secretsmanager", retry_decorator=RETRY)
    region = client.meta.region_name

    results, missing, failures = [], [], []
    for name in module.params["names"]:
        try:
            entry = ensure(client, module.params, region, name, check_mode=module.check_mode)
        except DbSecretEndpointError as e:
            failures.append(str(e))
            if e.entry is not None:
                results.append(e.entry)
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
