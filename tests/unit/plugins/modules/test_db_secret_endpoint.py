"""Unit tests of llm_saas.platform.db_secret_endpoint on moto in process.

moto 5.2.5 implements CreateSecret with AddReplicaRegions (the replica answers DescribeSecret with
PrimaryRegion and refuses PutSecretValue), GetSecretValue, PutSecretValue and DeleteSecret (a secret
scheduled for deletion keeps answering DescribeSecret, with DeletedDate). It has no
StopReplicationToReplica: the promote tests apply, for the test only, the patch the local platform's moto
server uses (tests/local_platform/moto_tls_server.py, add_secrets_stop_replication()). An AWS error half-way
through a secret is driven with botocore's Stubber.
"""

from __future__ import annotations

import importlib.util
import json
from functools import partial
from pathlib import Path

import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from aws_module_harness import dummy_client, no_aws, run_aws_module  # first: puts .collections on sys.path
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import db_secret_endpoint

PRIMARY = "us-east-1"
DR = "us-west-2"
PASSWORD = "pw-never-in-output-7f3a"
TOKEN = "redis-token-never-in-output-91c2"
OLD_HOST = "db-primary.abc.us-east-1.rds.amazonaws.com"
NEW_HOST = "db-dr.abc.us-west-2.rds.amazonaws.com"
LOCAL_PLATFORM_MOTO = Path(__file__).resolve().parents[4] / "tests" / "local_platform" / "moto_tls_server.py"


def _wrap(client):
    return RetryingBotoClientWrapper(client, db_secret_endpoint.RETRY)


def run(capsys, region=DR, clients=None, **params):
    """Run the module in region (DR unless told) on moto's clients of that region."""
    if clients is None:
        clients = partial(dummy_client, region=region)
    return run_aws_module(db_secret_endpoint.run_module, capsys, clients, region=region, wrap=_wrap, **params)


def sm(region=DR):
    return dummy_client("secretsmanager", region)


def value(name, region=DR):
    return sm(region).get_secret_value(SecretId=name)["SecretString"]


def versions(name, region=DR):
    return sorted(v["VersionId"] for v in sm(region).list_secret_version_ids(SecretId=name)["Versions"])


def is_replica(name, region=DR):
    return bool(sm(region).describe_secret(SecretId=name).get("PrimaryRegion"))


def db_secret(**extra):
    return json.dumps(dict({"host": OLD_HOST, "port": 5432, "username": "app", "password": PASSWORD}, **extra))


def replicated(name, secret_string):
    """A secret of PRIMARY replicated to DR."""
    sm(PRIMARY).create_secret(Name=name, SecretString=secret_string, AddReplicaRegions=[{"Region": DR}])
    assert is_replica(name)


def assert_no_values(result):
    text = json.dumps(result)
    for secret in (PASSWORD, TOKEN):
        assert secret not in text, result


@pytest.fixture
def aws():
    with mock_aws():
        yield


@pytest.fixture
def promotable(aws, monkeypatch):
    """moto with StopReplicationToReplica, as the local platform's moto patches it; undone afterwards."""
    from moto.secretsmanager import models, responses

    for cls in (models.SecretsManagerBackend, responses.SecretsManagerResponse):
        # Record what is there (nothing, in moto 5.2) so that monkeypatch restores it after the test.
        monkeypatch.setattr(cls, "stop_replication_to_replica", getattr(cls, "stop_replication_to_replica", None),
                            raising=False)
    spec = importlib.util.spec_from_file_location("moto_tls_server", LOCAL_PLATFORM_MOTO)
    server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(server)
    server.add_secrets_stop_replication()


def test_host_and_port_update_keeps_other_keys_then_changes_nothing(aws, capsys):
    sm().create_secret(Name="plat/db", SecretString=db_secret(engine="postgres"))
    first = run(capsys, names=["plat/db"], host=NEW_HOST, port=6432)
    assert first["rc"] == 0 and first["changed"] is True, first
    assert json.loads(value("plat/db")) == {
        "host": NEW_HOST, "port": 6432, "username": "app", "password": PASSWORD, "engine": "postgres"}
    (entry,) = first["secrets"]
    assert entry == {
        "name": "plat/db", "exists": True, "changed": True, "arn": sm().describe_secret(SecretId="plat/db")["ARN"],
        "replica": False, "promoted": False, "previous_host": OLD_HOST}
    assert first["missing"] == []
    assert first["diff"] == {
        "before": {"plat/db": {"host": OLD_HOST, "port": 5432, "replica": False}},
        "after": {"plat/db": {"host": NEW_HOST, "port": 6432, "replica": False}},
    }
    assert_no_values(first)

    written = versions("plat/db")
    again = run(capsys, names=["plat/db"], host=NEW_HOST, port=6432)
    assert again["rc"] == 0 and again["changed"] is False, again
    assert again["secrets"][0]["changed"] is False and again["secrets"][0]["previous_host"] == NEW_HOST
    assert again["diff"] == {"before": {}, "after": {}}
    assert versions("plat/db") == written
    assert_no_values(again)


def test_custom_keys_and_no_port_leave_the_port_alone(aws, capsys):
    stored = {"db_host": "old", "db_port": "5432", "password": PASSWORD}
    sm().create_secret(Name="tenant/app", SecretString=json.dumps(stored))
    result = run(capsys, name="tenant/app", host=NEW_HOST, host_key="db_host", port_key="db_port")
    assert result["rc"] == 0 and result["changed"] is True, result
    assert json.loads(value("tenant/app")) == {"db_host": NEW_HOST, "db_port": "5432", "password": PASSWORD}
    assert result["diff"]["after"] == {"tenant/app": {"db_host": NEW_HOST, "db_port": "5432", "replica": False}}
    assert_no_values(result)


def test_check_mode_reports_the_change_and_writes_nothing(aws, capsys):
    sm().create_secret(Name="plat/db", SecretString=db_secret())
    before = versions("plat/db")
    checked = run(capsys, check_mode=True, names=["plat/db"], host=NEW_HOST, port=6432)
    assert checked["rc"] == 0 and checked["changed"] is True, checked
    assert checked["secrets"][0]["changed"] is True
    assert checked["diff"] == {
        "before": {"plat/db": {"host": OLD_HOST, "port": 5432, "replica": False}},
        "after": {"plat/db": {"host": NEW_HOST, "port": 6432, "replica": False}},
    }
    assert value("plat/db") == db_secret() and versions("plat/db") == before
    assert_no_values(checked)


def test_replica_without_promote_fails_when_its_host_differs_and_the_others_are_updated(aws, capsys):
    replicated("plat/db", db_secret())
    sm().create_secret(Name="tenant/app", SecretString=db_secret())
    result = run(capsys, names=["plat/db", "tenant/app"], host=NEW_HOST)
    assert result["rc"] == 1 and result["changed"] is True, result
    assert result["msg"] == (
        "secret plat/db in us-west-2 is a replica of the secret in us-east-1 and cannot be changed here; "
        "set promote_replica=true to make it a standalone secret of us-west-2 first")
    assert [s["name"] for s in result["secrets"]] == ["tenant/app"] and result["missing"] == []
    assert is_replica("plat/db") and value("plat/db") == db_secret()
    assert json.loads(value("tenant/app"))["host"] == NEW_HOST
    assert_no_values(result)

    # A replica that already points at the host is fine as it is.
    same = run(capsys, names=["plat/db"], host=OLD_HOST, port=5432)
    assert same["rc"] == 0 and same["changed"] is False, same
    assert same["secrets"][0]["replica"] is True and same["secrets"][0]["promoted"] is False
    assert is_replica("plat/db")


def test_promote_with_host_makes_the_replica_standalone_and_updates_it(promotable, capsys):
    replicated("plat/db", db_secret())
    checked = run(capsys, check_mode=True, names=["plat/db"], host=NEW_HOST, promote_replica=True)
    assert checked["rc"] == 0 and checked["changed"] is True, checked
    assert checked["secrets"][0]["promoted"] is True
    assert is_replica("plat/db") and value("plat/db") == db_secret()

    result = run(capsys, names=["plat/db"], host=NEW_HOST, promote_replica=True)
    assert result["rc"] == 0 and result["changed"] is True, result
    (entry,) = result["secrets"]
    assert entry["replica"] is True and entry["promoted"] is True and entry["previous_host"] == OLD_HOST
    assert result["diff"] == checked["diff"] == {
        "before": {"plat/db": {"host": OLD_HOST, "port": 5432, "replica": True}},
        "after": {"plat/db": {"host": NEW_HOST, "port": 5432, "replica": False}},
    }
    assert not is_replica("plat/db")
    assert json.loads(value("plat/db")) == json.loads(db_secret(host=NEW_HOST))
    assert value("plat/db", PRIMARY) == db_secret()  # the primary region's secret is left as it was
    assert_no_values(result)

    again = run(capsys, names=["plat/db"], host=NEW_HOST, promote_replica=True)
    assert again["rc"] == 0 and again["changed"] is False, again
    assert again["secrets"][0]["replica"] is False and again["secrets"][0]["promoted"] is False


class _NoValueReads:
    """A client that fails the test when the secret's value is read."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        if name in ("get_secret_value", "batch_get_secret_value"):
            raise AssertionError("the value must not be read without host")
        return getattr(self._client, name)


def test_promote_only_without_host_changes_no_keys_and_reads_no_value(promotable, capsys):
    auth = json.dumps({"auth_token": TOKEN})
    replicated("plat/redis/auth-token", auth)
    replicated("plat/plain", "plain-" + TOKEN)  # not JSON at all
    sm(PRIMARY).create_secret(Name="plat/binary", SecretBinary=TOKEN.encode(), AddReplicaRegions=[{"Region": DR}])
    sm().create_secret(Name="plat/standalone", SecretString="not json either")
    names = ["plat/redis/auth-token", "plat/plain", "plat/binary", "plat/standalone"]

    def no_reads(service):
        return _NoValueReads(dummy_client(service, DR))

    reported = run(capsys, clients=no_reads, names=names)
    assert reported["rc"] == 0 and reported["changed"] is False, reported
    assert [(s["name"], s["replica"], s["promoted"]) for s in reported["secrets"]] == [
        ("plat/redis/auth-token", True, False), ("plat/plain", True, False), ("plat/binary", True, False),
        ("plat/standalone", False, False)]

    checked = run(capsys, clients=no_reads, check_mode=True, names=names, promote_replica=True)
    assert checked["rc"] == 0 and checked["changed"] is True, checked
    assert all(is_replica(n) for n in names[:3])

    result = run(capsys, clients=no_reads, names=names, promote_replica=True)
    assert result["rc"] == 0 and result["changed"] is True, result
    assert [(s["name"], s["changed"], s["replica"], s["promoted"]) for s in result["secrets"]] == [
        ("plat/redis/auth-token", True, True, True), ("plat/plain", True, True, True),
        ("plat/binary", True, True, True), ("plat/standalone", False, False, False)]
    assert all("previous_host" not in s for s in result["secrets"])
    assert result["diff"] == checked["diff"] == {
        "before": {n: {"replica": True} for n in names[:3]},
        "after": {n: {"replica": False} for n in names[:3]},
    }
    assert not any(is_replica(n) for n in names)
    assert value("plat/redis/auth-token") == auth and value("plat/plain") == "plain-" + TOKEN
    assert sm().get_secret_value(SecretId="plat/binary")["SecretBinary"] == TOKEN.encode()
    assert value("plat/standalone") == "not json either"
    for r in (reported, checked, result):
        assert_no_values(r)

    again = run(capsys, clients=no_reads, names=names, promote_replica=True)
    assert again["rc"] == 0 and again["changed"] is False, again
    assert again["diff"] == {"before": {}, "after": {}}


def test_host_on_a_secret_that_is_not_a_json_object_fails_without_showing_it(aws, capsys):
    sm().create_secret(Name="plat/redis/auth-token", SecretString="plain-" + TOKEN)
    sm().create_secret(Name="plat/list", SecretString=json.dumps([TOKEN]))
    sm().create_secret(Name="plat/db", SecretString=db_secret())
    result = run(capsys, names=["plat/redis/auth-token", "plat/list", "plat/db"], host=NEW_HOST)
    assert result["rc"] == 1 and result["changed"] is True, result
    assert "secret plat/redis/auth-token in us-west-2 does not hold a JSON object" in result["msg"]
    assert "secret plat/list in us-west-2 does not hold a JSON object" in result["msg"]
    assert "omit host" in result["msg"]
    assert value("plat/redis/auth-token") == "plain-" + TOKEN
    assert json.loads(value("plat/db"))["host"] == NEW_HOST
    assert_no_values(result)


def test_missing_skip_lists_the_missing_names(aws, capsys):
    sm().create_secret(Name="plat/db", SecretString=db_secret())
    sm().create_secret(Name="tenant/gone", SecretString=db_secret())
    sm().delete_secret(SecretId="tenant/gone", RecoveryWindowInDays=7)  # scheduled for deletion: missing
    result = run(capsys, names=["tenant/absent", "plat/db", "tenant/gone"], host=NEW_HOST, missing="skip")
    assert result["rc"] == 0 and result["changed"] is True, result
    assert result["missing"] == ["tenant/absent", "tenant/gone"]
    assert [(s["name"], s["exists"], s["changed"]) for s in result["secrets"]] == [
        ("tenant/absent", False, False), ("plat/db", True, True), ("tenant/gone", False, False)]
    assert json.loads(value("plat/db"))["host"] == NEW_HOST
    assert_no_values(result)


def test_missing_fail_fails_after_updating_the_others(aws, capsys):
    sm().create_secret(Name="plat/db", SecretString=db_secret())
    result = run(capsys, names=["tenant/absent", "plat/db", "tenant/other"], host=NEW_HOST)
    assert result["rc"] == 1 and result["changed"] is True, result
    assert result["msg"] == "secrets missing in us-west-2: tenant/absent, tenant/other"
    assert result["missing"] == ["tenant/absent", "tenant/other"]
    assert [s["name"] for s in result["secrets"]] == ["tenant/absent", "plat/db", "tenant/other"]
    assert json.loads(value("plat/db"))["host"] == NEW_HOST
    assert_no_values(result)

    # Promote-only fails the same way.
    only = run(capsys, names=["tenant/absent"], promote_replica=True)
    assert only["rc"] == 1 and only["changed"] is False and only["msg"] == "secrets missing in us-west-2: tenant/absent"


def test_an_aws_error_after_the_promotion_still_reports_it(capsys):
    raw = dummy_client("secretsmanager", DR)
    arn = "arn:aws:secretsmanager:us-west-2:123456789012:secret:plat/db-AbCdEf"
    stub = Stubber(raw)
    stub.add_response("describe_secret", {"ARN": arn, "Name": "plat/db", "PrimaryRegion": PRIMARY},
                      {"SecretId": "plat/db"})
    stub.add_response("get_secret_value", {"ARN": arn, "Name": "plat/db", "SecretString": db_secret()},
                      {"SecretId": arn})
    stub.add_response("stop_replication_to_replica", {"ARN": arn}, {"SecretId": arn})
    stub.add_client_error("put_secret_value", service_error_code="AccessDeniedException", http_status_code=400,
                          service_message="not allowed", expected_params={"SecretId": arn, "SecretString": ANY})
    stub.add_client_error("describe_secret", service_error_code="ResourceNotFoundException", http_status_code=400,
                          expected_params={"SecretId": "tenant/absent"})
    with stub:
        result = run(capsys, clients=raw, names=["plat/db", "tenant/absent"], host=NEW_HOST, promote_replica=True,
                     missing="skip")
    stub.assert_no_pending_responses()
    assert result["rc"] == 1 and result["changed"] is True, result
    assert result["msg"].startswith("updating secret plat/db in us-west-2: "), result["msg"]
    assert "AccessDeniedException" in result["msg"]
    assert result["secrets"][0] == {"name": "plat/db", "exists": True, "changed": True, "arn": arn, "replica": True,
                                    "promoted": True, "previous_host": OLD_HOST}
    assert result["missing"] == ["tenant/absent"]
    assert_no_values(result)


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        (dict(port=5432), ("port", "host")),
        (dict(port=5432, promote_replica=True), ("port", "host")),
        (dict(host=""), ("host",)),
        (dict(host="  "), ("host",)),
        (dict(host=NEW_HOST, missing="ignore"), ("missing",)),
    ],
)
def test_bad_input_fails_before_any_call(capsys, params, fields):
    result = run(capsys, clients=no_aws, names=["plat/db"], **params)
    assert result["rc"] == 1, result
    for field in fields:
        assert field in result["msg"], result["msg"]


def test_port_without_host_message(capsys):
    result = run(capsys, clients=no_aws, names=["plat/db"], port=5432)
    assert result["msg"] == (
        "db_secret_endpoint: port is given without host: the port is only written together with the host. "
        "Give host too, or omit both host and port to only make replica secrets standalone (promote_replica=true)")
