#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llm_saas platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: tenant_schema
short_description: Manage one tenant's PostgreSQL schema and roles (RDS-safe)
version_added: 0.1.0
description:
  - Creates or removes everything a tenant's Open WebUI needs in the shared PostgreSQL database,
    in one transaction, serialized per tenant with C(pg_advisory_xact_lock).
  - "With O(state=present): a C(NOLOGIN) owner role, a C(LOGIN) application role, optionally a
    C(NOLOGIN) read-only role; the schema C(AUTHORIZATION) the owner; C(USAGE, CREATE) on the
    schema for the application role and C(USAGE) for the read-only role; default privileges so
    tables, sequences and functions created later by the owner stay usable by the application
    role, and tables created by either stay readable by the read-only role; C(ALTER ROLE ... IN
    DATABASE ... SET search_path) (and optionally C(statement_timeout)); a connection limit;
    C(REVOKE) of C(CONNECT) on the database and of everything on the tenant schema from
    C(PUBLIC), with C(CONNECT) granted to the tenant roles; optional extensions."
  - "Tenant to identifier rule: the tenant (a DNS-1123 label such as C(acme-corp)) has C(-)
    replaced by C(_) and gets the prefix C(tenant_): schema C(tenant_acme_corp), roles
    C(tenant_acme_corp_owner), C(tenant_acme_corp_app) and C(tenant_acme_corp_ro). Every
    resulting or overridden name must match C(^[a-z_][a-z0-9_]{0,62}$), must not start with
    C(pg_) and must not be a reserved name; input is validated before connecting."
  - The current state is read from catalogs a non-superuser may read (C(pg_roles), never
    C(pg_authid)), only the statements needed are executed, so a run without drift issues no
    writes and reports RV(queries=[]).
  - On Amazon RDS the master user is not a superuser. When a statement needs membership in a
    tenant role (schema ownership, default privileges, C(REASSIGN OWNED)/C(DROP OWNED)), the role
    is granted to the connecting user right before it and revoked at the end of the same
    transaction.
  - Every name and value is passed as C(psycopg.sql.Identifier)/C(Literal); passwords are sent
    as client-side SCRAM-SHA-256 verifiers, so the cleartext never reaches the server, its logs
    or RV(queries).
author:
  - llm_saas platform engineering (@llm-saas)
extends_documentation_fragment:
  - llm_saas.platform.postgres
attributes:
  check_mode:
    support: full
    description: The same statements run inside the transaction, which is then rolled back.
      C(pg_terminate_backend) is never executed in check mode.
  diff_mode:
    support: full
    description: Before/after of roles, schema owner and grants, default privileges, database
      CONNECT grants, role settings and extensions, read from the catalogs.
options:
  tenant:
    description:
      - Tenant name as in the inventory, a DNS-1123 label such as V(acme-corp).
      - The derived names must fit in 63 characters, so tenants longer than 50 characters need
        O(schema), O(owner_role), O(app_role) set explicitly.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the tenant; V(absent) removes its schema and roles.
    type: str
    choices: [present, absent]
    default: present
  database:
    description:
      - The shared database in which tenant schemas live; the module connects to it.
      - It must exist. Open WebUI is pointed at it with C(DATABASE_URL) and at the schema with
        C(DATABASE_SCHEMA).
      - Revoking C(CONNECT) from C(PUBLIC) affects everyone relying on C(PUBLIC) to connect to
        this database; the tenant roles get C(CONNECT) explicitly.
    type: str
    default: openwebui
  schema:
    description:
      - Schema name override; default derived from O(tenant).
    type: str
  owner_role:
    description:
      - Owner role name override (C(NOLOGIN)); default derived from O(tenant).
    type: str
  app_role:
    description:
      - Application (login) role name override; default derived from O(tenant).
    type: str
  readonly_role:
    description:
      - V(true) manages a C(NOLOGIN) read-only role with the derived name, a string manages one
        with that name, V(false) leaves read-only roles alone.
      - Grant it to analytics users; it gets C(CONNECT), C(USAGE) on the schema, C(SELECT) on all
        existing tables and default C(SELECT) on future tables and sequences.
    type: raw
    default: false
  password:
    description:
      - Password of the application role. Sent as a SCRAM-SHA-256 verifier computed locally.
      - Mutually exclusive with O(rds_iam=true).
    type: str
  update_password:
    description:
      - V(on_create) sets O(password) only when the role is created.
      - V(always) also updates an existing role. Because C(pg_authid) is not readable on RDS,
        the module checks the current password by logging in as the application role and only
        sets it when that login is rejected (a failed attempt appears in the server log).
    type: str
    choices: [always, on_create]
    default: on_create
  rds_iam:
    description:
      - Grant C(rds_iam) to the application role so it authenticates with IAM tokens (RDS only;
        fails if the C(rds_iam) role does not exist). V(false) revokes that membership.
    type: bool
    default: false
  connection_limit:
    description:
      - C(CONNECTION LIMIT) of the application role; V(-1) is unlimited. Unset leaves it alone
        (new roles get V(-1)).
    type: int
  statement_timeout:
    description:
      - C(statement_timeout) for the application role in O(database), e.g. V(30s) or V(30000)
        (milliseconds). Unset leaves it alone.
    type: str
  extensions:
    description:
      - Extensions to create in O(extensions_schema) if missing, e.g. V(vector) for Open WebUI
        retrieval. Extensions are database-wide, so they are never moved, updated or dropped.
      - An extension that is not installed on the server fails the task, naming it, unless
        O(extensions_optional=true).
    type: list
    elements: str
    default: []
  extensions_schema:
    description:
      - Schema in which new extensions are created. It is appended to the application role's
        C(search_path) after the tenant schema, so extension types resolve unqualified.
    type: str
    default: public
  extensions_optional:
    description:
      - Turn an unavailable extension, or one the connecting user may not create, into a warning
        instead of a failure.
    type: bool
    default: false
  drop_data:
    description:
      - With O(state=absent), allow dropping a schema that still holds objects (C(DROP SCHEMA ...
        CASCADE)). Without it the module refuses and names the number of objects.
    type: bool
    default: false
  terminate_sessions:
    description:
      - With O(state=absent), terminate the tenant roles' sessions first. Not transactional,
        hence skipped (only listed) in check mode.
    type: bool
    default: false
notes:
  - One transaction per call. The lock is keyed on the tenant's schema; statements that change
    database-wide state (database grants, extensions, C(DROP OWNED)) also take a per-database lock,
    so concurrent calls for different tenants do not collide either. Advisory locks are per
    database, so manage a tenant in one database only.
  - With O(state=absent) objects the tenant roles own outside the tenant schema are reassigned to
    O(login_user) (C(REASSIGN OWNED)) instead of being dropped; other tenants are never touched.
seealso:
  - module: llm_saas.platform.tenant_schema_info
  - name: Open WebUI environment configuration (DATABASE_URL, DATABASE_SCHEMA)
    description: Settings Open WebUI reads to find its database and schema.
    link: https://docs.openwebui.com/getting-started/env-configuration
'''

EXAMPLES = r'''
- name: Tenant acme-corp on the RDS instance, verified TLS, pgvector for retrieval
  llm_saas.platform.tenant_schema:
    tenant: acme-corp
    database: openwebui
    password: "{{ vault_acme_db_password }}"
    connection_limit: 20
    statement_timeout: 60s
    extensions: [vector]
    readonly_role: true
    login_host: platform.abcdefgh1234.eu-west-1.rds.amazonaws.com
    login_user: platform_admin
    login_password: "{{ vault_rds_master_password }}"
    ssl_mode: verify-full
    ca_cert: /etc/ssl/certs/rds-global-bundle.pem

- name: Tenant that authenticates with IAM, admin connection with an IAM token as well
  llm_saas.platform.tenant_schema:
    tenant: globex
    rds_iam: true
    login_host: platform.abcdefgh1234.eu-west-1.rds.amazonaws.com
    login_user: platform_admin
    login_iam_auth: true
    aws_region: eu-west-1
    ssl_mode: verify-full
    ca_cert: /etc/ssl/certs/rds-global-bundle.pem

- name: Rotate the application password (only changes when the old one no longer works)
  llm_saas.platform.tenant_schema:
    tenant: acme-corp
    password: "{{ vault_acme_db_password_new }}"
    update_password: always
    login_host: "{{ rds_endpoint }}"
    login_password: "{{ vault_rds_master_password }}"

- name: Offboard a tenant, data included
  llm_saas.platform.tenant_schema:
    tenant: acme-corp
    state: absent
    drop_data: true
    terminate_sessions: true
    login_host: "{{ rds_endpoint }}"
    login_password: "{{ vault_rds_master_password }}"
'''

RETURN = r'''
tenant:
  description: The tenant name as given.
  returned: always
  type: str
  sample: acme-corp
schema:
  description: The tenant's schema (use as Open WebUI C(DATABASE_SCHEMA)).
  returned: always
  type: str
  sample: tenant_acme_corp
roles:
  description: Role names; C(readonly) is null when no read-only role is managed.
  returned: always
  type: dict
  sample: {owner: tenant_acme_corp_owner, app: tenant_acme_corp_app, readonly: tenant_acme_corp_ro}
queries:
  description:
    - Statements executed (or, in check mode, executed and rolled back), in order; passwords
      are shown as C('********'). Empty when nothing had to change.
  returned: always
  type: list
  elements: str
  sample:
    - CREATE ROLE "tenant_acme_corp_owner" NOLOGIN
    - CREATE ROLE "tenant_acme_corp_app" LOGIN PASSWORD '********'
    - CREATE SCHEMA "tenant_acme_corp" AUTHORIZATION "tenant_acme_corp_owner"
diff:
  description: Catalog state before and after, when run with C(--diff).
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: State before the change.
      type: dict
      returned: success
    after:
      description: State after the change (in check mode, what it would be).
      type: dict
      returned: success
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llm_saas.platform.plugins.module_utils.postgres.tenant_schema import (
    argument_spec,
    run_module,
)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module)


if __name__ == '__main__':
    main()
