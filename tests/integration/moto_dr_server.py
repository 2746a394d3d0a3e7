"""moto_server with the three fixes the DR playbooks need (moto 5.2; docs/emulator-gaps/dr.md).

Run instead of ``moto_server`` (same arguments) by ``private_moto(launcher=...)``:

* RDS ``DescribeDBInstances`` gives a read replica no ``StatusInfos``; real RDS reports its
  "read replication" status there, and ``amazon.aws.rds_instance`` (``read_replica: false``)
  promotes only an instance that has it.
* RDS ``PromoteReadReplica`` leaves ``ReadReplicaSourceDBInstanceIdentifier`` on the promoted
  instance and the instance in its source's ``ReadReplicaDBInstanceIdentifiers``; real RDS
  clears both, which is how a promoted instance is recognised.
* Secrets Manager has no ``StopReplicationToReplica`` (HTTP 500); real Secrets Manager turns the
  replica into a standalone secret, the only way to change a replica secret's value.
"""

from __future__ import annotations

import sys
from typing import Any


def _patch_rds() -> None:
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


def _patch_secretsmanager() -> None:
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
        import json

        arn = self.backend.stop_replication_to_replica(self._get_param("SecretId"))
        return json.dumps({"ARN": arn})

    responses.SecretsManagerResponse.stop_replication_to_replica = stop_replication_to_replica_response


def main() -> None:
    _patch_rds()
    _patch_secretsmanager()
    from moto.server import main as moto_main

    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
