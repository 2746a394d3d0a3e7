"""DR playbooks against a private moto (primary in us-east-1, replicas in us-west-2).

moto 5.2 lacks three behaviours the DR playbooks rely on (RDS StatusInfos of a replica, the
promoted replica losing its source, Secrets Manager StopReplicationToReplica): the private
server is the local platform's kind (tests/local_platform/moto_tls_server.py), which adds them
(docs/emulator-gaps/dr.md). The shared local platform's moto is never touched.
tests/dr/test_dr_region_converge.py runs the whole chain on the state the foundation builds.

tenant_restore runs against the shared PostgreSQL in a database of its own (postgres_fixture).
"""

from __future__ import annotations

import gzip
import json
import subprocess

import boto3
import postgres_fixture
import pytest
from psycopg import sql
from platform_helpers import LOCAL_PREFIX, recap, run_playbook
from private_moto import private_local_platform_moto

pg_server = postgres_fixture.pg_server
pg_database = postgres_fixture.pg_database

PREFIX = LOCAL_PREFIX  # platform_name-platform_environment of inventories/local
PRIMARY, DR = "us-east-1", "us-west-2"
WRITER = f"{PREFIX}-postgres"
DR_ID = f"{WRITER}-dr"
TENANTS = ["acme", "globex", "initech"]  # inventories/local
MASTER_SECRET = f"{PREFIX}/rds/master"
PRIMARY_HOST = f"{WRITER}.primary.example"


def tenant_secret(tenant: str) -> str:
    return f"llm-saas/local/tenants/{tenant}/app"


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    """A private moto with the foundation's RDS and secrets state; yields (env, client factory)."""
    with private_local_platform_moto(tmp_path_factory.mktemp("dr-moto")) as (endpoint, ca_file):
        env = {"AWS_ENDPOINT_URL": endpoint, "AWS_CA_BUNDLE": str(ca_file), "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": PRIMARY}

        def client(service: str, region: str = PRIMARY):
            return boto3.client(service, endpoint_url=endpoint, region_name=region, verify=str(ca_file),
                                aws_access_key_id="testing", aws_secret_access_key="testing")

        east, west = client("rds"), client("rds", DR)
        for region, name in ((PRIMARY, WRITER), (DR, DR_ID)):
            # Real RDS always reports DBSubnetGroup (rds_instance needs it); moto only when given.
            ec2 = client("ec2", region)
            vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
            subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{region}{az}")
                       ["Subnet"]["SubnetId"] for i, az in enumerate("ab")]
            client("rds", region).create_db_subnet_group(
                DBSubnetGroupName=name, DBSubnetGroupDescription="db", SubnetIds=subnets)
        writer = east.create_db_instance(
            DBInstanceIdentifier=WRITER, Engine="postgres", EngineVersion="16.8", DBInstanceClass="db.t3.micro",
            AllocatedStorage=20, MasterUsername="llm_saas_admin", MasterUserPassword="not-a-real-password",
            BackupRetentionPeriod=14, DeletionProtection=True, DBSubnetGroupName=WRITER)["DBInstance"]
        west.create_db_instance_read_replica(
            DBInstanceIdentifier=DR_ID, SourceDBInstanceIdentifier=writer["DBInstanceArn"], SourceRegion=PRIMARY,
            DBInstanceClass="db.t3.micro", Tags=[{"Key": "Role", "Value": "dr-reader"}])
        # moto looks a cross-region replica's subnet group up in the source region: attach it after.
        west.modify_db_instance(DBInstanceIdentifier=DR_ID, DBSubnetGroupName=DR_ID, ApplyImmediately=True)
        sm = client("secretsmanager")
        sm.create_secret(Name=MASTER_SECRET, AddReplicaRegions=[{"Region": DR}], SecretString=json.dumps(
            {"username": "llm_saas_admin", "password": "pw", "engine": "postgres", "port": 5432,
             "host": PRIMARY_HOST}))
        for tenant in TENANTS:
            sm.create_secret(Name=tenant_secret(tenant), AddReplicaRegions=[{"Region": DR}], SecretString=json.dumps(
                {"db_user": f"tenant_{tenant}_app", "db_password": "pw", "webui_secret_key": "k"}))
        client("s3").create_bucket(Bucket=f"{PREFIX}-backups-123456789012-{PRIMARY}")
        yield env, client


def state(client) -> dict:
    """Everything the DR playbooks could touch, in both regions."""
    out: dict = {}
    for region in (PRIMARY, DR):
        rds = client("rds", region)
        out[f"rds:{region}"] = {
            i["DBInstanceIdentifier"]: {
                "source": i.get("ReadReplicaSourceDBInstanceIdentifier"),
                "replicas": sorted(i.get("ReadReplicaDBInstanceIdentifiers", [])),
                "status": i["DBInstanceStatus"], "endpoint": i["Endpoint"]["Address"],
                "backup_retention": i["BackupRetentionPeriod"],
                "tags": {t["Key"]: t["Value"] for t in i.get("TagList", [])}}
            for i in rds.describe_db_instances()["DBInstances"]}
        sm = client("secretsmanager", region)
        out[f"secrets:{region}"] = {
            s["Name"]: {"primary_region": s.get("PrimaryRegion"),
                        "replicas": [r["Region"] for r in s.get("ReplicationStatus", [])],
                        "value": json.loads(sm.get_secret_value(SecretId=s["Name"])["SecretString"])}
            for s in sm.list_secrets()["SecretList"]}
        out[f"s3:{region}"] = sorted(b["Name"] for b in client("s3", region).list_buckets()["Buckets"])
    return out


def failover(env: dict, *args: str, **extra) -> subprocess.CompletedProcess:
    return run_playbook("playbooks/dr_failover.yml", *args, env=env, extra_vars=extra or None)


def test_failover_refuses_without_confirmation(aws):
    env, client = aws
    before = state(client)
    for extra in ({}, {"confirm_failover": "llm-saas-production"}):
        proc = failover(env, **extra)
        assert proc.returncode != 0
        assert "confirm_failover=llm-saas-local" in proc.stdout, proc.stdout
        assert "nothing was changed" in proc.stdout
        assert recap(proc.stdout)["controller"]["changed"] == 0
    assert state(client) == before


def test_failover_check_mode_changes_nothing(aws):
    env, client = aws
    before = state(client)
    proc = failover(env, "--check", "--diff", confirm_failover=PREFIX)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "replica of" in proc.stdout and "standalone writer" in proc.stdout  # the plan
    assert recap(proc.stdout)["controller"]["changed"] > 0
    assert state(client) == before


def test_failover_promotes_and_repoints(aws, tmp_path):
    env, client = aws
    before = state(client)
    outputs = tmp_path / "dr.yml"
    proc = failover(env, confirm_failover=PREFIX, dr_outputs_file=str(outputs))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = state(client)

    dr = after[f"rds:{DR}"][DR_ID]
    assert dr["source"] is None and dr["status"] == "available"
    assert dr["tags"]["Role"] == "writer" and dr["backup_retention"] == 14
    endpoint = dr["endpoint"]
    assert endpoint.startswith(DR_ID) and DR in endpoint

    secrets = after[f"secrets:{DR}"]
    assert secrets[MASTER_SECRET]["value"]["host"] == endpoint
    assert secrets[MASTER_SECRET]["primary_region"] is None  # standalone in the DR region now
    assert secrets[MASTER_SECRET]["value"]["password"] == "pw"
    for tenant in TENANTS:
        value = secrets[tenant_secret(tenant)]["value"]
        assert (value["db_host"], value["db_port"]) == (endpoint, 5432)
        assert value["db_password"] == "pw" and value["db_user"] == f"tenant_{tenant}_app"

    # Nothing in the primary region was deleted or changed (its secrets keep their values).
    east_before, east_after = before[f"rds:{PRIMARY}"], after[f"rds:{PRIMARY}"]
    assert east_after.keys() == east_before.keys()
    assert {**east_after[WRITER], "replicas": None} == {**east_before[WRITER], "replicas": None}
    assert east_after[WRITER]["status"] == "available"
    assert {k: v["value"] for k, v in after[f"secrets:{PRIMARY}"].items()} == {
        k: v["value"] for k, v in before[f"secrets:{PRIMARY}"].items()}
    assert after[f"s3:{PRIMARY}"] == before[f"s3:{PRIMARY}"]

    settings = outputs.read_text()
    assert f"aws_region: {DR}" in settings and f"platform_db_host: {endpoint}" in settings
    assert f"data_services_rds_identifier: {DR_ID}" in settings


def test_failover_second_run_is_idempotent(aws, tmp_path):
    env, client = aws
    before = state(client)
    proc = failover(env, confirm_failover=PREFIX)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap(proc.stdout)["controller"]["changed"] == 0, proc.stdout
    assert state(client) == before


def test_failback_replicates_then_promotes(aws):
    env, client = aws
    proc = run_playbook("playbooks/dr_failback.yml", env=env)
    assert proc.returncode != 0 and "confirm_failback=llm-saas-local" in proc.stdout

    before = state(client)
    proc = run_playbook("playbooks/dr_failback.yml", env=env, extra_vars={"confirm_failback": PREFIX})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = state(client)
    failback = after[f"rds:{PRIMARY}"][f"{WRITER}-failback"]
    assert failback["source"] and failback["source"].endswith(f":db:{DR_ID}")
    assert set(before[f"rds:{PRIMARY}"]) <= set(after[f"rds:{PRIMARY}"])  # nothing deleted

    proc = run_playbook("playbooks/dr_failback.yml", env=env,
                        extra_vars={"confirm_failback": PREFIX, "dr_failback_phase": "promote"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = state(client)
    failback = after[f"rds:{PRIMARY}"][f"{WRITER}-failback"]
    assert failback["source"] is None
    for name in [MASTER_SECRET, *map(tenant_secret, TENANTS)]:
        value = after[f"secrets:{PRIMARY}"][name]["value"]
        assert failback["endpoint"] in (value.get("host"), value.get("db_host"))
    assert set(after[f"rds:{DR}"]) == {DR_ID}  # the DR writer stays


# --- restore of one tenant's schema -------------------------------------------------------

def _psql_rows(pg_server, db: str, query: str, params: tuple = ()) -> list:
    with pg_server.connect(db) as conn:
        return conn.execute(query, params).fetchall()


def test_tenant_restore(aws, pg_server, pg_database, tmp_path):
    env, client = aws
    schema = "tenant_acme"
    with pg_server.connect(pg_database) as conn:
        conn.execute("CREATE SCHEMA tenant_acme")
        conn.execute("CREATE TABLE tenant_acme.chat (id int PRIMARY KEY, body text)")
        conn.execute("INSERT INTO tenant_acme.chat VALUES (1, 'hello'), (2, 'world')")
        conn.execute("CREATE SCHEMA tenant_globex")
        conn.execute("CREATE TABLE tenant_globex.chat (id int)")
        conn.execute("INSERT INTO tenant_globex.chat VALUES (7)")
    # The tenant backups' format: pg_dump --schema=<schema> (owners and grants kept), gzip'd, in
    # s3://<prefix>-backups-<account>-<region>/tenants/<tenant>/{offboard,scheduled}/<stamp>/<schema>.sql.gz
    dump = subprocess.run(
        ["pg_dump", "-h", pg_server.host, "-p", str(pg_server.port), "-U", pg_server.user,
         f"--schema={schema}", pg_database],
        env={"PGPASSWORD": pg_server.password}, check=True, capture_output=True).stdout
    bucket = f"{PREFIX}-backups-123456789012-{PRIMARY}"
    s3 = client("s3")
    s3.put_object(Bucket=bucket, Key=f"tenants/acme/offboard/20250101T000000Z/{schema}.sql.gz",
                  Body=gzip.compress(b"-- an older backup\nSELECT 1;\n"))
    s3.put_object(Bucket=bucket, Key=f"tenants/acme/offboard/20260101T000000Z/{schema}.sql.gz",
                  Body=gzip.compress(dump))

    pg_env = {**env, "PGHOST": pg_server.host, "PGPORT": str(pg_server.port), "PGPASSWORD": pg_server.password}
    base = {"restore_tenant": "acme", "platform_db_name": pg_database}

    def restore(*args: str, **extra):
        return run_playbook("playbooks/tenant_restore.yml", *args, env=pg_env, extra_vars={**base, **extra})

    def rows() -> list:
        return _psql_rows(pg_server, pg_database, "SELECT id, body FROM tenant_acme.chat ORDER BY id")

    proc = restore()
    assert proc.returncode != 0 and "confirm_restore=acme" in proc.stdout, proc.stdout

    proc = restore(confirm_restore="acme")
    assert proc.returncode != 0 and "tenant_restore_overwrite" in proc.stdout, proc.stdout
    assert rows() == [(1, "hello"), (2, "world")]

    with pg_server.connect(pg_database) as conn:
        conn.execute("DELETE FROM tenant_acme.chat")
        conn.execute("CREATE TABLE tenant_acme.stray (id int)")

    proc = restore(confirm_restore="acme", tenant_restore_overwrite=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert rows() == [(1, "hello"), (2, "world")]
    tables = _psql_rows(pg_server, pg_database,
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'tenant_acme' ORDER BY 1")
    assert tables == [("chat",)]  # the schema was replaced, not merged
    assert _psql_rows(pg_server, pg_database, "SELECT id FROM tenant_globex.chat") == [(7,)]

    # A dropped schema is restored without the overwrite flag.
    with pg_server.connect(pg_database) as conn:
        conn.execute("DROP SCHEMA tenant_acme CASCADE")
    proc = restore(confirm_restore="acme")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert rows() == [(1, "hello"), (2, "world")]


def test_tenant_restore_by_a_non_superuser_admin_gives_objects_back(aws, pg_server, pg_database):
    """The RDS master is no superuser: it restores a dump whose objects belong to the tenant's roles
    (the app role owns what its migrations created) and ends up a member of none of them."""
    env, client = aws
    schema = postgres_fixture.unique("tenant_r")  # roles are cluster-wide: names no other run uses
    owner, app, admin = f"{schema}_owner", f"{schema}_app", f"{schema}_master"
    with pg_server.connect(pg_database) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(owner)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'pw'").format(sql.Identifier(app)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD 'pw'").format(sql.Identifier(admin)))
        conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(pg_database), sql.Identifier(admin)))
        conn.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(sql.Identifier(schema), sql.Identifier(owner)))
        conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(
            sql.Identifier(schema), sql.Identifier(app)))
    try:
        with pg_server.connect(pg_database, user=app, password="pw") as conn:
            conn.execute(sql.SQL("CREATE TABLE {}.chat (id int PRIMARY KEY, body text)").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("INSERT INTO {}.chat VALUES (1, 'hello')").format(sql.Identifier(schema)))
        dump = subprocess.run(
            ["pg_dump", "-h", pg_server.host, "-p", str(pg_server.port), "-U", pg_server.user,
             f"--schema={schema}", pg_database],
            env={"PGPASSWORD": pg_server.password}, check=True, capture_output=True).stdout
        assert f"OWNER TO {app};".encode() in dump
        client("s3").put_object(Bucket=f"{PREFIX}-backups-123456789012-{PRIMARY}", Body=gzip.compress(dump),
                                Key=f"tenants/acme/scheduled/20270101T000000Z/{schema}.sql.gz")
        with pg_server.connect(pg_database, user=app, password="pw") as conn:
            conn.execute(sql.SQL("UPDATE {}.chat SET body = 'lost'").format(sql.Identifier(schema)))

        pg_env = {**env, "PGHOST": pg_server.host, "PGPORT": str(pg_server.port)}
        proc = run_playbook("playbooks/tenant_restore.yml", env=pg_env, extra_vars={
            "restore_tenant": "acme", "confirm_restore": "acme", "tenant_restore_overwrite": True,
            "dr_restore_schema": schema, "platform_db_name": pg_database,
            "platform_db_admin_user": admin, "platform_db_admin_password": "pw"})
        assert proc.returncode == 0, proc.stdout + proc.stderr

        with pg_server.connect(pg_database, user=app, password="pw") as conn:  # the app reads and owns its table
            assert conn.execute(sql.SQL("SELECT id, body FROM {}.chat").format(sql.Identifier(schema))).fetchall() \
                == [(1, "hello")]
        owners = _psql_rows(pg_server, pg_database, "SELECT tableowner FROM pg_tables WHERE schemaname = %s", (schema,))
        assert owners == [(app,)]
        assert _psql_rows(pg_server, pg_database, "SELECT pg_get_userbyid(nspowner) FROM pg_namespace "
                          "WHERE nspname = %s", (schema,)) == [(owner,)]
        memberships = _psql_rows(pg_server, pg_database, "SELECT pg_has_role(%s, %s, 'MEMBER'), "
                                 "pg_has_role(%s, %s, 'MEMBER')", (admin, owner, admin, app))
        assert memberships == [(False, False)], "the admin's memberships were revoked before commit"
    finally:
        with pg_server.connect(pg_database) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            for role in (admin, app, owner):
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def backup_state(client) -> dict:
    """The AWS Backup vaults of both regions, and the primary region's plans with their rules."""
    out: dict = {region: sorted(v["BackupVaultName"] for v in client("backup", region).list_backup_vaults()
                                ["BackupVaultList"]) for region in (PRIMARY, DR)}
    backup = client("backup")
    out["plans"] = {
        p["BackupPlanName"]: backup.get_backup_plan(BackupPlanId=p["BackupPlanId"])["BackupPlan"]["Rules"]
        for p in backup.list_backup_plans()["BackupPlansList"]}
    return out


def test_backups_plan_snapshots_daily_and_copies_to_the_dr_region(aws):
    env, client = aws
    before = backup_state(client)
    assert before == {PRIMARY: [], DR: [], "plans": {}}, "the private moto starts without backups"

    proc = run_playbook("playbooks/backups.yml", "--check", "--diff", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap(proc.stdout)["controller"]["changed"] > 0
    assert backup_state(client) == before, "check mode created backup resources"

    proc = run_playbook("playbooks/backups.yml", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = backup_state(client)
    vault = f"{PREFIX}-vault"
    assert (after[PRIMARY], after[DR]) == ([vault], [vault])
    (rule,) = after["plans"][f"{PREFIX}-daily"]
    assert rule["TargetBackupVaultName"] == vault
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert rule["Lifecycle"]["DeleteAfterDays"] == 35
    (copy,) = rule["CopyActions"]
    assert copy["DestinationBackupVaultArn"] == f"arn:aws:backup:{DR}:123456789012:backup-vault:{vault}"
    trust = client("iam").get_role(RoleName=f"{PREFIX}-backup")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "backup.amazonaws.com"}

    proc = run_playbook("playbooks/backups.yml", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap(proc.stdout)["controller"]["changed"] == 0, proc.stdout
    assert backup_state(client) == after
