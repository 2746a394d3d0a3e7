# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llm_saas platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only inventory of tenant schemas: owner, roles, sizes, grants, default privileges."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.llm_saas.platform.plugins.module_utils.postgres import connection as pgconn
from ansible_collections.llm_saas.platform.plugins.module_utils.postgres.tenant_schema import (
    IDENT_PREFIX,
    IDENT_RE,
    OBJTYPE_KEYWORD,
    PRIV_ORDER,
    TenantSchemaError,
    tenant_identifier,
)

if pgconn.HAS_PSYCOPG:
    import psycopg


def argument_spec():
    spec = pgconn.postgres_common_argument_spec()
    spec.update(
        database=dict(type='str', default='openwebui'),
        tenants=dict(type='list', elements='str', default=[]),
        schema_prefix=dict(type='str', default=IDENT_PREFIX),
    )
    return spec


def _privs(privs):
    return sorted(set(privs), key=PRIV_ORDER.index)


def gather(params):
    """Return the list of tenant dicts; only catalogs a non-superuser can read."""
    database = params.get('database') or 'openwebui'
    if not IDENT_RE.fullmatch(database):
        raise TenantSchemaError("database: %r is not a valid database name (^[a-z_][a-z0-9_]{0,62}$)"
                                % (database,))
    if params.get('login_db') and params['login_db'] != database:
        raise TenantSchemaError("login_db: must be unset or equal to database (%r)" % database)
    prefix = params.get('schema_prefix') or ''
    if prefix and not IDENT_RE.fullmatch(prefix):
        raise TenantSchemaError("schema_prefix: %r is not an identifier prefix (^[a-z_][a-z0-9_]*$)" % (prefix,))
    wanted = [tenant_identifier(t) for t in params.get('tenants') or []]
    conn = pgconn.connect(params, database, application_name='llm_saas.tenant_schema_info', autocommit=True)
    try:
        with conn.cursor() as cur:
            return _gather(cur, prefix, wanted)
    finally:
        conn.close()


def _gather(cur, prefix, wanted):
    if wanted:
        cur.execute("SELECT oid, nspname, pg_get_userbyid(nspowner) FROM pg_namespace"
                    " WHERE nspname = ANY(%s) ORDER BY nspname", (wanted,))
    else:
        cur.execute("SELECT oid, nspname, pg_get_userbyid(nspowner) FROM pg_namespace"
                    " WHERE left(nspname, length(%s)) = %s ORDER BY nspname", (prefix, prefix))
    schemas = cur.fetchall()
    tenants = []
    for oid, name, owner in schemas:
        cur.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)) FILTER (WHERE c.relkind IN ('r', 'm')), 0),"
            " count(*) FILTER (WHERE c.relkind IN ('r', 'p')), count(*)"
            " FROM pg_class c WHERE c.relnamespace = %s", (oid,))
        size, tables, relations = cur.fetchone()
        cur.execute(
            "SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END, x.privilege_type"
            " FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) x"
            " WHERE n.oid = %s", (oid,))
        grants = {}
        for grantee, priv in cur.fetchall():
            grants.setdefault(grantee, []).append(priv)
        cur.execute(
            "SELECT pg_get_userbyid(d.defaclrole), d.defaclobjtype,"
            " CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END, x.privilege_type"
            " FROM pg_default_acl d, aclexplode(d.defaclacl) x WHERE d.defaclnamespace = %s", (oid,))
        defaults = {}
        for creator, objtype, grantee, priv in cur.fetchall():
            key = 'FOR ROLE %s ON %s' % (creator, OBJTYPE_KEYWORD.get(objtype, objtype))
            defaults.setdefault(key, {}).setdefault(grantee, []).append(priv)
        role_names = [owner, name + '_app', name + '_ro'] + [g for g in grants if g != 'PUBLIC']
        cur.execute(
            "SELECT r.rolname, r.rolcanlogin, r.rolconnlimit, s.setconfig,"
            " (SELECT count(*) FROM pg_stat_activity a WHERE a.usename = r.rolname)"
            " FROM pg_roles r LEFT JOIN pg_db_role_setting s ON s.setrole = r.oid"
            "  AND s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " WHERE r.rolname = ANY(%s) ORDER BY r.rolname", (role_names,))
        roles = {}
        for rolname, login, connlimit, config, sessions in cur.fetchall():
            roles[rolname] = dict(login=login, connection_limit=connlimit, sessions=int(sessions),
                                  settings=dict(item.split('=', 1) for item in (config or [])))
        tenants.append(dict(
            schema=name,
            tenant=name[len(IDENT_PREFIX):].replace('_', '-') if name.startswith(IDENT_PREFIX) else None,
            owner=owner,
            size_bytes=int(size),
            tables=int(tables),
            relations=int(relations),
            roles=roles,
            grants={g: _privs(p) for g, p in sorted(grants.items())},
            default_privileges={k: {g: _privs(p) for g, p in sorted(v.items())}
                                for k, v in sorted(defaults.items())},
        ))
    return tenants


def run_module(module):
    if not pgconn.HAS_PSYCOPG:
        module.fail_json(msg=missing_required_lib('psycopg'), exception=pgconn.PSYCOPG_IMPORT_ERROR)
    try:
        pgconn.connection_kwargs(module.params, module.params['database'])
        tenants = gather(module.params)
    except (TenantSchemaError, pgconn.ConnectionParamError) as exc:
        module.fail_json(msg=str(exc))
    except psycopg.Error as exc:
        module.fail_json(msg='PostgreSQL error: %s' % str(exc).strip())
    module.exit_json(changed=False, tenants=tenants)
