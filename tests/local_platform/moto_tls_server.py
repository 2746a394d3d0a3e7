"""moto_server for the local platform: served over TLS only, and bucket policies see that; it can
delete ElastiCache subnet groups (see _add_delete_cache_subnet_group).

moto 5.2 evaluates S3 bucket policies without request context: a condition such as
``{"Bool": {"aws:SecureTransport": "false"}}`` finds no value and the Deny statement applies to
every request, so our TLS-only buckets refuse every object call. This server only listens with a
certificate, so every request reaching it did come over TLS; the patch evaluates each statement
with exactly that fact (``aws:SecureTransport = true``), and a statement whose condition does not
hold does not apply (moto would turn it into a Deny), as on AWS. See docs/emulator-gaps/.

It also answers GetEbsDefaultKmsKeyId and ResetEbsDefaultKmsKeyId (see add_ebs_default_kms_key_reads).
"""

from __future__ import annotations

import json
import sys
from typing import Any


REQUEST_CONTEXT = {"aws:SecureTransport": "true"}


def _bool_conditions_fail(conditions: dict[str, dict[str, Any]]) -> bool:
    """True when a Bool condition on a key we know the value of does not hold for this request.

    moto's own evaluation has no Bool operator and ignores the condition instead.
    """
    for operator, tests in conditions.items():
        if operator not in ("Bool", "BoolIfExists"):
            continue
        for key, expected in tests.items():
            if key not in REQUEST_CONTEXT:
                continue
            allowed = [str(v).lower() for v in (expected if isinstance(expected, list) else [expected])]
            if REQUEST_CONTEXT[key] not in allowed:
                return True
    return False


def _patch_bucket_policy_context() -> None:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3 import models

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        statements = json.loads(self.policy.decode())["Statement"]
        permitted = False
        for raw in statements if isinstance(statements, list) else [statements]:
            statement = IAMPolicyStatement(raw)
            if raw.get("Condition") and _bool_conditions_fail(raw["Condition"]):
                continue
            result = statement.is_action_permitted(action, resource, None, REQUEST_CONTEXT)
            if result == PermissionResult.DENIED:
                return result
            permitted = permitted or result == PermissionResult.PERMITTED
        return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL

    models.FakeBucket.get_permission = get_permission


def _add_delete_cache_subnet_group() -> None:
    """moto 5.2 has no DeleteCacheSubnetGroup: the foundation's teardown could not remove the group, and
    the next converge found it holding the deleted subnets and failed on ModifyCacheSubnetGroup (also
    missing). Deleting is what AWS does; like AWS it refuses a group a live replication group or cache
    cluster uses (moto keeps deleted replication groups in "deleting", which no longer count)."""
    from moto.core.responses import EmptyResult
    from moto.elasticache.exceptions import CacheSubnetGroupNotFound, ElastiCacheException
    from moto.elasticache.models import ElastiCacheBackend
    from moto.elasticache.responses import ElastiCacheResponse

    class CacheSubnetGroupInUse(ElastiCacheException):
        code = "CacheSubnetGroupInUse"

        def __init__(self, name: str):
            super().__init__(f"Cache subnet group {name} is currently in use by a cache cluster or replication group.")

    def delete_cache_subnet_group(backend: Any, name: str) -> None:
        if name not in backend.cache_subnet_groups:
            raise CacheSubnetGroupNotFound(name)
        users = [*backend.replication_groups.values(), *backend.cache_clusters.values()]
        if any(getattr(u, "cache_subnet_group_name", None) == name
               and getattr(u, "status", getattr(u, "cache_cluster_status", "")) != "deleting" for u in users):
            raise CacheSubnetGroupInUse(name)
        del backend.cache_subnet_groups[name]

    def respond(self: Any) -> Any:
        self.elasticache_backend.delete_cache_subnet_group(self._get_param("CacheSubnetGroupName"))
        return EmptyResult()

    ElastiCacheBackend.delete_cache_subnet_group = delete_cache_subnet_group
    ElastiCacheResponse.delete_cache_subnet_group = respond


def add_ebs_default_kms_key_reads() -> None:
    """moto 5.2 stores the key ModifyEbsDefaultKmsKeyId sets but has no GetEbsDefaultKmsKeyId (nor
    ResetEbsDefaultKmsKeyId), so ebs_encryption_by_default could not read the regional default key back.
    As AWS: the chosen key's ARN, or the alias ARN of the AWS managed key (alias/aws/ebs) while none was
    chosen or after a reset. The unit tests apply the same patch to moto in process."""
    from moto.core.responses import ActionResult
    from moto.ec2.responses.elastic_block_store import ElasticBlockStore

    def get_ebs_default_kms_key_id(self: Any) -> Any:
        self.error_on_dryrun()
        backend = self.ec2_backend
        chosen = backend.default_kms_key_id or (
            f"arn:{backend.partition}:kms:{backend.region_name}:{backend.account_id}:alias/aws/ebs")
        return ActionResult({"KmsKeyId": chosen})

    def reset_ebs_default_kms_key_id(self: Any) -> Any:
        self.error_on_dryrun()
        self.ec2_backend.default_kms_key_id = ""
        return get_ebs_default_kms_key_id(self)

    ElasticBlockStore.get_ebs_default_kms_key_id = get_ebs_default_kms_key_id
    ElasticBlockStore.reset_ebs_default_kms_key_id = reset_ebs_default_kms_key_id


def main() -> None:
    if "-c" not in sys.argv[1:] and "--ssl-cert" not in sys.argv[1:]:
        raise SystemExit("moto_tls_server: serves TLS only; pass -c CERT -k KEY")
    _patch_bucket_policy_context()
    _add_delete_cache_subnet_group()
    add_ebs_default_kms_key_reads()
    from moto.server import main as moto_main

    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
