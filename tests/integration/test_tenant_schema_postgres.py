"""tenant_schema / tenant_schema_info against a real PostgreSQL 15.

Module runs go through `ansible` (subprocess from the repository root, the real module code path);
catalog checks and isolation checks use psycopg connections, including as the tenants' own roles.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
import postgres_fixture
from postgres_fixture import drop_database, drop_roles_like, unique

# Fixtures shared with other PostgreSQL tests (bound by assignment so pytest collects them here).
pg_server = postgres_fixture.pg_server
pg_database = postgres_fixture.pg_database

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / ".collections"))
from ansible_collections.llm_saas.platform.plugins.module_utils.postgres import tenant_schema as ts  # noqa: E402

PYTHON = sys.executable
ANSIBLE = str(Path(sys.executable).parent / "ansible")
HOSTILE_PASSWORD = "p'w\"; DROP ROLE postgres; -- \u00e9\u00df\u2603"


def ansible_env():
    env = dict(os.environ)
    env.update(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="0")
    return env


def module_cmd(args: dict, module="tenant_schema", check=False, diff=False) -> list[str]:
    cmd = [ANSIBLE, "localhost", "-i", "localhost,", "-c", "local", "-m", f"llm_saas.platform.{module}",
           "-a", json.dumps(args), "-e", f"ansible_python_interpreter={PYTHON}"]
    return cmd + (["--check"] if check else []) + (["--diff"] if diff else [])


def parse(proc: subprocess.CompletedProcess) -> dict:
    try:
        out = json.loads(proc.stdout)
    except ValueError as exc:
        raise AssertionError(f"no JSON from ansible (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}") from exc
    return out["plays"][0]["tasks"][0]["hosts"]["localhost"]


def run_module(args: dict, module="tenant_schema", check=False, diff=False, expect_failure=False) -> dict:
    proc = subprocess.run(module_cmd(args, module, check, diff), cwd=REPO, env=ansible_env(),
                          capture_output=True, text=True, check=False)
    result = parse(proc)
    if expect_failure:
        assert result.get("failed"), result
    else:
        assert not result.get("failed"), result
    return result


def catalog(server, db: str, tenants: list[str]) -> dict:
    """Everything tenant_schema manages, read as superuser, for before/after comparisons."""
    names = {ts.tenant_identifier(t) for t in tenants}
    pats = [n + "%" for n in names]
    with server.connect(db) as conn:
        q = lambda text, *a: [tuple(r) for r in conn.execute(text, a).fetchall()]  # noqa: E731
        return {
            "roles": q("SELECT rolname, rolcanlogin, rolconnlimit, rolpassword IS NOT NULL FROM pg_authid"
                       " WHERE rolname LIKE ANY(%s) ORDER BY 1", pats),
            "members": q("SELECT r.rolname, m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid"
                         " JOIN pg_roles m ON m.oid = a.member WHERE r.rolname LIKE ANY(%s) OR m.rolname LIKE ANY(%s)"
                         " ORDER BY 1, 2", pats, pats),
            "schemas": q("SELECT nspname, pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace"
                         " WHERE nspname = ANY(%s) ORDER BY 1", list(names)),
            "defacl": q("SELECT pg_get_userbyid(defaclrole), defaclobjtype, defaclacl::text FROM pg_default_acl d"
                        " JOIN pg_namespace n ON n.oid = d.defaclnamespace WHERE n.nspname = ANY(%s) ORDER BY 1, 2",
                        list(names)),
            "datacl": q("SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END AS g,"
                        " x.privilege_type FROM pg_database d, aclexplode(d.datacl) x"
                        " WHERE d.datname = current_database()"
                        " AND (x.grantee = 0 OR pg_get_userbyid(x.grantee) LIKE ANY(%s)) ORDER BY 1, 2", pats),
            "settings": q("SELECT r.rolname, s.setconfig::text FROM pg_db_role_setting s JOIN pg_roles r"
                          " ON r.oid = s.setrole WHERE r.rolname LIKE ANY(%s) ORDER BY 1", pats),
            "extensions": q("SELECT extname FROM pg_extension ORDER BY 1"),
        }


def login_args(server, db, **kw):
    args = server.login_params(db)
    args.update(kw)
    return args


@pytest.fixture(scope="module")
def cleanup_roles(pg_server):
    prefixes = []
    yield prefixes
    for prefix in prefixes:
        drop_roles_like(pg_server, prefix)


def new_tenant(cleanup_roles, prefix="t"):
    tenant = unique(prefix)
    cleanup_roles.append(ts.tenant_identifier(tenant))
    return tenant


# ----------------------------------------------------------------------------- lifecycle


def test_lifecycle_create_rerun_change_check_absent(pg_server, pg_database, cleanup_roles):
    db = pg_database
    tenant, other = new_tenant(cleanup_roles), new_tenant(cleanup_roles)
    base = ts.tenant_identifier(tenant)
    args = login_args(pg_server, db, tenant=tenant, password=HOSTILE_PASSWORD, connection_limit=5,
                      statement_timeout="30s", readonly_role=True, extensions=["pg_trgm"])
    run_module(login_args(pg_server, db, tenant=other, password="other-pw"))
    other_before = catalog(pg_server, db, [other])

    # Check mode first: statements are run and rolled back, nothing lands in the catalog.
    empty = catalog(pg_server, db, [tenant])
    checked = run_module(args, check=True, diff=True)
    assert checked["changed"] is True
    assert f'CREATE SCHEMA "{base}" AUTHORIZATION "{base}_owner"' in checked["queries"]
    assert checked["diff"]["before"]["schema"]["exists"] is False
    assert checked["diff"]["after"]["schema"]["owner"] == f"{base}_owner"
    assert catalog(pg_server, db, [tenant]) == empty

    created = run_module(args, diff=True)
    assert created["changed"] is True
    assert created["schema"] == base
    assert created["roles"] == {"owner": f"{base}_owner", "app": f"{base}_app", "readonly": f"{base}_ro"}
    assert f"CREATE ROLE \"{base}_app\" LOGIN CONNECTION LIMIT 5 PASSWORD '********'" in created["queries"]
    assert HOSTILE_PASSWORD not in json.dumps(created)
    after_create = catalog(pg_server, db, [tenant])
    assert after_create["schemas"][0][1] == f"{base}_owner"
    assert [r[0] for r in after_create["roles"]] == sorted([f"{base}_app", f"{base}_owner", f"{base}_ro"])
    assert ("pg_trgm",) in after_create["extensions"]

    # Re-run: no change, nothing executed, catalog identical.
    rerun = run_module(args, diff=True)
    assert (rerun["changed"], rerun["queries"]) == (False, [])
    assert rerun["diff"]["before"] == rerun["diff"]["after"]
    assert catalog(pg_server, db, [tenant]) == after_create
    # ... and really zero writes: the transaction never got an xid.
    params = dict(argument_defaults(), **args)
    assert ts.run(params).xact_assigned is None

    # Change one option: exactly that statement.
    changed = run_module(dict(args, connection_limit=7), diff=True)
    assert changed["changed"] is True
    assert changed["queries"] == [f'ALTER ROLE "{base}_app" CONNECTION LIMIT 7']
    assert changed["diff"]["before"]["roles"][f"{base}_app"]["connection_limit"] == 5
    assert changed["diff"]["after"]["roles"][f"{base}_app"]["connection_limit"] == 7

    # A change in check mode reports it but leaves the catalog alone.
    snapshot = catalog(pg_server, db, [tenant])
    checked = run_module(dict(args, connection_limit=7, statement_timeout="1min"), check=True)
    assert checked["queries"] == [f"ALTER ROLE \"{base}_app\" IN DATABASE \"{db}\" SET statement_timeout TO '1min'"]
    assert catalog(pg_server, db, [tenant]) == snapshot

    # Absent: check mode drops nothing, then everything of this tenant goes, the other stays.
    absent = login_args(pg_server, db, tenant=tenant, state="absent", readonly_role=True)
    assert run_module(absent, check=True)["changed"] is True
    assert catalog(pg_server, db, [tenant]) == snapshot
    gone = run_module(absent)
    assert gone["changed"] is True
    after = catalog(pg_server, db, [tenant])
    assert (after["roles"], after["schemas"], after["defacl"], after["settings"], after["members"]) == ([],) * 5
    # Extensions are database-wide (created for this tenant, kept for everyone): compare the rest.
    other_before.pop("extensions")
    other_after = catalog(pg_server, db, [other])
    other_after.pop("extensions")
    assert other_after == other_before
    assert run_module(absent)["changed"] is False


def argument_defaults() -> dict:
    return {k: v.get("default") for k, v in ts.argument_spec().items()}


def mod(params: dict) -> dict:
    return dict(argument_defaults(), **params)


# ----------------------------------------------------------------------------- isolation


def test_isolation_with_real_connections(pg_server, pg_database, cleanup_roles):
    db = pg_database
    a, b = new_tenant(cleanup_roles), new_tenant(cleanup_roles)
    sa, sb = ts.tenant_identifier(a), ts.tenant_identifier(b)
    ts.run(mod(login_args(pg_server, db, tenant=a, password=HOSTILE_PASSWORD, readonly_role=True)))
    ts.run(mod(login_args(pg_server, db, tenant=b, password="b-secret")))
    with pg_server.connect(db) as admin:
        admin.execute("CREATE TABLE public.platform_secret (x int)")
        # A table created by the owner (e.g. migrations run as owner) must stay usable by the app.
        admin.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(sa + "_owner")))
        admin.execute(sql.SQL("CREATE TABLE {}.owner_made (id serial primary key, v text)").format(sql.Identifier(sa)))
        admin.execute("RESET ROLE")
        analyst = sa + "_analyst"
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'analyst-pw' IN ROLE {}").format(
            sql.Identifier(analyst), sql.Identifier(sa + "_ro")))

    with pg_server.connect(db, user=sb + "_app", password="b-secret") as conn_b:
        conn_b.execute("CREATE TABLE b_private (secret text)")
        conn_b.execute("INSERT INTO b_private VALUES ('b only')")

    with pg_server.connect(db, user=sa + "_app", password=HOSTILE_PASSWORD) as conn:
        # Open WebUI issues unqualified DDL: it must land in the tenant's schema.
        conn.execute("CREATE TABLE chat (id serial primary key, body text)")
        conn.execute("INSERT INTO chat (body) VALUES ('hello')")
        assert conn.execute("SELECT body FROM chat").fetchall() == [("hello",)]
        assert conn.execute("SELECT schemaname FROM pg_tables WHERE tablename = 'chat'").fetchone() == (sa,)
        assert conn.execute("SHOW search_path").fetchone()[0] == f"{sa}, public"
        conn.execute("INSERT INTO owner_made (v) VALUES ('ok')")
        assert conn.execute("SELECT v FROM owner_made").fetchall() == [("ok",)]
        for stmt in (sql.SQL("SELECT * FROM {}.b_private").format(sql.Identifier(sb)),
                     "CREATE TABLE public.intruder (x int)", "SELECT * FROM public.platform_secret",
                     sql.SQL("CREATE TABLE {}.intruder (x int)").format(sql.Identifier(sb))):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                conn.execute(stmt)
            conn.rollback()

    # The read-only role (through a member) reads tables made by the app and the owner, writes nothing.
    with pg_server.connect(db, user=sa + "_analyst", password="analyst-pw") as ro:
        ro.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(sa)))
        assert ro.execute("SELECT body FROM chat").fetchall() == [("hello",)]
        assert ro.execute("SELECT v FROM owner_made").fetchall() == [("ok",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            ro.execute("INSERT INTO chat (body) VALUES ('nope')")

    # B's role name with A's password, the NOLOGIN owner, and PUBLIC roles cannot get in.
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        pg_server.connect(db, user=sb + "_app", password=HOSTILE_PASSWORD)
    with pytest.raises(psycopg.OperationalError, match=r"not permitted to log in|password authentication failed"):
        pg_server.connect(db, user=sa + "_owner", password=HOSTILE_PASSWORD)
    outsider = unique("ts_outsider_")
    with pg_server.connect(db) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'outsider'").format(sql.Identifier(outsider)))
    try:
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            pg_server.connect(db, user=outsider, password="outsider")
    finally:
        with pg_server.connect() as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(outsider)))

    info = run_module(login_args(pg_server, db, tenants=[a, b]), module="tenant_schema_info")
    by_schema = {t["schema"]: t for t in info["tenants"]}
    assert set(by_schema) == {sa, sb}
    assert by_schema[sa]["tenant"] == a and by_schema[sa]["owner"] == sa + "_owner"
    assert by_schema[sa]["tables"] == 2 and by_schema[sa]["size_bytes"] > 0
    assert by_schema[sa]["grants"][sa + "_app"] == ["USAGE", "CREATE"]
    assert by_schema[sa]["roles"][sa + "_app"]["settings"]["search_path"] == f"{sa}, public"
    assert by_schema[sb]["tables"] == 1

    # Absent refuses while data is there, and names the fix; nothing is dropped.
    before = catalog(pg_server, db, [a])
    failed = run_module(login_args(pg_server, db, tenant=a, state="absent", readonly_role=True), expect_failure=True)
    assert "drop_data" in failed["msg"] and "objects" in failed["msg"]
    assert catalog(pg_server, db, [a]) == before

    # With drop_data and terminate_sessions: an open session of A is cut, A is gone, B untouched.
    b_before = catalog(pg_server, db, [b])
    with pg_server.connect(db) as admin:
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(analyst)))
    lingering = pg_server.connect(db, user=sa + "_app", password=HOSTILE_PASSWORD)
    result = run_module(login_args(pg_server, db, tenant=a, state="absent", readonly_role=True, drop_data=True,
                                   terminate_sessions=True))
    assert any(q.startswith("SELECT pg_terminate_backend") for q in result["queries"])
    assert f'DROP SCHEMA "{sa}" CASCADE' in result["queries"]
    with pytest.raises(psycopg.OperationalError):
        lingering.execute("SELECT 1")
    lingering.close()
    gone = catalog(pg_server, db, [a])
    assert gone["roles"] == [] and gone["schemas"] == []
    assert catalog(pg_server, db, [b]) == b_before
    with pg_server.connect(db, user=sb + "_app", password="b-secret") as conn_b:
        assert conn_b.execute("SELECT secret FROM b_private").fetchall() == [("b only",)]


# ----------------------------------------------------------------------------- RDS emulation


@pytest.fixture(scope="module")
def rds(pg_server, cleanup_roles):
    """A CREATEROLE, CREATEDB non-superuser owning its database, and an rds_iam role, as on RDS."""
    master = unique("rds_master_")
    db = unique("rdsdb_")
    cleanup_roles.append(master)
    with pg_server.connect() as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD 'master-pw'").format(
            sql.Identifier(master)))
        made_iam = not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'").fetchone()
        if made_iam:
            admin.execute("CREATE ROLE rds_iam NOLOGIN")
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(master)))
    yield {"db": db, "user": master, "password": "master-pw"}
    drop_database(pg_server, db)
    if made_iam:
        with pg_server.connect() as admin:
            admin.execute("DROP ROLE IF EXISTS rds_iam")


def rds_args(pg_server, rds, **kw):
    args = pg_server.login_params(rds["db"], user=rds["user"], password=rds["password"])
    args.update(kw)
    return args


def test_rds_master_without_superuser(pg_server, rds, cleanup_roles):
    tenant, iam_tenant = new_tenant(cleanup_roles), new_tenant(cleanup_roles)
    base = ts.tenant_identifier(tenant)
    args = rds_args(pg_server, rds, tenant=tenant, password="pw-1", readonly_role=True, connection_limit=3,
                    statement_timeout="15s", extensions=["citext"])
    created = run_module(args)
    assert created["changed"] is True
    assert f'GRANT "{base}_owner" TO CURRENT_USER' in created["queries"]
    assert created["queries"][-1].startswith("REVOKE ") and created["queries"][-1].endswith("FROM CURRENT_USER")
    # The temporary memberships are gone after the run.
    memberships = catalog(pg_server, rds["db"], [tenant])["members"]
    assert all(member != rds["user"] for _, member in memberships), memberships

    rerun = run_module(args)
    assert (rerun["changed"], rerun["queries"]) == (False, [])
    assert ts.run(mod(args)).xact_assigned is None
    assert run_module(dict(args, connection_limit=4))["queries"] == [f'ALTER ROLE "{base}_app" CONNECTION LIMIT 4']

    with pg_server.connect(rds["db"], user=base + "_app", password="pw-1") as conn:
        conn.execute("CREATE TABLE doc (t citext)")
        conn.execute("INSERT INTO doc VALUES ('Hello')")
        assert conn.execute("SELECT count(*) FROM doc WHERE t = 'HELLO'").fetchone() == (1,)

    # Password rotation without pg_authid: verified by logging in, applied only when it differs.
    rotate = dict(args, connection_limit=4, password="pw-2", update_password="always")
    assert run_module(rotate)["queries"] == [f"ALTER ROLE \"{base}_app\" PASSWORD '********'"]
    assert run_module(rotate)["changed"] is False
    pg_server.connect(rds["db"], user=base + "_app", password="pw-2").close()

    iam = rds_args(pg_server, rds, tenant=iam_tenant, rds_iam=True)
    assert f'GRANT rds_iam TO "{ts.tenant_identifier(iam_tenant)}_app"' in run_module(iam)["queries"]
    assert run_module(iam)["changed"] is False

    absent = rds_args(pg_server, rds, tenant=tenant, state="absent", readonly_role=True, drop_data=True)
    gone = run_module(absent)
    assert gone["changed"] is True
    left = catalog(pg_server, rds["db"], [tenant])
    assert left["roles"] == [] and left["schemas"] == [] and left["members"] == []
    assert run_module(absent)["changed"] is False
    iam_absent = run_module(rds_args(pg_server, rds, tenant=iam_tenant, state="absent"))
    assert iam_absent["changed"] is True


# ----------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize("kw, field", [
    ({"tenant": "acme'; DROP ROLE postgres; --"}, "tenant"),
    ({"tenant": "Acme"}, "tenant"),
    ({"tenant": ""}, "tenant"),
    ({"tenant": "\u00e4cme"}, "tenant"),
    ({"tenant": "a" * 64}, "tenant"),
    ({"tenant": "ok", "schema": 'x"; DROP SCHEMA public CASCADE; --'}, "schema"),
    ({"tenant": "ok", "app_role": "public"}, "app_role"),
    ({"tenant": "ok", "owner_role": "pg_read_all_data"}, "owner_role"),
    ({"tenant": "ok", "schema": "s" * 64}, "schema"),
    ({"tenant": "ok", "statement_timeout": "1s'; DROP ROLE postgres; --"}, "statement_timeout"),
    ({"tenant": "ok", "extensions": ["vector; DROP DATABASE x"]}, "extensions"),
    ({"tenant": "ok", "database": "db;x"}, "database"),
])
def test_hostile_input_refused_before_connecting(kw, field):
    # Port 1 is closed: if validation did not come first the error would be a connection failure.
    args = {"login_host": "127.0.0.1", "login_port": 1, "login_password": "not-used-secret", "ssl_mode": "disable"}
    args.update(kw)
    result = run_module(args, expect_failure=True)
    assert result["msg"].startswith(field + ":"), result["msg"]
    assert "connection" not in result["msg"].lower()


def test_reserved_words_are_quoted_safely(pg_server, pg_database, cleanup_roles):
    # Role names are cluster-wide: these keywords are only used by this test.
    args = login_args(pg_server, pg_database, tenant="kw", schema="select", owner_role="user",
                      app_role="select", password="pw")
    assert run_module(args)["changed"] is True
    assert run_module(args)["changed"] is False
    with pg_server.connect(pg_database, user="select", password="pw") as conn:
        conn.execute('CREATE TABLE "table" ("from" int)')
        assert conn.execute("SELECT schemaname FROM pg_tables WHERE tablename = 'table'").fetchone() == ("select",)
    assert run_module(dict(args, state="absent", drop_data=True))["changed"] is True


def test_extensions_where_allowed(pg_server, pg_database, cleanup_roles):
    tenant = new_tenant(cleanup_roles)
    args = login_args(pg_server, pg_database, tenant=tenant, extensions=["vector"])
    failed = run_module(args, expect_failure=True)
    assert failed["msg"].startswith("extensions: 'vector' is not available")
    assert catalog(pg_server, pg_database, [tenant])["roles"] == []  # the failure rolled everything back
    ok = run_module(dict(args, extensions_optional=True))
    assert ok["changed"] is True and any("vector" in w for w in ok.get("warnings", []))
    assert not any("vector" in q for q in ok["queries"])


# ----------------------------------------------------------------------------- concurrency


def test_two_concurrent_calls_for_the_same_tenant(pg_server, pg_database, cleanup_roles):
    tenant = new_tenant(cleanup_roles)
    args = login_args(pg_server, pg_database, tenant=tenant, password="pw", readonly_role=True)
    procs = [subprocess.Popen(module_cmd(args), cwd=REPO, env=ansible_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        results.append(parse(subprocess.CompletedProcess(proc.args, proc.returncode, out, err)))
    assert all(not r.get("failed") for r in results), results
    # Serialized: one did the work, the other found it done (or both converged without conflict).
    assert sorted(r["changed"] for r in results) in ([False, True], [True, True])
    snap = catalog(pg_server, pg_database, [tenant])
    assert len(snap["roles"]) == 3 and len(snap["schemas"]) == 1
    final = run_module(args)
    assert (final["changed"], final["queries"]) == (False, [])


def test_second_call_waits_for_the_tenant_lock(pg_server, pg_database, cleanup_roles):
    """Deterministic interleaving: hold the tenant's advisory lock, then let the run proceed."""
    tenant = new_tenant(cleanup_roles)
    schema = ts.tenant_identifier(tenant)
    params = mod(login_args(pg_server, pg_database, tenant=tenant))
    holder = pg_server.connect(pg_database, autocommit=False)
    holder.execute("SELECT pg_advisory_xact_lock(%s)", (ts.lock_key("tenant", schema),))
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("result", ts.run(params)))
    worker.start()
    try:
        with pg_server.connect(pg_database) as watch:
            for _ in range(600):
                waiting = watch.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                    " WHERE l.locktype = 'advisory' AND NOT l.granted"
                    " AND a.application_name = 'llm_saas.tenant_schema'").fetchone()[0]
                if waiting:
                    break
                time.sleep(0.05)
            assert waiting == 1
        # While it waits, another session creates the schema's owner: the run must see it after the lock.
        holder.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(schema + "_owner")))
    finally:
        holder.commit()
        holder.close()
    worker.join(timeout=120)
    result = outcome["result"]
    assert result.changed is True
    assert not any(q.startswith(f'CREATE ROLE "{schema}_owner"') for q in result.queries)
    assert ts.run(params).queries == []
