"""moto_server for the local platform: served over TLS only, and bucket policies see that; it can
delete ElastiCache subnet groups (see _add_delete_cache_subnet_group).

moto 5.2 evaluates S3 bucket policies without request context: a condition such as
``{"Bool": {"aws:SecureTransport": "false"}}`` finds no value and the Deny statement applies to
every request, so our TLS-only buckets refuse every object call. This server only listens with a
certificate, so every request reaching it did come over TLS; the patch evaluates each statement
with exactly that fact (``aws:SecureTransport = true``), and a statement whose condition does not
hold does not apply (moto would turn it into a Deny), as on AWS. See docs/emulator-gaps/.

It also answers GetEbsDefaultKmsKeyId and ResetEbsDefaultKmsKeyId (see add_ebs_default_kms_key_reads),
and the EFS calls the model store needs that moto lacks (see add_efs_replication_and_backup_policy),
and behaves as RDS and Secrets Manager do in a region failover (add_rds_replica_promotion,
add_secrets_stop_replication).
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


def add_efs_replication_and_backup_policy() -> None:
    """moto 5.2 serves EFS file systems, mount targets and access points, but not the deprecated
    DescribeTags/CreateTags/DeleteTags (community.aws.efs still reads and writes tags through them),
    PutBackupPolicy, nor replication. As AWS answers them, with these simplifications:

    - Backup policy and replication settle at once: PutBackupPolicy answers the final ENABLED/DISABLED
      (AWS passes through ENABLING/DISABLING); a new replication is ENABLING in the create answer and
      ENABLED from then on; DeleteReplicationConfiguration removes it at once (AWS: DELETING first).
    - Replicating to a new file system creates it in the destination region, encrypted with the given
      key (resolved to its ARN in that region, like AWS; unknown key: BadRequest; none given: AWS uses
      its managed EFS key, moto records no key), with automatic backups on, and
      ReplicationOverwriteProtection REPLICATING (read-only) until the replication is deleted, then
      ENABLED (writable). Nothing is copied: moto has no data.
    - A file system in a replication cannot be deleted (FileSystemInUse), nor replicated twice
      (ValidationException). Existing destinations (FileSystemId) must exist; AWS's further checks on
      them (overwrite protection DISABLED, cross-account RoleArn) are not made.
    - Each side (region) holds the configuration, as on AWS. DeleteReplicationConfiguration takes the
      source's id from either region (the source is looked up in every region of the account; none:
      FileSystemNotFound; this region holds no side of its replication: ReplicationNotFound). Its
      deletionMode ALL_CONFIGURATIONS (the default) removes both sides; LOCAL_CONFIGURATION_ONLY only
      the side in the calling region (the other keeps describing it, as AWS leaves it), and is a
      BadRequest for a replication within one region. Removing the destination's side makes it
      writable (ReplicationOverwriteProtection ENABLED); removing only the source's side leaves the
      destination read-only.
    The unit tests apply the same patch to moto in process.
    """
    import datetime
    import json as _json
    import uuid

    from moto.efs import exceptions as efs_errors
    from moto.efs import urls as efs_urls
    from moto.efs.models import EFSBackend, FileSystem, efs_backends
    from moto.efs.responses import EFSResponse

    class ReplicationNotFound(efs_errors.EFSError):
        code = 404

        def __init__(self, file_system_id: str):
            super().__init__("ReplicationNotFound", f"No replication configuration found for '{file_system_id}'.")

    class ValidationException(efs_errors.EFSError):
        code = 400

        def __init__(self, msg: str):
            super().__init__("ValidationException", msg)

    json_headers = {"Content-Type": "application/json"}

    def file_system(backend: Any, fs_id: str) -> Any:
        if fs_id not in backend.file_systems_by_id:
            raise efs_errors.FileSystemNotFound(fs_id)
        return backend.file_systems_by_id[fs_id]

    # Tags through the deprecated per-file-system API (AWS pages them with MaxItems/Marker).
    def describe_tags(self: Any) -> Any:
        fs = file_system(self.efs_backend, self._get_param("FileSystemId"))
        tags = self.efs_backend.list_tags_for_resource(fs.file_system_id)
        start = int(self._get_param("Marker") or 0)
        size = int(self._get_param("MaxItems") or 100)
        body: dict[str, Any] = {"Tags": tags[start:start + size]}
        if self._get_param("Marker"):
            body["Marker"] = self._get_param("Marker")
        if start + size < len(tags):
            body["NextMarker"] = str(start + size)
        return _json.dumps(body), json_headers

    def create_tags(self: Any) -> Any:
        fs = file_system(self.efs_backend, self._get_param("FileSystemId"))
        self.efs_backend.tagging_service.tag_resource(fs.file_system_id, self._get_param("Tags") or [])
        return "", {"status": 204}

    def delete_tags(self: Any) -> Any:
        fs = file_system(self.efs_backend, self._get_param("FileSystemId"))
        self.efs_backend.tagging_service.untag_resource_using_names(fs.file_system_id, self._get_param("TagKeys") or [])
        return "", {"status": 204}

    # A backup policy once put is described with its status, DISABLED included (moto: PolicyNotFound).
    def backup_policy(self: Any) -> Any:
        status = getattr(self, "_backup_status", None)
        if status:
            return {"Status": status}
        return {"Status": "ENABLED"} if self._backup else None

    def describe_backup_policy(backend: Any, fs_id: str) -> Any:
        policy = file_system(backend, fs_id).backup_policy
        if not policy:
            raise efs_errors.PolicyNotFound(f"No backup policy for file system '{fs_id}'.")
        return policy

    def put_backup_policy(self: Any) -> Any:
        fs = file_system(self.efs_backend, self._get_param("FileSystemId"))
        status = (self._get_param("BackupPolicy") or {}).get("Status")
        if status not in ("ENABLED", "DISABLED"):
            raise ValidationException("BackupPolicy.Status must be ENABLED or DISABLED.")
        fs._backup_status = status
        return _json.dumps({"BackupPolicy": {"Status": status}}), json_headers

    def protection(fs: Any) -> str:
        return getattr(fs, "_overwrite_protection", "ENABLED")

    original_info_json = FileSystem.info_json

    def info_json(self: Any) -> dict[str, Any]:
        info = original_info_json(self)
        info["FileSystemProtection"] = {"ReplicationOverwriteProtection": protection(self)}
        return info

    # A replication's configuration is one dict, held by each side while that side keeps it: the source
    # file system as _replication, the destination as _replicated_from.
    def replication_of(backend: Any, fs: Any) -> Any:
        """The configuration a file system takes part in, as source or as destination."""
        return getattr(fs, "_replication", None) or getattr(fs, "_replicated_from", None)

    def side_holding(backend: Any, source_id: str) -> Any:
        """The file system of this region holding a side of the replication from source_id, if any."""
        for fs in backend.file_systems_by_id.values():
            config = replication_of(backend, fs)
            if config and config["SourceFileSystemId"] == source_id:
                return fs
        return None

    def find_source(backend: Any, source_id: str) -> Any:
        """The source file system, in this region or another one of the account (AWS accepts the call
        in the destination's region too)."""
        if source_id in backend.file_systems_by_id:
            return backend.file_systems_by_id[source_id]
        for region_backend in efs_backends[backend.account_id].values():
            if source_id in region_backend.file_systems_by_id:
                return region_backend.file_systems_by_id[source_id]
        raise efs_errors.FileSystemNotFound(source_id)

    def resolve_key(account_id: str, region: str, key_id: str) -> str:
        from moto.kms.models import kms_backends

        try:
            return kms_backends[account_id][region].describe_key(key_id).arn
        except Exception as e:  # moto raises NotFoundException and friends
            raise efs_errors.BadRequest(f"KMS key '{key_id}' not found in {region}.") from e

    def create_replication_configuration(self: Any) -> Any:
        backend = self.efs_backend
        source = file_system(backend, self._get_param("SourceFileSystemId"))
        if replication_of(backend, source):
            raise ValidationException(
                f"File system '{source.file_system_id}' is already part of a replication configuration.")
        destinations = self._get_param("Destinations") or []
        if len(destinations) != 1:
            raise ValidationException("Exactly one destination is allowed.")
        wanted = destinations[0]
        region = wanted.get("Region") or backend.region_name
        dest_backend = efs_backends[backend.account_id][region]
        if wanted.get("FileSystemId"):
            dest = file_system(dest_backend, wanted["FileSystemId"])
        else:
            key = wanted.get("KmsKeyId")
            dest = dest_backend.create_file_system(
                creation_token=str(uuid.uuid4()),
                performance_mode=source.performance_mode,
                encrypted=True,
                kms_key_id=resolve_key(backend.account_id, region, key) if key else None,
                throughput_mode=source.throughput_mode,
                provisioned_throughput_in_mibps=source.provisioned_throughput_in_mibps,
                availability_zone_name=wanted.get("AvailabilityZoneName"),
                backup=True,
                tags=[],
            )
        if replication_of(dest_backend, dest) or dest is source:
            raise ValidationException(f"File system '{dest.file_system_id}' cannot be a replication destination.")
        dest._overwrite_protection = "REPLICATING"
        config: dict[str, Any] = {
            "SourceFileSystemId": source.file_system_id,
            "SourceFileSystemRegion": backend.region_name,
            "SourceFileSystemArn": source.file_system_arn,
            "OriginalSourceFileSystemArn": source.file_system_arn,
            "CreationTime": datetime.datetime.now(datetime.timezone.utc).timestamp(),
            "Destinations": [{"Status": "ENABLED", "FileSystemId": dest.file_system_id, "Region": region}],
            "SourceFileSystemOwnerId": backend.account_id,
        }
        source._replication = config
        dest._replicated_from = config
        answer = {**config, "Destinations": [{**config["Destinations"][0], "Status": "ENABLING"}]}
        return _json.dumps(answer), json_headers

    def describe_replication_configurations(self: Any) -> Any:
        backend = self.efs_backend
        fs_id = self._get_param("FileSystemId")
        if fs_id:
            config = replication_of(backend, file_system(backend, fs_id))
            if not config:
                raise ReplicationNotFound(fs_id)
            configs = [config]
        else:
            configs = [c for c in (replication_of(backend, fs) for fs in backend.file_systems_by_id.values()) if c]
            configs = list({c["SourceFileSystemArn"]: c for c in configs}.values())
        return _json.dumps({"Replications": configs}), json_headers

    def delete_replication_configuration(self: Any) -> Any:
        backend = self.efs_backend
        source_id = self._get_param("SourceFileSystemId")
        mode = self._get_param("deletionMode") or "ALL_CONFIGURATIONS"
        if mode not in ("ALL_CONFIGURATIONS", "LOCAL_CONFIGURATION_ONLY"):
            raise ValidationException("deletionMode must be ALL_CONFIGURATIONS or LOCAL_CONFIGURATION_ONLY.")
        local = side_holding(backend, source_id)
        if local is None:
            find_source(backend, source_id)  # FileSystemNotFound when it exists in no region
            raise ReplicationNotFound(source_id)
        config = replication_of(backend, local)
        dest_ref = config["Destinations"][0]
        if mode == "LOCAL_CONFIGURATION_ONLY" and config["SourceFileSystemRegion"] == dest_ref["Region"]:
            raise efs_errors.BadRequest(
                "LOCAL_CONFIGURATION_ONLY cannot be used for a replication within one account and region.")
        regions = efs_backends[backend.account_id]
        source = regions[config["SourceFileSystemRegion"]].file_systems_by_id.get(source_id)
        dest = regions[dest_ref["Region"]].file_systems_by_id.get(dest_ref["FileSystemId"])
        everywhere = mode == "ALL_CONFIGURATIONS"
        if source is not None and (everywhere or source is local) and getattr(source, "_replication", None) is config:
            source._replication = None
        if dest is not None and (everywhere or dest is local) and getattr(dest, "_replicated_from", None) is config:
            dest._replicated_from = None
            dest._overwrite_protection = "ENABLED"
        return "", {"status": 204}

    original_delete = EFSBackend.delete_file_system

    def delete_file_system(backend: Any, fs_id: str) -> None:
        fs = backend.file_systems_by_id.get(fs_id)
        if fs is not None and replication_of(backend, fs):
            raise efs_errors.FileSystemInUse(
                f"File system '{fs_id}' is part of a replication configuration; delete the replication first.")
        original_delete(backend, fs_id)

    # moto_server routes only the paths listed in urls.py (in process, a catch-all covers the rest).
    for path in ("/2015-02-01/tags/<file_system_id>/", "/2015-02-01/create-tags/<file_system_id>",
                 "/2015-02-01/delete-tags/<file_system_id>", "/2015-02-01/file-systems/replication-configurations",
                 "/2015-02-01/file-systems/<file_system_id>/replication-configuration"):
        efs_urls.url_paths[path] = efs_urls.response.dispatch
    FileSystem.backup_policy = property(backup_policy)
    FileSystem.info_json = info_json
    EFSBackend.describe_backup_policy = describe_backup_policy
    EFSBackend.delete_file_system = delete_file_system
    for name, handler in (
        ("describe_tags", describe_tags),
        ("create_tags", create_tags),
        ("delete_tags", delete_tags),
        ("put_backup_policy", put_backup_policy),
        ("create_replication_configuration", create_replication_configuration),
        ("describe_replication_configurations", describe_replication_configurations),
        ("delete_replication_configuration", delete_replication_configuration),
    ):
        setattr(EFSResponse, name, handler)


def add_eks_associate_encryption_config() -> None:
    """moto 5.2 has no AssociateEncryptionConfig, so the eks_cluster role could not turn on envelope
    encryption of Kubernetes secrets on the local platform, and nothing proved it. As AWS: the cluster
    must exist (ResourceNotFoundException), a cluster whose secrets are already encrypted is refused
    (InvalidRequestException: the key cannot be changed or removed), otherwise the configuration is
    stored and an update is returned. AWS reports that update InProgress and keeps the cluster ACTIVE
    meanwhile; moto tracks no updates, so it is Successful at once."""
    import json as _json
    import uuid
    from datetime import datetime, timezone

    from moto.core.responses import ActionResult
    from moto.eks import urls as eks_urls
    from moto.eks.exceptions import InvalidRequestException
    from moto.eks.responses import EKSResponse

    def associate_encryption_config(self: Any) -> Any:
        name = self._get_param("name")
        config = self._get_param("encryptionConfig") or []
        cluster = self.eks_backend.describe_cluster(name=name)
        if cluster.encryption_config:
            raise InvalidRequestException(message=f"Encryption is already enabled on the cluster {name}.")
        cluster.encryption_config = config
        update = {
            "id": str(uuid.uuid4()),
            "status": "Successful",
            "type": "AssociateEncryptionConfig",
            "params": [{"type": "EncryptionConfig", "value": _json.dumps(config)}],
            "createdAt": datetime.now(timezone.utc).timestamp(),
            "errors": [],
        }
        return ActionResult({"update": update})

    EKSResponse.associate_encryption_config = associate_encryption_config
    # moto_server routes only the paths listed in urls.py.
    eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/encryption-config/associate$"] = eks_urls.response.dispatch


def add_eks_cluster_security_group() -> None:
    """moto 5.2 creates no cluster security group, yet on AWS it is the group managed node groups
    without a launch template put on their nodes, so the data services must admit it. As AWS: creating
    a cluster makes ``eks-cluster-sg-<name>-<digits>`` in the subnets' VPC, tagged
    ``aws:eks:cluster-name`` and ``kubernetes.io/cluster/<name>=owned``, admitting all traffic from
    itself, reported as ``resourcesVpcConfig.clusterSecurityGroupId`` (with ``vpcId``) and kept through
    UpdateClusterConfig. A cluster on subnets moto does not know (AWS would refuse it) gets no group.
    Deleting the cluster deletes the group unless another group's rule still
    references it; EC2 refuses that deletion (DependencyViolation), so the group outlives the cluster
    until the VPC's owner removes it."""
    import secrets

    from moto.ec2.models import ec2_backends
    from moto.eks.models import EKSBackend

    create_cluster = EKSBackend.create_cluster
    update_cluster_config = EKSBackend.update_cluster_config
    delete_cluster = EKSBackend.delete_cluster

    def ec2_of(backend: Any) -> Any:
        return ec2_backends[backend.account_id][backend.region_name]

    def create(self: Any, name: str, role_arn: str, resources_vpc_config: dict[str, Any], **kwargs: Any) -> Any:
        cluster = create_cluster(self, name, role_arn, resources_vpc_config, **kwargs)
        ec2 = ec2_of(self)
        wanted = resources_vpc_config.get("subnetIds") or []
        subnets = [subnet for subnet in ec2.describe_subnets() if subnet.id in wanted]
        if not subnets:
            # AWS refuses unknown subnets; moto accepts them, and then there is no VPC to put a group in.
            return cluster
        vpc_id = subnets[0].vpc_id
        group_name = f"eks-cluster-sg-{name}-{secrets.randbelow(9 * 10**9) + 10**9}"
        group = ec2.create_security_group(
            group_name,
            "EKS created security group applied to ENI that is attached to EKS Control Plane master nodes,"
            " as well as any managed workloads.",
            vpc_id=vpc_id,
            tags={"Name": group_name, "aws:eks:cluster-name": name, f"kubernetes.io/cluster/{name}": "owned"},
        )
        ec2.authorize_security_group_ingress(
            group.id, "-1", None, None, [], source_groups=[{"GroupId": group.id}], vpc_id=vpc_id
        )
        cluster.resources_vpc_config = {**resources_vpc_config, "clusterSecurityGroupId": group.id, "vpcId": vpc_id}
        return cluster

    def update(self: Any, name: str, resources_vpc_config: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        kept = {}
        if name in self.clusters:
            current = self.clusters[name].resources_vpc_config or {}
            kept = {key: current[key] for key in ("clusterSecurityGroupId", "vpcId") if key in current}
        cluster = update_cluster_config(self, name, resources_vpc_config, *args, **kwargs)
        if cluster is not None and resources_vpc_config:
            cluster.resources_vpc_config = {**resources_vpc_config, **kept}
        return cluster

    def delete(self: Any, name: str) -> Any:
        cluster = delete_cluster(self, name)
        group_id = (cluster.resources_vpc_config or {}).get("clusterSecurityGroupId")
        ec2 = ec2_of(self)
        if group_id and ec2.get_security_group_from_id(group_id) is not None:
            referenced = any(
                source.get("GroupId") == group_id
                for groups in ec2.groups.values()
                for other in groups.values()
                if other.id != group_id
                for rule in other.ingress_rules + other.egress_rules
                for source in ([rule.source_group] if rule.source_group else [])
            )
            if not referenced:
                ec2.delete_security_group(group_id=group_id)
        return cluster

    EKSBackend.create_cluster = create
    EKSBackend.update_cluster_config = update
    EKSBackend.delete_cluster = delete


def add_rds_replica_promotion() -> None:
    """moto 5.2 gives a read replica no ``StatusInfos`` in DescribeDBInstances (real RDS reports its
    "read replication" status there, and ``amazon.aws.rds_instance`` with ``read_replica: false``
    promotes only an instance that has it), and PromoteReadReplica leaves
    ``ReadReplicaSourceDBInstanceIdentifier`` on the promoted instance and the instance in its
    source's ``ReadReplicaDBInstanceIdentifiers`` (real RDS clears both, which is how a promoted
    instance is recognised). docs/emulator-gaps/dr.md rows 1-2.
    """
    from moto.rds import models

    def status_infos(self: Any) -> list[dict[str, Any]] | None:
        if self.is_replica:
            return [{"StatusType": "read replication", "Normal": True, "Status": "replicating"}]
        return None

    models.DBInstance.status_infos = property(status_infos)

    original = models.RDSBackend.promote_read_replica

    def promote_read_replica(self: Any, db_kwargs: dict[str, Any]) -> Any:
        database = self.databases[db_kwargs["db_instance_identifier"]]
        source_id = database.source_db_instance_identifier if database.is_replica else None
        database = original(self, db_kwargs)
        if source_id:
            try:
                source = self.find_db_from_id(source_id)
            except Exception:  # the source may be gone: nothing to unlink
                source = None
            if source is not None:
                for ref in (database.db_instance_arn, database.db_instance_identifier):
                    if ref in source.replicas:
                        source.replicas.remove(ref)
            database.source_db_instance_identifier = None
        return database

    models.RDSBackend.promote_read_replica = promote_read_replica


def add_secrets_stop_replication() -> None:
    """moto 5.2 has no Secrets Manager StopReplicationToReplica (HTTP 500). Real Secrets Manager turns
    the replica into a standalone secret of its region (same ARN and value), the only way to change a
    replica secret's value. docs/emulator-gaps/dr.md row 3.
    """
    from moto.secretsmanager import models, responses
    from moto.secretsmanager.exceptions import InvalidParameterException

    def stop_replication_to_replica(self: Any, secret_id: str) -> str:
        replica = self.secrets[secret_id]
        if not isinstance(replica, models.ReplicaSecret):
            raise InvalidParameterException("Secret is not a replica secret.")
        source = replica.source
        current = source.versions[source.default_version_id]
        standalone = models.FakeSecret(
            account_id=self.account_id,
            region_name=self.region_name,
            secret_id=source.name,
            secret_version=dict(current),
            version_id=source.default_version_id,
            secret_string=current.get("secret_string"),
            secret_binary=current.get("secret_binary"),
            description=source.description,
            tags=source.tags,
            kms_key_id=source.kms_key_id,
            version_stages=["AWSCURRENT"],
            last_changed_date=source.last_changed_date,
            created_date=source.created_date,
        )
        standalone.arn = replica.arn
        del self.secrets[replica.arn]
        self.secrets[standalone.name] = standalone
        source.replicas = [r for r in source.replicas if r.region != self.region_name]
        return standalone.arn

    models.SecretsManagerBackend.stop_replication_to_replica = stop_replication_to_replica

    def stop_replication_to_replica_response(self: Any) -> str:
        arn = self.backend.stop_replication_to_replica(self._get_param("SecretId"))
        return json.dumps({"ARN": arn})

    responses.SecretsManagerResponse.stop_replication_to_replica = stop_replication_to_replica_response


def main() -> None:
    if "-c" not in sys.argv[1:] and "--ssl-cert" not in sys.argv[1:]:
        raise SystemExit("moto_tls_server: serves TLS only; pass -c CERT -k KEY")
    _patch_bucket_policy_context()
    _add_delete_cache_subnet_group()
    add_ebs_default_kms_key_reads()
    add_efs_replication_and_backup_policy()
    add_eks_associate_encryption_config()
    add_eks_cluster_security_group()
    add_rds_replica_promotion()
    add_secrets_stop_replication()
    from moto.server import main as moto_main

    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
