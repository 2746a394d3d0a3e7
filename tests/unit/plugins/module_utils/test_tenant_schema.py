"""Unit tests for the tenant_schema naming rules and SQL planner (no database needed)."""

from __future__ import annotations

import copy
import os
import sys

import pytest

_COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".collections"))
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.llm_saas.platform.plugins.module_utils.postgres import tenant_schema as ts  # noqa: E402

OWNER, APP, RO, SCHEMA = "tenant_acme_corp_owner", "tenant_acme_corp_app", "tenant_acme_corp_ro", "tenant_acme_corp"


def desired(**kw):
    params = {"tenant": "acme-corp", "state": "present", "database": "openwebui"}
    params.update(kw)
    return ts.Desired(params)


def fixed_verifier(password):
    return "SCRAM-SHA-256$4096:c2FsdA==$stored:server"


def empty_state(super_user=True):
    return {
        "current_user": "admin", "current_user_super": super_user, "database": "openwebui", "roles": {},
        "rds_iam_exists": False, "app_in_rds_iam": False,
        "database_acl": {"PUBLIC": {"CONNECT", "TEMPORARY"}, "admin": {"CREATE", "CONNECT", "TEMPORARY"}},
        "schema": None, "default_acls": {}, "role_settings": {}, "extensions": {"plpgsql": "pg_catalog"},
        "available_extensions": set(), "search_path": "tenant_acme_corp, public", "sessions": 0,
        "app_password_matches": None,
    }


def role(login=False, connlimit=-1, member=False):
    return {"login": login, "super": False, "createdb": False, "createrole": False, "replication": False,
            "bypassrls": False, "connlimit": connlimit, "current_user_member": member}


def converged_state(d, super_user=True):
    """The catalog as it looks after a successful run for ``d``."""
    st = empty_state(super_user)
    st["roles"] = {d.owner_role: role(), d.app_role: role(login=True, connlimit=d.connection_limit or -1)}
    managed = [d.app_role]
    if d.readonly_role:
        st["roles"][d.readonly_role] = role()
        managed.append(d.readonly_role)
    acl = {d.owner_role: {"USAGE", "CREATE"}, d.app_role: {"USAGE", "CREATE"}}
    if d.readonly_role:
        acl[d.readonly_role] = {"USAGE"}
    st["schema"] = {"oid": 1, "owner": d.owner_role, "acl": acl, "object_count": 0, "ro_missing_select": 0}
    st["default_acls"] = {k: {g: set(p) for g, p in v.items()} for k, v in ts.desired_default_acls(d).items()}
    st["database_acl"] = {"PUBLIC": {"TEMPORARY"}, "admin": {"CREATE", "CONNECT", "TEMPORARY"}}
    for r in managed:
        st["database_acl"][r] = {"CONNECT"}
    st["role_settings"] = {d.app_role: {"search_path": st["search_path"]}}
    if d.statement_timeout:
        st["role_settings"][d.app_role]["statement_timeout"] = d.statement_timeout
    for ext in d.extensions:
        st["extensions"][ext] = "public"
    return st


def render(plan):
    return [s.render() for s in plan]


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize("tenant, base", [
    ("acme-corp", "tenant_acme_corp"), ("a", "tenant_a"), ("9lives", "tenant_9lives"), ("x-1-y", "tenant_x_1_y"),
])
def test_tenant_to_identifier_rule(tenant, base):
    assert ts.tenant_identifier(tenant) == base
    d = desired(tenant=tenant, readonly_role=True)
    assert (d.schema, d.owner_role, d.app_role, d.readonly_role) == (base, base + "_owner", base + "_app", base + "_ro")


@pytest.mark.parametrize("tenant", [
    "", "Acme", "acme_corp", "-acme", "acme-", "acme corp", "acme;drop", "acme'x", 'acme"x', "acmé", "a" * 64,
    "acme\x00", "acme\n", None,
])
def test_hostile_or_invalid_tenant_is_refused_naming_the_field(tenant):
    with pytest.raises(ts.TenantSchemaError, match=r"^tenant: "):
        desired(tenant=tenant)


@pytest.mark.parametrize("field, value", [
    ("schema", 'x"; DROP SCHEMA public; --'), ("schema", "public"), ("schema", "pg_temp"),
    ("schema", "information_schema"), ("schema", "Tenant"), ("schema", "a" * 64), ("schema", "ünïcode"),
    ("owner_role", "public"), ("owner_role", "postgres"), ("owner_role", "rds_superuser"), ("owner_role", "pg_monitor"),
    ("app_role", "current_user"), ("app_role", "x y"), ("app_role", "1abc"), ("readonly_role", "r'o"),
    ("database", "open-webui"), ("database", 'db"; --'),
])
def test_hostile_or_reserved_names_are_refused_naming_the_field(field, value):
    with pytest.raises(ts.TenantSchemaError, match=r"^%s: " % field):
        desired(**{field: value})


def test_long_tenant_names_need_explicit_names():
    tenant = "a" * 57  # tenant_ + 57 = 64 characters: too long even for the schema
    with pytest.raises(ts.TenantSchemaError, match="set schema explicitly"):
        desired(tenant=tenant)
    with pytest.raises(ts.TenantSchemaError, match="set owner_role explicitly"):
        desired(tenant="a" * 52)
    d = desired(tenant="a" * 57, schema="t_long", owner_role="t_long_owner", app_role="t_long_app")
    assert d.schema == "t_long"


def test_sql_keywords_are_accepted_and_always_quoted():
    d = desired(schema="select", owner_role="user", app_role="table")
    sqls = render(ts.plan_present(empty_state(), d, verifier_factory=fixed_verifier))
    assert 'CREATE ROLE "user" NOLOGIN' in sqls
    assert 'CREATE SCHEMA "select" AUTHORIZATION "user"' in sqls


@pytest.mark.parametrize("value, stored", [(30000, "30000"), ("30s", "30s"), ("5 min", "5min"), ("0", "0")])
def test_statement_timeout_normalized(value, stored):
    assert desired(statement_timeout=value).statement_timeout == stored


@pytest.mark.parametrize("value", ["30s; DROP ROLE x", "-1", "1.5s", "30 seconds", "'30s'", ""])
def test_statement_timeout_rejects_garbage(value):
    with pytest.raises(ts.TenantSchemaError, match=r"^statement_timeout: "):
        desired(statement_timeout=value)


@pytest.mark.parametrize("kw, field", [
    ({"password": ""}, "password"), ({"password": "a\x00b"}, "password"),
    ({"rds_iam": True, "password": "x"}, "password"), ({"connection_limit": -2}, "connection_limit"),
    ({"extensions": ["vector; DROP"]}, "extensions"), ({"extensions": ['"x"']}, "extensions"),
    ({"login_db": "postgres"}, "login_db"), ({"readonly_role": APP, "tenant": "acme-corp"}, "readonly_role"),
])
def test_bad_values_fail_naming_the_field(kw, field):
    with pytest.raises(ts.TenantSchemaError, match=field):
        desired(**kw)


# ----------------------------------------------------------------------------- plan: present


def test_create_plan_on_empty_cluster():
    d = desired(password="s3cret", connection_limit=10, statement_timeout="30s")
    plan = ts.plan_present(empty_state(), d, verifier_factory=fixed_verifier)
    assert render(plan) == [
        f'CREATE ROLE "{OWNER}" NOLOGIN',
        f"CREATE ROLE \"{APP}\" LOGIN CONNECTION LIMIT 10 PASSWORD '********'",
        f'CREATE SCHEMA "{SCHEMA}" AUTHORIZATION "{OWNER}"',
        f'GRANT USAGE, CREATE ON SCHEMA "{SCHEMA}" TO "{APP}"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{OWNER}" IN SCHEMA "{SCHEMA}" GRANT SELECT, UPDATE, USAGE ON SEQUENCES '
        f'TO "{APP}"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{OWNER}" IN SCHEMA "{SCHEMA}" GRANT EXECUTE ON FUNCTIONS TO "{APP}"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{OWNER}" IN SCHEMA "{SCHEMA}" GRANT SELECT, INSERT, UPDATE, DELETE, '
        f'TRUNCATE, REFERENCES, TRIGGER ON TABLES TO "{APP}"',
        'REVOKE CONNECT ON DATABASE "openwebui" FROM PUBLIC',
        f'GRANT CONNECT ON DATABASE "openwebui" TO "{APP}"',
        f'ALTER ROLE "{APP}" IN DATABASE "openwebui" SET search_path TO "{SCHEMA}", "public"',
        f"ALTER ROLE \"{APP}\" IN DATABASE \"openwebui\" SET statement_timeout TO '30s'",
    ]
    # The executed statement carries the verifier, never the cleartext; the display redacts it.
    create_app = plan[1]
    assert "SCRAM-SHA-256$4096:c2FsdA==$stored:server" in create_app.query.as_string(None)
    assert "s3cret" not in create_app.query.as_string(None) and "s3cret" not in create_app.render()
    assert {s.scope for s in plan if "DATABASE" in s.render() and "ROLE" not in s.render()} == {"database"}


@pytest.mark.parametrize("kw", [
    {}, {"readonly_role": True}, {"password": "pw", "connection_limit": 5, "statement_timeout": "1min"},
    {"extensions": ["pg_trgm"], "readonly_role": "analytics_ro"},
])
def test_converged_state_plans_nothing(kw):
    d = desired(**kw)
    assert ts.plan_present(converged_state(d), d, verifier_factory=fixed_verifier) == []


def test_changing_one_option_plans_only_that_statement():
    d = desired(connection_limit=5)
    st = converged_state(d)
    assert render(ts.plan_present(st, desired(connection_limit=7))) == [
        f'ALTER ROLE "{APP}" CONNECTION LIMIT 7']
    assert render(ts.plan_present(st, desired(connection_limit=5, statement_timeout="10s"))) == [
        f"ALTER ROLE \"{APP}\" IN DATABASE \"openwebui\" SET statement_timeout TO '10s'"]


def test_password_on_create_is_not_reapplied_but_always_is_when_it_does_not_match():
    d = desired(password="pw")
    st = converged_state(d)
    assert ts.plan_present(st, d) == []
    always = desired(password="pw", update_password="always")
    st["app_password_matches"] = True
    assert ts.plan_present(st, always) == []
    for probe in (False, None):
        st["app_password_matches"] = probe
        assert render(ts.plan_present(st, always)) == [f"ALTER ROLE \"{APP}\" PASSWORD '********'"]


def test_drift_is_repaired_public_and_foreign_grants():
    d = desired(readonly_role=True)
    st = converged_state(d)
    st["schema"]["acl"]["PUBLIC"] = {"USAGE"}
    st["schema"]["acl"][RO] = {"USAGE", "CREATE"}
    st["schema"]["acl"]["tenant_other_app"] = {"USAGE"}  # another tenant's grant: not ours to touch
    st["roles"][OWNER]["login"] = True
    st["roles"][APP]["createrole"] = True
    st["database_acl"]["PUBLIC"].add("CONNECT")
    assert render(ts.plan_present(st, d)) == [
        f'ALTER ROLE "{OWNER}" LOGIN'.replace("LOGIN", "NOLOGIN"),
        f'ALTER ROLE "{APP}" NOCREATEROLE',
        f'REVOKE ALL ON SCHEMA "{SCHEMA}" FROM PUBLIC',
        f'REVOKE CREATE ON SCHEMA "{SCHEMA}" FROM "{RO}"',
        'REVOKE CONNECT ON DATABASE "openwebui" FROM PUBLIC',
    ]


def test_schema_with_wrong_owner_is_reassigned():
    d = desired()
    st = converged_state(d)
    st["schema"]["owner"] = "admin"
    assert render(ts.plan_present(st, d)) == [f'ALTER SCHEMA "{SCHEMA}" OWNER TO "{OWNER}"']


def test_existing_superuser_role_is_refused():
    d = desired()
    st = converged_state(d)
    st["roles"][APP]["super"] = True
    with pytest.raises(ts.TenantSchemaError, match="superuser"):
        ts.plan_present(st, d)


def test_tenant_role_equal_to_login_user_is_refused():
    d = desired(app_role="admin")
    with pytest.raises(ts.TenantSchemaError, match="login_user"):
        ts.plan_present(empty_state(), d)


def test_rds_iam_membership():
    d = desired(rds_iam=True)
    st = converged_state(d)
    with pytest.raises(ts.TenantSchemaError, match=r"^rds_iam: "):
        ts.plan_present(st, d)
    st["rds_iam_exists"] = True
    assert render(ts.plan_present(st, d)) == [f'GRANT rds_iam TO "{APP}"']
    st["app_in_rds_iam"] = True
    assert ts.plan_present(st, d) == []
    assert render(ts.plan_present(st, desired())) == [f'REVOKE rds_iam FROM "{APP}"']


def test_readonly_role_gets_existing_tables_once():
    d = desired(readonly_role=True)
    st = converged_state(d)
    st["schema"]["ro_missing_select"] = 3
    plan = ts.plan_present(st, d)
    assert render(plan) == [f'GRANT SELECT ON ALL TABLES IN SCHEMA "{SCHEMA}" TO "{RO}"']
    assert plan[0].needs == {OWNER, APP}


def test_extensions_unavailable_fail_or_warn():
    d = desired(extensions=["vector"])
    st = converged_state(desired())
    with pytest.raises(ts.TenantSchemaError, match=r"^extensions: 'vector' is not available"):
        ts.plan_present(st, d)
    optional = desired(extensions=["vector"], extensions_optional=True)
    assert ts.plan_present(st, optional) == []
    assert "vector" in st["warnings"][0]
    st["available_extensions"] = {"vector"}
    plan = ts.plan_present(st, optional)
    assert render(plan) == ['CREATE EXTENSION IF NOT EXISTS "vector" SCHEMA "public"']
    assert plan[0].optional and plan[0].scope == "database"


# ----------------------------------------------------------------------------- membership (RDS)


def test_non_superuser_gets_temporary_membership_right_when_needed():
    d = desired()
    st = empty_state(super_user=False)
    plan = ts.add_membership_grants(ts.plan_present(st, d), st)
    sqls = render(plan)
    grant = sqls.index(f'GRANT "{OWNER}" TO CURRENT_USER')
    assert sqls.index(f'CREATE ROLE "{OWNER}" NOLOGIN') < grant < sqls.index(
        f'CREATE SCHEMA "{SCHEMA}" AUTHORIZATION "{OWNER}"')
    assert sqls[-1] == f'REVOKE "{OWNER}" FROM CURRENT_USER'
    assert sqls.count(f'GRANT "{OWNER}" TO CURRENT_USER') == 1


def test_superuser_or_existing_member_gets_no_temporary_grants():
    d = desired()
    st = empty_state(super_user=True)
    plan = ts.plan_present(st, d)
    assert render(ts.add_membership_grants(plan, st)) == render(plan)
    st = converged_state(d, super_user=False)
    st["roles"][OWNER]["current_user_member"] = True
    st["schema"]["owner"] = "admin"
    plan = ts.plan_present(st, d)
    assert render(ts.add_membership_grants(plan, st)) == [f'ALTER SCHEMA "{SCHEMA}" OWNER TO "{OWNER}"']


def test_membership_only_for_statements_that_need_it():
    d = desired(connection_limit=3)
    st = converged_state(desired(), super_user=False)
    assert render(ts.add_membership_grants(ts.plan_present(st, d), st)) == [f'ALTER ROLE "{APP}" CONNECTION LIMIT 3']


# ----------------------------------------------------------------------------- plan: absent


def test_absent_refuses_while_schema_holds_objects():
    d = desired(state="absent")
    st = converged_state(d)
    st["schema"]["object_count"] = 4
    with pytest.raises(ts.TenantSchemaError, match=r"^drop_data: .* 4 objects"):
        ts.plan_absent(st, d)


def test_absent_plan_with_data_and_sessions():
    d = desired(state="absent", drop_data=True, terminate_sessions=True, readonly_role=True)
    st = converged_state(d, super_user=False)
    st["schema"]["object_count"] = 4
    st["sessions"] = 2
    plan = ts.add_membership_grants(ts.plan_absent(st, d), st, dropped=d.roles)
    sqls = render(plan)
    roles = f'"{RO}", "{APP}", "{OWNER}"'
    assert sqls == [
        f'GRANT "{APP}" TO CURRENT_USER', f'GRANT "{OWNER}" TO CURRENT_USER', f'GRANT "{RO}" TO CURRENT_USER',
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename IN ('{RO}', '{APP}', '{OWNER}') "  # noqa: S608
        "AND pid <> pg_backend_pid()",
        f'DROP SCHEMA "{SCHEMA}" CASCADE',
        f"REASSIGN OWNED BY {roles} TO CURRENT_USER",
        f"DROP OWNED BY {roles}",
        f"DROP ROLE {roles}",
    ]
    assert plan[3].kind == "terminate"


def test_absent_on_nothing_plans_nothing_and_never_names_other_roles():
    d = desired(state="absent")
    st = empty_state()
    st["roles"] = {"tenant_other_app": role(login=True)}
    assert ts.plan_absent(st, d) == []


def test_absent_without_sessions_or_flag_does_not_terminate():
    d = desired(state="absent", terminate_sessions=False)
    st = converged_state(d)
    st["sessions"] = 5
    assert not any("terminate" in s for s in render(ts.plan_absent(st, d)))


# ----------------------------------------------------------------------------- misc


def test_snapshot_is_json_friendly_and_stable():
    d = desired(readonly_role=True, statement_timeout="5s")
    st = converged_state(d)
    snap = ts.snapshot(st, d)
    assert snap == ts.snapshot(copy.deepcopy(st), d)
    assert snap["schema"]["grants"][APP] == ["USAGE", "CREATE"]
    assert snap["database"]["connect"] == sorted([APP, RO])
    assert snap["default_privileges"][f"FOR ROLE {OWNER} ON TABLES"][RO] == ["SELECT"]


def test_lock_keys_are_stable_signed_64_bit_and_distinct():
    a, b = ts.lock_key("tenant", "tenant_a"), ts.lock_key("tenant", "tenant_b")
    assert a == ts.lock_key("tenant", "tenant_a") and a != b
    assert all(-2 ** 63 <= k < 2 ** 63 for k in (a, b))
