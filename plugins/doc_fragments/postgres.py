# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llm_saas platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Connection options shared by the llm_saas.platform PostgreSQL modules
    # (argument spec: module_utils/postgres/connection.py).
    DOCUMENTATION = r'''
options:
  login_host:
    description:
      - Host name or IP address of the PostgreSQL server, for example the RDS endpoint.
    type: str
    default: localhost
    aliases: [host]
  login_port:
    description:
      - TCP port of the PostgreSQL server.
    type: int
    default: 5432
    aliases: [port]
  login_user:
    description:
      - Administrative user to connect as.
      - On Amazon RDS this is the master user, a member of C(rds_superuser) with C(CREATEROLE) but
        not a superuser; the modules work with that level of privilege.
    type: str
    default: postgres
    aliases: [login]
  login_password:
    description:
      - Password of O(login_user). Mutually exclusive with O(login_iam_auth).
    type: str
  login_db:
    description:
      - Database to connect to.
      - For modules that manage objects inside one database (the O(database) option) this may be
        left unset; when set it must equal O(database).
    type: str
    aliases: [login_database]
  ssl_mode:
    description:
      - libpq C(sslmode).
      - For RDS use V(verify-full) together with O(ca_cert) pointing at the RDS CA bundle
        (C(global-bundle.pem) from AWS), so the endpoint's certificate and host name are checked.
    type: str
    default: prefer
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
  ca_cert:
    description:
      - Path to the CA certificate bundle used to verify the server (libpq C(sslrootcert)).
    type: path
    aliases: [ssl_rootcert]
  connect_timeout:
    description:
      - Seconds to wait for the connection to be established.
    type: int
    default: 10
  login_iam_auth:
    description:
      - Authenticate O(login_user) with a short-lived RDS IAM authentication token generated with
        boto3 C(generate_db_auth_token) from the usual AWS credential chain, instead of a password.
      - Requires O(ssl_mode) V(require), V(verify-ca) or V(verify-full), and the boto3 library.
    type: bool
    default: false
  aws_region:
    description:
      - AWS region used to sign the IAM token; defaults to the region of the AWS environment
        (for example E(AWS_DEFAULT_REGION)).
    type: str
    aliases: [region]
requirements:
  - psycopg >= 3.1 (psycopg 3)
  - boto3 (only for O(login_iam_auth=true))
'''
