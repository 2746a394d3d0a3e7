# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of llm_saas.platform.eks_cluster_settings (the EKS cluster settings community.aws.eks_cluster lacks).

Endpoint access (private/public and the public CIDR allow-list), control-plane logging, envelope
encryption of Kubernetes secrets with a KMS key, and the IAM OIDC provider of the cluster's issuer (IRSA).
Every change is planned from one read of the cluster before any is made, so input EKS would refuse (a
different key for secrets already encrypted) fails with nothing changed. EKS runs one update of a cluster
at a time: each update is waited for before the next.
"""

from __future__ import annotations

import ipaddress
import re

try:
    import botocore
except ImportError:
    botocore = None  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import EKS_RETRY
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import not_found
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import wait_for

# IAM is a Query-protocol service: jittered_backoff already knows its throttling codes.
IAM_RETRY = AWSRetry.jittered_backoff(retries=10)

# Root CA thumbprint of the EKS OIDC issuers; IAM no longer checks it for EKS but the API of older
# partitions (and moto) still wants one.
OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
OIDC_CLIENT_ID = "sts.amazonaws.com"
LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$")
# Seconds between two reads of a cluster (or an update) being waited for.
POLL_DELAY = 15

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True, aliases=["cluster_name"]),
    endpoint_private_access=dict(type="bool", required=True),
    endpoint_public_access=dict(type="bool", required=True),
    public_access_cidrs=dict(type="list", elements="str", default=[]),
    log_types=dict(type="list", elements="str", choices=LOG_TYPES),
    secrets_kms_key_arn=dict(type="str", no_log=False),
    tags=dict(type="dict"),
    emulated=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=1800),
)


class EksClusterSettingsError(Exception):
    """State the module will not act on; the message names the field and the fix."""


def validate(params):
    """Messages for input EKS or IAM would refuse (or that would open the API to everyone), before any call."""
    errors = []
    name = params["name"]
    if not CLUSTER_NAME.match(name or ""):
        errors.append(
            "name %r is not an EKS cluster name (1 to 100 of A-Z a-z 0-9 - _, starting with a letter or digit)" % name
        )
    if not params["endpoint_private_access"] and not params["endpoint_public_access"]:
        errors.append(
            "endpoint_private_access and endpoint_public_access are both false: the Kubernetes API would be "
            "unreachable (EKS refuses it); set at least one to true"
        )
    cidrs = params.get("public_access_cidrs") or []
    if params["endpoint_public_access"] and not cidrs:
        errors.append(
            "public_access_cidrs is empty while endpoint_public_access is true: EKS would open the public "
            "endpoint to 0.0.0.0/0; list the admin networks (for example [203.0.113.0/24]), or turn the public "
            "endpoint off"
        )
    for index, cidr in enumerate(cidrs):
        problem = _cidr_problem(cidr)
        if problem:
            errors.append(
                "public_access_cidrs[%d] %r %s; write an IPv4 CIDR block such as 203.0.113.0/24"
                % (index, cidr, problem)
            )
    key = params.get("secrets_kms_key_arn")
    if key and not KMS_KEY_ARN.match(key):
        errors.append(
            "secrets_kms_key_arn %r is not a KMS key ARN (arn:aws:kms:REGION:123456789012:key/KEY-ID): pass the "
            "key's ARN (amazon.aws.kms_key returns it as key_arn), not its id or an alias" % key
        )
    for key, value in (params.get("tags") or {}).items():
        if not key or len(key) > 128 or key.lower().startswith("aws:"):
            errors.append("tag key %r must be 1 to 128 characters and not start with aws:" % key)
        if len(str(value)) > 256:
            errors.append("the value of tag %r is longer than 256 characters" % key)
    if params["wait_timeout"] <= 0:
        errors.append("wait_timeout %r must be a positive number of seconds" % params["wait_timeout"])
    return errors


def _cidr_problem(cidr):
    """Why cidr is not an IPv4 CIDR block as EKS takes it (None when it is one)."""
    if not isinstance(cidr, str) or "/" not in cidr:
        return "has no prefix length"
    try:
        ipaddress.IPv4Network(cidr, strict=True)
    except ipaddress.NetmaskValueError:
        return "has an invalid prefix length"
    except ValueError as e:
        if "host bits set" in str(e):
            return "has host bits set (the network address of that block is %s)" % ipaddress.IPv4Network(
                cidr, strict=False
            )
        return "is not an IPv4 CIDR block"
    return None


def describe(eks, name):
    """The cluster as DescribeCluster gives it, or None when it does not exist."""
    try:
        return eks.describe_cluster(aws_retry=True, name=name)["cluster"]
    except botocore.exceptions.ClientError as e:
        if not_found(e):
            return None
        raise


def find_oidc_provider(iam, issuer):
    """ARN of the IAM OIDC provider of the issuer (None when there is none)."""
    if not issuer:
        return None
    host = issuer.replace("https://", "")
    providers = iam.list_open_id_connect_providers(aws_retry=True)["OpenIDConnectProviderList"]
    return next((p["Arn"] for p in providers if p["Arn"].endswith("/" + host)), None)


def current_view(cluster, oidc_present):
    """The settings of the cluster this module manages (the diff's before)."""
    vpc = cluster.get("resourcesVpcConfig") or {}
    enabled = sorted(
        t
        for entry in (cluster.get("logging") or {}).get("clusterLogging") or []
        if entry.get("enabled")
        for t in entry.get("types") or []
    )
    keys = [
        c["provider"]["keyArn"]
        for c in cluster.get("encryptionConfig") or []
        if "secrets" in (c.get("resources") or []) and (c.get("provider") or {}).get("keyArn")
    ]
    return {
        "endpoint_private_access": vpc.get("endpointPrivateAccess"),
        "endpoint_public_access": vpc.get("endpointPublicAccess"),
        "public_access_cidrs": sorted(vpc.get("publicAccessCidrs") or []),
        "log_types": enabled,
        "secrets_kms_key_arn": keys[0] if keys else None,
        "oidc_provider": oidc_present,
    }


def wanted_view(params, before):
    """The settings asked for; what params leave alone keeps its value from before."""
    public = params["endpoint_public_access"]
    log_types = params.get("log_types")
    return {
        "endpoint_private_access": params["endpoint_private_access"],
        "endpoint_public_access": public,
        # The allow-list applies to the public endpoint only: with it off, the list is neither sent nor compared.
        "public_access_cidrs": sorted(set(params.get("public_access_cidrs") or []))
        if public
        else before.get("public_access_cidrs", []),
        "log_types": sorted(set(log_types)) if log_types is not None else before.get("log_types", []),
        "secrets_kms_key_arn": params.get("secrets_kms_key_arn") or before.get("secrets_kms_key_arn"),
        "oidc_provider": True,
    }


def plan(cluster, oidc_arn, params):
    """(before, after, actions): the requests that bring the cluster to params, in the order they are made.

    Raises EksClusterSettingsError for what EKS cannot do, before anything is changed.
    """
    name = params["name"]
    before = current_view(cluster, oidc_arn is not None)
    after = wanted_view(params, before)
    actions = []

    vpc_keys = ("endpoint_private_access", "endpoint_public_access", "public_access_cidrs")
    if any(before[k] != after[k] for k in vpc_keys):
        vpc = {
            "endpointPrivateAccess": after["endpoint_private_access"],
            "endpointPublicAccess": after["endpoint_public_access"],
        }
        if after["endpoint_public_access"]:
            vpc["publicAccessCidrs"] = after["public_access_cidrs"]
        if params["emulated"]:
            # Test-only: moto replaces resourcesVpcConfig instead of merging it; resend what it would drop.
            current = cluster.get("resourcesVpcConfig") or {}
            vpc["subnetIds"] = current.get("subnetIds") or []
            vpc["securityGroupIds"] = current.get("securityGroupIds") or []
        actions.append(("update_cluster_config", dict(name=name, resourcesVpcConfig=vpc)))

    if before["log_types"] != after["log_types"]:
        off = [t for t in LOG_TYPES if t not in after["log_types"]]
        logging = [{"types": after["log_types"], "enabled": True}] if after["log_types"] else []
        if off:
            logging.append({"types": off, "enabled": False})
        actions.append(("update_cluster_config", dict(name=name, logging={"clusterLogging": logging})))

    if before["secrets_kms_key_arn"] != after["secrets_kms_key_arn"]:
        current_key = before["secrets_kms_key_arn"]
        if current_key:
            raise EksClusterSettingsError(
                "secrets_kms_key_arn: the secrets of cluster %s are already encrypted with %s and EKS cannot change "
                "or remove that key; pass %s (in the eks_cluster role: set eks_cluster_kms_key_alias back to that "
                "key's alias). Nothing was changed." % (name, current_key, current_key)
            )
        actions.append(
            (
                "associate_encryption_config",
                dict(
                    clusterName=name,
                    encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": after["secrets_kms_key_arn"]}}],
                ),
            )
        )

    issuer = ((cluster.get("identity") or {}).get("oidc") or {}).get("issuer") or ""
    if oidc_arn is None and issuer:
        tags = [{"Key": k, "Value": str(v)} for k, v in sorted((params.get("tags") or {}).items())]
        request = dict(Url=issuer, ClientIDList=[OIDC_CLIENT_ID], ThumbprintList=[OIDC_THUMBPRINT])
        if tags:
            request["Tags"] = tags
        actions.append(("create_open_id_connect_provider", request))
    elif not issuer:
        # No issuer, no provider to create (the diff must not promise one).
        after["oidc_provider"] = before["oidc_provider"]
    return before, after, actions


def _wait_active(module, eks, name):
    """EKS runs one update of a cluster at a time and shows the cluster UPDATING while it does."""

    def ready(cluster):
        if cluster is None:
            raise EksClusterSettingsError("cluster %s disappeared while its settings were changed" % name)
        if cluster.get("status") == "FAILED":
            raise EksClusterSettingsError("cluster %s is FAILED; fix or recreate it first" % name)
        return cluster.get("status") == "ACTIVE"

    return wait_for(
        module,
        lambda: describe(eks, name),
        ready,
        timeout=module.params["wait_timeout"],
        what="cluster %s to be ACTIVE" % name,
        delay=POLL_DELAY,
    )


def _wait_update(module, eks, name, update):
    """Wait for an update EKS reports InProgress (AWS keeps a cluster ACTIVE during AssociateEncryptionConfig),
    then for the cluster to be ACTIVE. An update that failed fails the module with EKS's errors."""
    if update and update.get("status") == "InProgress":
        update = wait_for(
            module,
            lambda: eks.describe_update(aws_retry=True, name=name, updateId=update["id"])["update"],
            lambda u: u.get("status") != "InProgress",
            timeout=module.params["wait_timeout"],
            what="update %s (%s) of cluster %s" % (update["id"], update.get("type"), name),
            delay=POLL_DELAY,
        )
    if update and update.get("status") in ("Failed", "Cancelled"):
        errors = "; ".join(
            "%s: %s" % (e.get("errorCode"), e.get("errorMessage")) for e in update.get("errors") or []
        )
        raise EksClusterSettingsError(
            "update %s (%s) of cluster %s ended %s: %s"
            % (update.get("id"), update.get("type"), name, update["status"], errors or "EKS gave no reason")
        )
    return _wait_active(module, eks, name)


def apply(module, eks, iam, cluster, actions):
    """Make the planned requests; return the ARN of the OIDC provider when one was created."""
    name = module.params["name"]
    oidc_arn = None
    eks_actions = [a for a in actions if a[0] != "create_open_id_connect_provider"]
    if eks_actions and cluster.get("status") != "ACTIVE":
        _wait_active(module, eks, name)
    for operation, request in actions:
        if operation == "create_open_id_connect_provider":
            oidc_arn = iam.create_open_id_connect_provider(aws_retry=True, **request)["OpenIDConnectProviderArn"]
            continue
        answer = getattr(eks, operation)(aws_retry=True, **request)
        _wait_update(module, eks, name, answer.get("update"))
    return oidc_arn


def cluster_view(name, cluster, oidc_arn):
    """What the eks_cluster role publishes as its eks_cluster fact (without the kubeconfig path)."""
    if not cluster:
        return {}
    vpc = cluster.get("resourcesVpcConfig") or {}
    return {
        "name": name,
        "arn": cluster.get("arn"),
        "endpoint": cluster.get("endpoint"),
        "certificate_authority": (cluster.get("certificateAuthority") or {}).get("data"),
        "oidc_issuer": ((cluster.get("identity") or {}).get("oidc") or {}).get("issuer") or "",
        "oidc_provider_arn": oidc_arn,
        "cluster_security_group_id": vpc.get("clusterSecurityGroupId"),
    }


def ensure(module, eks, iam):
    """Return (changed, cluster view, before, after)."""
    params = module.params
    name = params["name"]
    cluster = describe(eks, name)
    if cluster is None:
        if not module.check_mode:
            raise EksClusterSettingsError(
                "name: cluster %s does not exist in %s; create it first (community.aws.eks_cluster), this module "
                "only changes the settings of an existing cluster" % (name, module.region)
            )
        # Check mode on a fresh account: the cluster task before this one only reported its creation.
        return True, {}, {}, dict(wanted_view(params, {}), name=name)

    issuer = ((cluster.get("identity") or {}).get("oidc") or {}).get("issuer") or ""
    oidc_arn = find_oidc_provider(iam, issuer)
    before, after, actions = plan(cluster, oidc_arn, params)
    if actions and not module.check_mode:
        oidc_arn = apply(module, eks, iam, cluster, actions) or oidc_arn
        cluster = describe(eks, name) or cluster
    return bool(actions), cluster_view(name, cluster, oidc_arn), before, after


def main():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    errors = validate(module.params)
    if errors:
        module.fail_json(msg="eks_cluster_settings: " + "; ".join(errors))
    eks = module.client("eks", retry_decorator=EKS_RETRY)
    iam = module.client("iam", retry_decorator=IAM_RETRY)
    try:
        changed, cluster, before, after = ensure(module, eks, iam)
    except EksClusterSettingsError as e:
        module.fail_json(msg="eks_cluster_settings: %s" % e)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to set the settings of EKS cluster %s" % module.params["name"])
    result = dict(changed=changed, cluster=cluster)
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)
