#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llm_saas platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: tenant_schema_info
short_description: List tenants' PostgreSQL schemas, roles, sizes and grants
version_added: 0.1.0
description:
  - Reads the catalogs of the shared database for the schemas created by
    M(llm_saas.platform.tenant_schema) and reports owner, roles (login, connection limit,
    per-database settings, open sessions), size, schema grants and default privileges.
  - Works as a non-superuser (for example the RDS master user); never reads C(pg_authid).
author:
  - llm_saas platform engineering (@llm-saas)
extends_documentation_fragment:
  - llm_saas.platform.postgres
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  database:
    description:
      - The shared database in which tenant schemas live.
    type: str
    default: openwebui
  tenants:
    description:
      - Only report these tenants (names as in the inventory, e.g. V(acme-corp)). Empty lists every
        schema whose name starts with O(schema_prefix).
    type: list
    elements: str
    default: []
  schema_prefix:
    description:
      - Prefix of tenant schema names when O(tenants) is empty.
    type: str
    default: tenant_
seealso:
  - module: llm_saas.platform.tenant_schema
'''

EXAMPLES = r'''
- name: Inventory of all tenants
  llm_saas.platform.tenant_schema_info:
    login_host: "{{ rds_endpoint }}"
    login_user: platform_admin
    login_password: "{{ vault_rds_master_password }}"
    ssl_mode: verify-full
    ca_cert: /etc/ssl/certs/rds-global-bundle.pem
  register: pg_tenants

- name: Size of one tenant's data
  llm_saas.platform.tenant_schema_info:
    tenants: [acme-corp]
    login_host: "{{ rds_endpoint }}"
    login_password: "{{ vault_rds_master_password }}"
  register: acme

- name: Show it
  ansible.builtin.debug:
    msg: "{{ acme.tenants[0].size_bytes | human_readable }}"
'''

RETURN = r'''
tenants:
  description: One entry per tenant schema, sorted by schema name.
  returned: always
  type: list
  elements: dict
  contains:
    schema:
      description: Schema name.
      type: str
      returned: always
      sample: tenant_acme_corp
    tenant:
      description: Tenant name derived back from the schema (C(_) read as C(-)); null for schemas
        without the C(tenant_) prefix.
      type: str
      returned: always
      sample: acme-corp
    owner:
      description: Schema owner role.
      type: str
      returned: always
    size_bytes:
      description: Total size of the schema's tables and materialized views, indexes and TOAST included.
      type: int
      returned: always
    tables:
      description: Number of tables.
      type: int
      returned: always
    relations:
      description: Number of relations of any kind (tables, indexes, sequences, views, ...).
      type: int
      returned: always
    roles:
      description: Owner, C(<schema>_app), C(<schema>_ro) and every role with a grant on the schema,
        with C(login), C(connection_limit), C(sessions) and per-database C(settings).
      type: dict
      returned: always
    grants:
      description: Privileges on the schema per grantee (C(PUBLIC) for everyone).
      type: dict
      returned: always
      sample: {tenant_acme_corp_app: [USAGE, CREATE], tenant_acme_corp_owner: [USAGE, CREATE]}
    default_privileges:
      description: Default privileges defined in the schema, keyed C(FOR ROLE <creator> ON <TYPE>).
      type: dict
      returned: always
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llm_saas.platform.plugins.module_utils.postgres.tenant_schema_info import (
    argument_spec,
    run_module,
)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module)


if __name__ == '__main__':
    main()
