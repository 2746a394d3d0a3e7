"""Unit tests for the shared PostgreSQL connection options and the SCRAM verifier."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import sys

import pytest

_COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".collections"))
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.llm_saas.platform.plugins.module_utils.postgres import connection as pgconn  # noqa: E402
from ansible_collections.llm_saas.platform.plugins.module_utils.postgres.scram import (  # noqa: E402
    scram_sha256_verifier,
)


def params(**kw):
    base = {k: v.get("default") for k, v in pgconn.postgres_common_argument_spec().items()}
    base.update(kw)
    return base


def test_connection_kwargs_maps_community_postgresql_names_to_libpq():
    kw = pgconn.connection_kwargs(params(login_host="db.example", login_port=6432, login_user="admin",
                                         login_password="pw", ssl_mode="verify-full", ca_cert="/ca.pem"),
                                  "openwebui", application_name="x")
    assert kw == {"host": "db.example", "port": 6432, "user": "admin", "password": "pw", "dbname": "openwebui",
                  "sslmode": "verify-full", "sslrootcert": "/ca.pem", "connect_timeout": 10,
                  "application_name": "x"}


def test_no_password_key_when_none_given():
    assert "password" not in pgconn.connection_kwargs(params(), "db")


@pytest.mark.parametrize("kw, field", [
    ({"login_iam_auth": True, "ssl_mode": "prefer"}, "ssl_mode"),
    ({"login_iam_auth": True, "ssl_mode": "require", "login_password": "x"}, "login_password"),
    ({"connect_timeout": 0}, "connect_timeout"),
    ({"login_port": 70000}, "login_port"),
])
def test_bad_connection_options_fail_naming_the_field(kw, field):
    with pytest.raises(pgconn.ConnectionParamError, match=field):
        pgconn.connection_kwargs(params(**kw), "db")


def test_iam_token_is_used_as_password(monkeypatch):
    # Token signing is local (SigV4 presigned URL), so dummy credentials suffice.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    kw = pgconn.connection_kwargs(params(login_host="db.abc.eu-west-1.rds.amazonaws.com", login_port=5432,
                                         login_user="platform_admin", login_iam_auth=True, ssl_mode="verify-full",
                                         aws_region="eu-west-1"), "openwebui")
    token = kw["password"]
    assert token.startswith("db.abc.eu-west-1.rds.amazonaws.com:5432/?")
    assert "Action=connect" in token and "DBUser=platform_admin" in token
    assert "eu-west-1" in token


def test_iam_without_region_fails_with_the_fix(monkeypatch):
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with pytest.raises(pgconn.ConnectionParamError, match="aws_region"):
        pgconn.connection_kwargs(params(login_iam_auth=True, ssl_mode="require"), "db")


def _b64d(text):
    return base64.b64decode(text)


def test_scram_verifier_matches_rfc7677_test_vector():
    """RFC 7677 section 3: user 'user', password 'pencil', the given salt and nonces."""
    verifier = scram_sha256_verifier("pencil", salt=_b64d("W22ZaJ0SNY7soEsUEjb6gQ=="), iterations=4096)
    head, keys = verifier.split("$", 1)[1].split("$")
    assert head == "4096:W22ZaJ0SNY7soEsUEjb6gQ=="
    stored_key, server_key = (_b64d(k) for k in keys.split(":"))
    auth_message = (b"n=user,r=rOprNGfwEbeRWgbNEkqO,"
                    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
                    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
    server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
    assert server_signature == _b64d("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    client_signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    proof = _b64d("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key


def test_scram_verifier_is_salted_and_never_contains_the_password():
    one, two = scram_sha256_verifier("hunter2'; DROP ROLE x; --"), scram_sha256_verifier("hunter2'; DROP ROLE x; --")
    assert one != two
    for v in (one, two):
        assert v.startswith("SCRAM-SHA-256$4096:")
        assert "hunter2" not in v and "'" not in v and ";" not in v


def test_scram_saslprep_maps_non_ascii_spaces_like_postgresql():
    salt = b"0123456789abcdef"
    # U+00A0 NO-BREAK SPACE is mapped to ' ' by SASLprep; U+00AD SOFT HYPHEN is mapped to nothing.
    assert scram_sha256_verifier("p\u00a0w\u00e9", salt=salt) == scram_sha256_verifier("p w\u00e9", salt=salt)
    assert scram_sha256_verifier("p\u00adw\u00e9", salt=salt) == scram_sha256_verifier("pw\u00e9", salt=salt)
