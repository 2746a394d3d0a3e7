"""Unit tests of llm_saas.platform.eks_access_entry.

moto 5.2.5 does not implement EKS access entries (CreateAccessEntry, AssociateAccessPolicy, ...),
so these tests drive the module against botocore's Stubber, which validates every request and
response against the real EKS service model.
"""

from __future__ import annotations

import datetime
from functools import partial

import pytest
from botocore.stub import Stubber

from aws_module_harness import dummy_client, run_aws_module  # first: puts .collections on sys.path
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import eks_access_entry

CLUSTER = "llm-saas-production"
PRINCIPAL = "arn:aws:iam::123456789012:role/platform-admin"
ENTRY_ARN = "arn:aws:eks:us-east-1:123456789012:access-entry/llm-saas-production/role/123456789012/platform-admin/x"
ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
KEY = {"clusterName": CLUSTER, "principalArn": PRINCIPAL}


def entry(groups=None, username="admin", tags=None, kind="STANDARD"):
    return {
        "accessEntry": {
            "clusterName": CLUSTER,
            "principalArn": PRINCIPAL,
            "accessEntryArn": ENTRY_ARN,
            "type": kind,
            "kubernetesGroups": groups or [],
            "username": username,
            "createdAt": NOW,
            "modifiedAt": NOW,
            "tags": tags if tags is not None else {"Project": "llm-saas"},
        }
    }


def policies(*items):
    return {
        "clusterName": CLUSTER,
        "principalArn": PRINCIPAL,
        "associatedAccessPolicies": [
            {"policyArn": arn, "accessScope": scope, "associatedAt": NOW, "modifiedAt": NOW} for arn, scope in items
        ],
    }


@pytest.fixture
def eks():
    client = dummy_client("eks")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


run = partial(run_aws_module, eks_access_entry.main, cluster_name=CLUSTER, principal_arn=PRINCIPAL)


def not_found(stubber, operation):
    stubber.add_client_error(operation, service_error_code="ResourceNotFoundException", http_status_code=404)


ADMIN_ONLY = {
    "access_policies": [{"policy_arn": ADMIN, "access_scope": {"type": "cluster"}}],
    "tags": {"Project": "llm-saas"},
}


def test_creates_entry_then_associates_policies(eks, capsys):
    client, stubber = eks
    not_found(stubber, "describe_access_entry")
    stubber.add_response("create_access_entry", entry(), dict(KEY, type="STANDARD", tags={"Project": "llm-saas"}))
    stubber.add_response(
        "associate_access_policy",
        {"clusterName": CLUSTER, "principalArn": PRINCIPAL},
        dict(KEY, policyArn=ADMIN, accessScope={"type": "cluster"}),
    )
    stubber.add_response("describe_access_entry", entry())
    result = run(capsys, client, **ADMIN_ONLY)
    assert result["rc"] == 0 and result["changed"] is True
    assert result["access_policies"] == {ADMIN: {"type": "cluster", "namespaces": []}}
    assert result["access_entry"]["access_entry_arn"] == ENTRY_ARN


def test_matching_entry_is_left_alone(eks, capsys):
    client, stubber = eks
    stubber.add_response("describe_access_entry", entry())
    stubber.add_response("list_associated_access_policies", policies((ADMIN, {"type": "cluster"})), KEY)
    result = run(capsys, client, **ADMIN_ONLY)
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"]


def test_pages_of_policies_are_all_read(eks, capsys):
    client, stubber = eks
    stubber.add_response("describe_access_entry", entry())
    first = policies((ADMIN, {"type": "cluster"}))
    first["nextToken"] = "t1"
    stubber.add_response("list_associated_access_policies", first, KEY)
    stubber.add_response(
        "list_associated_access_policies",
        policies((VIEW, {"type": "namespace", "namespaces": ["b", "a"]})),
        dict(KEY, nextToken="t1"),
    )
    params = {
        "access_policies": [
            {"policy_arn": ADMIN, "access_scope": {"type": "cluster"}},
            {"policy_arn": VIEW, "access_scope": {"type": "namespace", "namespaces": ["a", "b"]}},
        ]
    }
    assert run(capsys, client, **params)["changed"] is False


def test_drift_updates_groups_rescopes_and_purges_policies(eks, capsys):
    client, stubber = eks
    stubber.add_response("describe_access_entry", entry(groups=["old"]))
    stubber.add_response(
        "list_associated_access_policies",
        policies((ADMIN, {"type": "cluster"}), (VIEW, {"type": "namespace", "namespaces": ["tenant-a"]})),
        KEY,
    )
    stubber.add_response("update_access_entry", entry(groups=["viewers"]), dict(KEY, kubernetesGroups=["viewers"]))
    stubber.add_response(
        "associate_access_policy",
        {"clusterName": CLUSTER, "principalArn": PRINCIPAL},
        dict(KEY, policyArn=VIEW, accessScope={"type": "namespace", "namespaces": ["tenant-a", "tenant-b"]}),
    )
    stubber.add_response("disassociate_access_policy", {}, dict(KEY, policyArn=ADMIN))
    stubber.add_response("describe_access_entry", entry(groups=["viewers"]))
    result = run(
        capsys,
        client,
        kubernetes_groups=["viewers"],
        access_policies=[
            {"policy_arn": VIEW, "access_scope": {"type": "namespace", "namespaces": ["tenant-b", "tenant-a"]}}
        ],
    )
    assert result["changed"] is True
    assert result["diff"]["before"]["kubernetes_groups"] == ["old"]
    assert result["diff"]["after"]["access_policies"] == {
        VIEW: {"type": "namespace", "namespaces": ["tenant-a", "tenant-b"]}
    }


def test_check_mode_reports_drift_without_writing(eks, capsys):
    client, stubber = eks
    stubber.add_response("describe_access_entry", entry(groups=["old"]))
    stubber.add_response("list_associated_access_policies", policies(), KEY)
    result = run(capsys, client, check_mode=True, kubernetes_groups=["new"], **ADMIN_ONLY)
    assert result["changed"] is True
    assert result["diff"]["after"]["access_policies"] == {ADMIN: {"type": "cluster", "namespaces": []}}


def test_namespace_scope_without_namespaces_fails_before_any_call(eks, capsys):
    client, _stubber = eks
    result = run(capsys, client, access_policies=[{"policy_arn": VIEW, "access_scope": {"type": "namespace"}}])
    assert result["rc"] == 1
    assert "access_scope.namespaces" in result["msg"]


def test_type_cannot_change(eks, capsys):
    client, stubber = eks
    stubber.add_response("describe_access_entry", entry(kind="EC2_LINUX"))
    result = run(capsys, client, type="STANDARD")
    assert result["rc"] == 1 and "cannot change" in result["msg"]


def test_absent_deletes_the_entry(eks, capsys):
    client, stubber = eks
    stubber.add_response("describe_access_entry", entry())
    stubber.add_response("list_associated_access_policies", policies((ADMIN, {"type": "cluster"})), KEY)
    stubber.add_response("delete_access_entry", {}, KEY)
    result = run(capsys, client, state="absent")
    assert result["changed"] is True and result["access_entry"] == {}


def test_absent_when_missing_is_a_no_op(eks, capsys):
    client, stubber = eks
    not_found(stubber, "describe_access_entry")
    assert run(capsys, client, state="absent")["changed"] is False
