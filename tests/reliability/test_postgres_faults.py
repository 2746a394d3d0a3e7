"""PostgreSQL goes away in the middle of a tenant's schema change (tenant_schema module).

The module is held half-way through its transaction: another session keeps an uncommitted update
of the database's pg_database row (a GRANT), so the module blocks on its first database-wide
statement (REVOKE CONNECT ... FROM PUBLIC) after it has already run CREATE ROLE and CREATE
SCHEMA. Then the backend is terminated, or the whole server restarted. Nothing of the half
change may survive, the failure must say what happened, and a re-run must converge.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid

import psycopg
import pytest
from reliability_support import REPO, direct_cmd, direct_env, module_result, pg_restart, run_direct
from psycopg import sql

MODULE = "llm_saas.platform.tenant_schema"
APP_NAME = "llm_saas.tenant_schema"


@pytest.fixture(scope="module")
def database(pg_private):
    name = "rel_" + postgres_unique()
    with pg_private.connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.execute("CREATE ROLE rel_blocker NOLOGIN")
    return name


def postgres_unique() -> str:
    return uuid.uuid4().hex[:8]


def module_args(server, database: str, tenant: str) -> dict:
    return {**server.login_params(database), "tenant": tenant, "password": "s3cret-app-pw",
            "connection_limit": 5, "statement_timeout": "30s", "readonly_role": True}


def tenant_catalog(server, database: str, tenant: str) -> dict:
    """What exists of the tenant: roles (cluster-wide), its schema and the database ACL entries."""
    base = "tenant_" + tenant.replace("-", "_")
    with server.connect(database) as conn:
        roles = sorted(r[0] for r in conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (base + "\\_%",)))
        schemas = sorted(r[0] for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = %s", (base,)))
        acl = conn.execute("SELECT datacl::text FROM pg_database WHERE datname = %s", (database,)).fetchone()[0]
    return {"roles": roles, "schemas": schemas, "database_acl": acl}


def wait_blocked(server, timeout: float = 60) -> int:
    """pid of the module's backend once it waits on a lock in the middle of its transaction."""
    deadline = time.monotonic() + timeout
    with server.connect() as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT pid, backend_xid IS NOT NULL FROM pg_stat_activity WHERE application_name = %s "
                "AND wait_event_type = 'Lock' AND state = 'active'", (APP_NAME,)).fetchone()
            if row:
                assert row[1], "the module must already have written (it holds a transaction id)"
                return row[0]
            time.sleep(0.05)
    raise AssertionError("tenant_schema never blocked mid-transaction")


def half_way(server, database, tenant, tmp_path, fault, *, args=None, blocker=None):
    """Start the module, hold it half-way through, apply ``fault`` and return its failed result.

    ``blocker``: the uncommitted statement the module will wait behind (default: an update of the
    database's ACL, which its REVOKE CONNECT after CREATE ROLE/SCHEMA waits for).
    """
    blocking = server.connect(database, autocommit=False)
    blocking.execute(blocker or sql.SQL("GRANT TEMPORARY ON DATABASE {} TO rel_blocker").format(
        sql.Identifier(database)))
    cmd = direct_cmd(tmp_path, MODULE, args or module_args(server, database, tenant), "half")
    proc = subprocess.Popen(cmd, cwd=REPO, env=direct_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        pid = wait_blocked(server)
        fault(pid)
        out = proc.communicate(timeout=120)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        with contextlib.suppress(psycopg.Error):  # a restart dropped it too
            blocking.rollback()
        blocking.close()
    return module_result(out)


def assert_converges(server, database, tenant, tmp_path, args=None):
    """A re-run converges (changed) and the one after it changes nothing."""
    args = args or module_args(server, database, tenant)
    again = run_direct(tmp_path, MODULE, args, name="again")
    third = run_direct(tmp_path, MODULE, args, name="third")
    assert again.get("failed") is not True and again["changed"] is True, again
    assert third.get("failed") is not True and third["changed"] is False, third
    state = tenant_catalog(server, database, tenant)
    base = "tenant_" + tenant.replace("-", "_")
    assert state["roles"] == [base + "_app", base + "_owner", base + "_ro"]
    assert state["schemas"] == [base]
    # The app role logs in with its password: the role is whole, not half-configured.
    with server.connect(database, user=base + "_app", password="s3cret-app-pw") as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "30s"


def terminator(server):
    def terminate(pid):
        with server.connect() as conn:
            assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0] is True
    return terminate


def test_backend_terminated_mid_change_leaves_nothing_and_rerun_converges(pg_private, database, tmp_path):
    tenant = "rel-term-" + postgres_unique()
    before = tenant_catalog(pg_private, database, tenant)
    result = half_way(pg_private, database, tenant, tmp_path, terminator(pg_private))
    assert result["failed"] is True
    # The cause, not a follow-up "the connection is lost" from rolling back on a dead connection.
    assert "terminating connection due to administrator command" in result["msg"], result["msg"]
    assert "failed" in result["msg"] and "REVOKE CONNECT" in result["msg"], result["msg"]
    assert tenant_catalog(pg_private, database, tenant) == before, "half-created roles or schema survived"
    assert_converges(pg_private, database, tenant, tmp_path)

    # Existing tenant data: rows the app stored survive a change cut half-way and its re-converge.
    base = "tenant_" + tenant.replace("-", "_")
    with pg_private.connect(database, user=base + "_app", password="s3cret-app-pw") as conn:
        conn.execute(sql.SQL("CREATE TABLE {}.chats (id serial PRIMARY KEY, body text)").format(sql.Identifier(base)))
        conn.execute(sql.SQL("INSERT INTO {}.chats (body) SELECT 'msg ' || g FROM generate_series(1, 50) g")
                     .format(sql.Identifier(base)))
    changed = {**module_args(pg_private, database, tenant), "connection_limit": 7}
    blocker = f"ALTER ROLE {base}_app CONNECTION LIMIT 6"
    result = half_way(pg_private, database, tenant, tmp_path, terminator(pg_private), args=changed, blocker=blocker)
    assert result["failed"] is True and "terminating connection" in result["msg"], result
    assert_converges(pg_private, database, tenant, tmp_path, changed)
    with pg_private.connect(database) as conn:
        rows = conn.execute(sql.SQL("SELECT count(*), min(body), max(id) FROM {}.chats").format(sql.Identifier(base)))
        assert rows.fetchone() == (50, "msg 1", 50)
        assert conn.execute("SELECT rolconnlimit FROM pg_roles WHERE rolname = %s",
                            (base + "_app",)).fetchone()[0] == 7


def test_server_restart_mid_change_leaves_nothing_and_rerun_converges(pg_private, database, tmp_path):
    tenant = "rel-restart-" + postgres_unique()
    before = tenant_catalog(pg_private, database, tenant)
    result = half_way(pg_private, database, tenant, tmp_path, lambda _pid: pg_restart(pg_private))
    assert result["failed"] is True
    msg = result["msg"]
    assert "terminating connection due to administrator command" in msg or "server closed the connection" in msg, msg
    assert tenant_catalog(pg_private, database, tenant) == before, "half-created roles or schema survived"
    assert_converges(pg_private, database, tenant, tmp_path)
