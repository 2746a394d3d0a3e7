# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llm_saas platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared PostgreSQL connection options and connect() for llm_saas.platform modules."""

from __future__ import annotations

import traceback

PSYCOPG_IMPORT_ERROR = None
try:
    import psycopg
    HAS_PSYCOPG = True
except ImportError:
    HAS_PSYCOPG = False
    PSYCOPG_IMPORT_ERROR = traceback.format_exc()

BOTO3_IMPORT_ERROR = None
try:
    import boto3
    HAS_BOTO3 = True
except ImportError:
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()

SSL_MODES = ['allow', 'disable', 'prefer', 'require', 'verify-ca', 'verify-full']


def postgres_common_argument_spec():
    """Connection options, named as in community.postgresql so module_defaults carry over."""
    return dict(
        login_host=dict(type='str', default='localhost', aliases=['host']),
        login_port=dict(type='int', default=5432, aliases=['port']),
        login_user=dict(type='str', default='postgres', aliases=['login']),
        login_password=dict(type='str', no_log=True),
        login_db=dict(type='str', aliases=['login_database']),
        ssl_mode=dict(type='str', default='prefer', choices=SSL_MODES),
        ca_cert=dict(type='path', aliases=['ssl_rootcert']),
        connect_timeout=dict(type='int', default=10),
        login_iam_auth=dict(type='bool', default=False),
        aws_region=dict(type='str', aliases=['region']),
    )


class ConnectionParamError(ValueError):
    """Connection options that cannot work; raised before any network traffic."""


def generate_iam_token(host, port, user, region):
    """Short-lived RDS IAM token; signing is local, so this needs credentials but no network."""
    session = boto3.session.Session(region_name=region) if region else boto3.session.Session()
    if not session.region_name:
        raise ConnectionParamError(
            "login_iam_auth needs an AWS region: set aws_region or AWS_DEFAULT_REGION")
    client = session.client('rds')
    return client.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user,
                                         Region=session.region_name)


def connection_kwargs(params, dbname, application_name='llm_saas.platform'):
    """Translate module params into psycopg.connect() keyword arguments.

    Kept free of I/O (apart from local IAM signing) so it can be unit tested.
    """
    if params['connect_timeout'] is not None and params['connect_timeout'] < 1:
        raise ConnectionParamError("connect_timeout must be >= 1 (seconds)")
    if params['login_port'] is not None and not 0 < params['login_port'] < 65536:
        raise ConnectionParamError("login_port must be between 1 and 65535")
    kw = dict(
        host=params['login_host'],
        port=params['login_port'],
        user=params['login_user'],
        dbname=dbname,
        sslmode=params['ssl_mode'],
        connect_timeout=params['connect_timeout'],
        application_name=application_name,
    )
    if params.get('ca_cert'):
        kw['sslrootcert'] = params['ca_cert']
    if params.get('login_iam_auth'):
        if params.get('login_password'):
            raise ConnectionParamError(
                "login_iam_auth and login_password are mutually exclusive: drop login_password, "
                "the IAM token is the password")
        if params['ssl_mode'] in ('disable', 'allow', 'prefer'):
            # RDS rejects IAM tokens on unencrypted connections; fail here with the fix.
            raise ConnectionParamError(
                "login_iam_auth requires ssl_mode require, verify-ca or verify-full "
                "(verify-full with ca_cert is recommended for RDS)")
        if not HAS_BOTO3:
            raise ConnectionParamError("login_iam_auth requires the boto3 Python library")
        kw['password'] = generate_iam_token(params['login_host'], params['login_port'],
                                            params['login_user'], params.get('aws_region'))
    elif params.get('login_password') is not None:
        kw['password'] = params['login_password']
    return {k: v for k, v in kw.items() if v is not None}


def connect(params, dbname, application_name='llm_saas.platform', autocommit=False):
    """Open a psycopg 3 connection; transactions are explicit (autocommit off by default)."""
    kw = connection_kwargs(params, dbname, application_name)
    return psycopg.connect(autocommit=autocommit, **kw)
