"""Unit tests of llm_saas.platform.eks_cluster_settings on moto in process.

moto 5.2.5 implements DescribeCluster and UpdateClusterConfig (which replaces resourcesVpcConfig instead of
merging it: the module's emulated option), and IAM's OIDC providers. It has no AssociateEncryptionConfig and
makes no cluster security group: the ``eks`` fixture applies, for the test only, the patches the local
platform's moto server uses (tests/local_platform/moto_tls_server.py, add_eks_associate_encryption_config()
and add_eks_cluster_security_group()). moto never reports an update InProgress nor implements DescribeUpdate,
so waiting on an update by id is driven with botocore's Stubber.
"""

from __future__ import annotations

import datetime
import importlib.util
from pathlib import Path

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from aws_module_harness import dummy_client, no_aws, run_aws_module  # first: puts .collections on sys.path
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import eks_cluster_settings

REGION = "us-east-1"
NAME = "plat-local"
ALL_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
CIDRS = ["203.0.113.0/24", "198.51.100.0/24"]
TAGS = {"Project": "plat", "Environment": "local"}
LOCAL_PLATFORM_MOTO = Path(__file__).resolve().parents[4] / "tests" / "local_platform" / "moto_tls_server.py"
RESULT_KEYS = {
    "name", "arn", "endpoint", "certificate_authority", "oidc_issuer", "oidc_provider_arn",
    "cluster_security_group_id",
}


OMIT = object()  # a parameter left out, as a playbook's omit does


def _wrap(client):
    service = client.meta.service_model.service_name
    retry = eks_cluster_settings.EKS_RETRY if service == "eks" else eks_cluster_settings.IAM_RETRY
    return RetryingBotoClientWrapper(client, retry)


def run(capsys, clients=dummy_client, **params):
    args = dict(
        name=NAME, endpoint_private_access=True, endpoint_public_access=True, public_access_cidrs=CIDRS,
        log_types=ALL_LOGS, tags=TAGS, emulated=True,
    )
    args.update(params)
    args = {k: v for k, v in args.items() if v is not OMIT}
    return run_aws_module(eks_cluster_settings.main, capsys, clients, region=REGION, wrap=_wrap, **args)


def eks():
    return dummy_client("eks", REGION)


def iam():
    return dummy_client("iam", REGION)


def cluster():
    return eks().describe_cluster(name=NAME)["cluster"]


def providers():
    return [p["Arn"] for p in iam().list_open_id_connect_providers()["OpenIDConnectProviderList"]]


def enabled_logs(c):
    return sorted(t for e in c["logging"]["clusterLogging"] if e["enabled"] for t in e["types"])


@pytest.fixture
def moto_eks(monkeypatch):
    """moto in process with AssociateEncryptionConfig and the cluster security group, as the local platform's
    moto patches them; undone after the test."""
    from moto.eks import urls as eks_urls
    from moto.eks.models import EKSBackend
    from moto.eks.responses import EKSResponse

    # Record what is there so that monkeypatch restores it (or removes what moto 5.2 lacks).
    monkeypatch.setattr(EKSResponse, "associate_encryption_config", None, raising=False)
    monkeypatch.setattr(eks_urls, "url_paths", dict(eks_urls.url_paths))
    for method in ("create_cluster", "update_cluster_config", "delete_cluster"):
        monkeypatch.setattr(EKSBackend, method, getattr(EKSBackend, method))
    spec = importlib.util.spec_from_file_location("moto_tls_server", LOCAL_PLATFORM_MOTO)
    server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(server)
    server.add_eks_associate_encryption_config()
    server.add_eks_cluster_security_group()
    with mock_aws():
        yield


@pytest.fixture
def network(moto_eks):
    """A VPC with two subnets and a security group, and the cluster on them (as community.aws.eks_cluster
    makes it: no endpoint settings, logging off, no encryption)."""
    ec2 = dummy_client("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.%d.0/24" % i, AvailabilityZone=REGION + az)["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    group = ec2.create_security_group(GroupName="cluster", Description="cluster", VpcId=vpc)["GroupId"]
    eks().create_cluster(
        name=NAME, roleArn="arn:aws:iam::123456789012:role/plat-local-cluster",
        resourcesVpcConfig={"subnetIds": subnets, "securityGroupIds": [group]},
    )
    return {"vpc": vpc, "subnets": subnets, "group": group}


@pytest.fixture
def key(moto_eks):
    return dummy_client("kms", REGION).create_key(Description="eks secrets")["KeyMetadata"]["Arn"]


def test_first_run_sets_everything_then_nothing_changes(network, key, capsys):
    fresh = cluster()
    assert enabled_logs(fresh) == [] and not fresh.get("encryptionConfig") and providers() == []
    cluster_sg = fresh["resourcesVpcConfig"]["clusterSecurityGroupId"]

    first = run(capsys, secrets_kms_key_arn=key)
    assert first["rc"] == 0 and first["changed"] is True, first
    c = cluster()
    vpc = c["resourcesVpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is True
    assert sorted(vpc["publicAccessCidrs"]) == sorted(CIDRS)
    # emulated: the subnets and security groups survive moto's replacing update.
    assert vpc["subnetIds"] == network["subnets"] and vpc["securityGroupIds"] == [network["group"]]
    assert vpc["clusterSecurityGroupId"] == cluster_sg
    assert enabled_logs(c) == sorted(ALL_LOGS)
    assert c["encryptionConfig"] == [{"resources": ["secrets"], "provider": {"keyArn": key}}]

    (provider_arn,) = providers()
    issuer = c["identity"]["oidc"]["issuer"]
    assert provider_arn.endswith(":oidc-provider/" + issuer.replace("https://", ""))
    provider = iam().get_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn)
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]
    assert provider["ThumbprintList"] == [eks_cluster_settings.OIDC_THUMBPRINT]
    assert {t["Key"]: t["Value"] for t in provider["Tags"]} == TAGS

    assert first["cluster"] == {
        "name": NAME, "arn": c["arn"], "endpoint": c["endpoint"],
        "certificate_authority": c["certificateAuthority"]["data"],
        "oidc_issuer": issuer, "oidc_provider_arn": provider_arn, "cluster_security_group_id": cluster_sg,
    }
    assert first["diff"] == {
        "before": {
            "endpoint_private_access": None, "endpoint_public_access": None, "public_access_cidrs": [],
            "log_types": [], "secrets_kms_key_arn": None, "oidc_provider": False,
        },
        "after": {
            "endpoint_private_access": True, "endpoint_public_access": True, "public_access_cidrs": sorted(CIDRS),
            "log_types": sorted(ALL_LOGS), "secrets_kms_key_arn": key, "oidc_provider": True,
        },
    }

    again = run(capsys, secrets_kms_key_arn=key)
    assert again["rc"] == 0 and again["changed"] is False, again
    assert again["diff"]["before"] == again["diff"]["after"] == first["diff"]["after"]
    assert again["cluster"] == first["cluster"]
    # The same CIDRs in another order (or repeated) are the same allow-list.
    assert run(capsys, secrets_kms_key_arn=key, public_access_cidrs=CIDRS[::-1] + CIDRS[:1])["changed"] is False
    assert providers() == [provider_arn]


def test_check_mode_reports_the_changes_and_makes_none(network, key, capsys):
    fresh = cluster()
    checked = run(capsys, check_mode=True, secrets_kms_key_arn=key)
    assert checked["rc"] == 0 and checked["changed"] is True, checked
    assert checked["diff"]["after"]["secrets_kms_key_arn"] == key and checked["diff"]["after"]["oidc_provider"] is True
    assert checked["diff"]["before"]["oidc_provider"] is False
    # The cluster is returned as it is; the provider does not exist yet.
    assert set(checked["cluster"]) == RESULT_KEYS
    assert checked["cluster"]["endpoint"] == fresh["endpoint"] and checked["cluster"]["oidc_provider_arn"] is None
    assert cluster() == fresh and providers() == []

    assert run(capsys, secrets_kms_key_arn=key)["changed"] is True
    converged = cluster()
    again = run(capsys, check_mode=True, secrets_kms_key_arn=key)
    assert again["rc"] == 0 and again["changed"] is False, again
    assert again["cluster"]["oidc_provider_arn"] == providers()[0]
    # A drift is reported in check mode, and left as it is.
    drifted = run(capsys, check_mode=True, secrets_kms_key_arn=key, log_types=["api"], public_access_cidrs=CIDRS[:1])
    assert drifted["changed"] is True
    assert drifted["diff"]["after"]["log_types"] == ["api"]
    assert drifted["diff"]["after"]["public_access_cidrs"] == CIDRS[:1]
    assert cluster() == converged


def test_check_mode_on_a_cluster_not_yet_created_and_the_failure_without_it(moto_eks, capsys):
    checked = run(capsys, check_mode=True)
    assert checked["rc"] == 0 and checked["changed"] is True and checked["cluster"] == {}, checked
    assert checked["diff"]["before"] == {} and checked["diff"]["after"]["name"] == NAME

    failed = run(capsys)
    assert failed["rc"] == 1 and "cluster %s does not exist" % NAME in failed["msg"], failed
    assert "community.aws.eks_cluster" in failed["msg"]


def test_without_emulated_moto_drops_the_subnets(network, capsys):
    """The gap emulated works around (docs/emulator-gaps/aws-network-eks.md): on AWS the update carries only
    the access settings, which moto takes for the whole resourcesVpcConfig."""
    result = run(capsys, emulated=False)
    assert result["rc"] == 0 and result["changed"] is True, result
    vpc = cluster()["resourcesVpcConfig"]
    assert vpc["endpointPublicAccess"] is True and sorted(vpc["publicAccessCidrs"]) == sorted(CIDRS)
    assert not vpc.get("subnetIds") and not vpc.get("securityGroupIds")


def test_logging_and_endpoint_changes_and_what_is_left_alone(network, capsys):
    assert run(capsys)["changed"] is True
    some = run(capsys, log_types=["audit", "api"])
    assert some["changed"] is True and some["diff"]["after"]["log_types"] == ["api", "audit"]
    c = cluster()
    assert enabled_logs(c) == ["api", "audit"]
    disabled = sorted(t for e in c["logging"]["clusterLogging"] if not e["enabled"] for t in e["types"])
    assert disabled == ["authenticator", "controllerManager", "scheduler"]
    # log_types omitted: logging is not compared; secrets_kms_key_arn empty: encryption neither.
    assert run(capsys, log_types=OMIT, secrets_kms_key_arn="")["changed"] is False
    assert enabled_logs(cluster()) == ["api", "audit"] and not cluster().get("encryptionConfig")

    off = run(capsys, log_types=[])
    assert off["changed"] is True and enabled_logs(cluster()) == []

    # Public endpoint off: the allow-list is neither sent nor compared, so a second run changes nothing.
    private = run(capsys, log_types=[], endpoint_public_access=False)
    assert private["rc"] == 0 and private["changed"] is True, private
    vpc = cluster()["resourcesVpcConfig"]
    assert vpc["endpointPublicAccess"] is False and vpc["endpointPrivateAccess"] is True
    assert vpc["subnetIds"] == network["subnets"]
    assert run(capsys, log_types=[], endpoint_public_access=False)["changed"] is False
    assert run(capsys, log_types=[], endpoint_public_access=False, public_access_cidrs=[])["changed"] is False


def test_an_existing_provider_is_adopted_not_recreated(network, capsys):
    issuer = cluster()["identity"]["oidc"]["issuer"]
    arn = iam().create_open_id_connect_provider(
        Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40],
        Tags=[{"Key": "Owner", "Value": "someone"}],
    )["OpenIDConnectProviderArn"]
    other = iam().create_open_id_connect_provider(
        Url="https://oidc.eks.us-east-1.amazonaws.com/id/OTHER", ThumbprintList=["b" * 40],
    )["OpenIDConnectProviderArn"]
    result = run(capsys)
    assert result["rc"] == 0 and result["cluster"]["oidc_provider_arn"] == arn, result
    assert result["diff"]["before"]["oidc_provider"] is True
    assert sorted(providers()) == sorted([arn, other])
    # Its tags are not compared (they are only set on creation).
    tags = iam().list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"]
    assert tags == [{"Key": "Owner", "Value": "someone"}]


def test_another_key_fails_before_any_change(network, key, capsys):
    assert run(capsys, secrets_kms_key_arn=key)["changed"] is True
    converged = cluster()
    other = dummy_client("kms", REGION).create_key(Description="other")["KeyMetadata"]["Arn"]
    for check_mode in (True, False):
        failed = run(capsys, check_mode=check_mode, secrets_kms_key_arn=other, log_types=["api"],
                     public_access_cidrs=CIDRS[:1])
        assert failed["rc"] == 1, failed
        assert "secrets_kms_key_arn" in failed["msg"] and key in failed["msg"], failed["msg"]
        assert "eks_cluster_kms_key_alias" in failed["msg"] and "Nothing was changed" in failed["msg"]
    # The logging and allow-list changes asked for with it were not made either.
    assert cluster() == converged


@pytest.mark.parametrize(
    "params, field",
    [
        (dict(public_access_cidrs=[]), "public_access_cidrs is empty while endpoint_public_access is true"),
        (dict(endpoint_private_access=False, endpoint_public_access=False, public_access_cidrs=[]),
         "endpoint_private_access and endpoint_public_access are both false"),
        (dict(public_access_cidrs=["203.0.113.0/33"]), "public_access_cidrs[0] '203.0.113.0/33'"),
        (dict(public_access_cidrs=["203.0.113.0/24", "203.0.113.5/24"]), "host bits set"),
        (dict(public_access_cidrs=["203.0.113.5"]), "public_access_cidrs[0] '203.0.113.5' has no prefix length"),
        (dict(public_access_cidrs=["2001:db8::/32"]), "is not an IPv4 CIDR block"),
        (dict(public_access_cidrs=["admin-net/24"]), "203.0.113.0/24"),
        (dict(secrets_kms_key_arn="alias/plat-local-eks-secrets"), "secrets_kms_key_arn 'alias/plat-local-eks"),
        (dict(name="-bad name"), "name '-bad name' is not an EKS cluster name"),
        (dict(log_types=["api", "kubelet"]), "log_types"),
        (dict(tags={"aws:owner": "x"}), "tag key 'aws:owner'"),
        (dict(wait_timeout=0), "wait_timeout"),
    ],
)
def test_bad_input_fails_before_any_call(capsys, params, field):
    result = run(capsys, no_aws, **params)
    assert result["rc"] == 1 and field in result["msg"], result["msg"]


# --- Waiting on an update EKS reports InProgress (AWS; moto answers at once), with botocore's Stubber.
NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF"
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABCDEF"


def stub_cluster(status="ACTIVE", key=None):
    body = {
        "name": NAME, "arn": "arn:aws:eks:us-east-1:123456789012:cluster/" + NAME, "status": status,
        "endpoint": "https://ABCDEF.gr7.us-east-1.eks.amazonaws.com", "certificateAuthority": {"data": "Q0E="},
        "identity": {"oidc": {"issuer": ISSUER}},
        "resourcesVpcConfig": {
            "subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"], "clusterSecurityGroupId": "sg-eks",
            "endpointPrivateAccess": True, "endpointPublicAccess": True, "publicAccessCidrs": CIDRS,
        },
        "logging": {"clusterLogging": [{"types": ALL_LOGS, "enabled": True}]},
    }
    if key:
        body["encryptionConfig"] = [{"resources": ["secrets"], "provider": {"keyArn": key}}]
    return {"cluster": body}


def update(status, errors=None):
    return {"update": {"id": "u-1", "status": status, "type": "AssociateEncryptionConfig", "createdAt": NOW,
                       "errors": errors or []}}


@pytest.fixture
def stubbed(monkeypatch):
    monkeypatch.setattr(eks_cluster_settings, "POLL_DELAY", 0)
    clients = {"eks": dummy_client("eks", REGION), "iam": dummy_client("iam", REGION)}
    with Stubber(clients["eks"]) as eks_stub, Stubber(clients["iam"]) as iam_stub:
        iam_stub.add_response("list_open_id_connect_providers", {"OpenIDConnectProviderList": [{"Arn": PROVIDER}]})
        yield clients, eks_stub
        eks_stub.assert_no_pending_responses()
        iam_stub.assert_no_pending_responses()


def test_an_update_in_progress_is_waited_for(stubbed, capsys):
    clients, stub = stubbed
    associate = {"clusterName": NAME, "encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": KEY}}]}
    stub.add_response("describe_cluster", stub_cluster(), {"name": NAME})
    stub.add_response("associate_encryption_config", update("InProgress"), associate)
    stub.add_response("describe_update", update("InProgress"), {"name": NAME, "updateId": "u-1"})
    stub.add_response("describe_update", update("Successful"), {"name": NAME, "updateId": "u-1"})
    stub.add_response("describe_cluster", stub_cluster(key=KEY), {"name": NAME})
    stub.add_response("describe_cluster", stub_cluster(key=KEY), {"name": NAME})
    result = run(capsys, clients.get, secrets_kms_key_arn=KEY, emulated=False)
    assert result["rc"] == 0 and result["changed"] is True, result
    assert result["cluster"]["oidc_provider_arn"] == PROVIDER
    assert result["cluster"]["cluster_security_group_id"] == "sg-eks"


def test_a_failed_update_fails_with_the_reason_of_eks(stubbed, capsys):
    clients, stub = stubbed
    stub.add_response("describe_cluster", stub_cluster(status="UPDATING"), {"name": NAME})
    # Not ACTIVE: the module waits before its first update.
    stub.add_response("describe_cluster", stub_cluster(), {"name": NAME})
    stub.add_response("associate_encryption_config", update("InProgress"))
    stub.add_response("describe_update", update("Failed", [{"errorCode": "AccessDenied",
                                                           "errorMessage": "no kms:CreateGrant"}]))
    result = run(capsys, clients.get, secrets_kms_key_arn=KEY, emulated=False)
    assert result["rc"] == 1, result
    assert "ended Failed: AccessDenied: no kms:CreateGrant" in result["msg"], result["msg"]
