"""Unit tests of llm_saas.platform.cognito_saml_federation.

moto 5.2.5 implements the user pool, MFA config, custom attributes, identity provider, app client (with
its generated secret) and domain calls, so creation, re-run, drift, check mode and deletion run against
moto in process. It has no Cognito TagResource/UntagResource: tag drift is driven against botocore's
Stubber, which validates every request and response against the real Cognito service model.
"""

from __future__ import annotations

from functools import partial

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from aws_module_harness import dummy_client, no_aws, run_aws_module  # first: puts .collections on sys.path
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import cognito_saml_federation

CALLBACK = "https://acme.llm.example.com/oauth/oidc/callback"
TENANT = {
    "pool_name": "llm-saas-local-acme",
    "saml_metadata_url": "https://idp.acme.example/saml/metadata",
    "callback_urls": [CALLBACK],
    "domain": "llm-saas-local-acme",
    "tags": {"Platform": "llm-saas", "Tenant": "acme"},
}


run = partial(run_aws_module, cognito_saml_federation.main)


@pytest.fixture
def idp():
    with mock_aws():
        yield dummy_client("cognito-idp")


def _only_pool(idp):
    pools = idp.list_user_pools(MaxResults=60)["UserPools"]
    assert len(pools) == 1, pools
    return idp.describe_user_pool(UserPoolId=pools[0]["Id"])["UserPool"]


def test_creates_the_federation_then_changes_nothing(idp, capsys):
    created = run(capsys, return_client_secret=True, **TENANT)
    assert created["rc"] == 0 and created["changed"] is True, created
    pool = _only_pool(idp)
    pool_id = pool["Id"]
    assert created["issuer_url"] == "https://cognito-idp.us-east-1.amazonaws.com/" + pool_id
    assert created["discovery_url"] == created["issuer_url"] + "/.well-known/openid-configuration"
    assert created["hosted_ui_url"] == "https://llm-saas-local-acme.auth.us-east-1.amazoncognito.com"
    assert pool["UserPoolTags"] == TENANT["tags"] and pool["Domain"] == "llm-saas-local-acme"
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert "custom:groups" in {a["Name"] for a in pool["SchemaAttributes"]}
    mfa = idp.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert mfa["MfaConfiguration"] == "ON" and mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    provider = idp.describe_identity_provider(UserPoolId=pool_id, ProviderName="saml")["IdentityProvider"]
    assert provider["ProviderType"] == "SAML"
    assert provider["ProviderDetails"]["MetadataURL"] == TENANT["saml_metadata_url"]
    assert provider["AttributeMapping"] == cognito_saml_federation.DEFAULT_ATTRIBUTE_MAPPING
    app = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=created["client_id"])["UserPoolClient"]
    assert app["ClientName"] == "open-webui" and app["CallbackURLs"] == [CALLBACK]
    assert app["AllowedOAuthFlows"] == ["code"] and app["AllowedOAuthFlowsUserPoolClient"] is True
    assert sorted(app["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    assert app["SupportedIdentityProviders"] == ["saml"]
    assert created["client_secret"] == app["ClientSecret"] and app["ClientSecret"]

    again = run(capsys, **TENANT)
    assert again["changed"] is False and again["client_id"] == created["client_id"]
    assert again["diff"]["before"] == again["diff"]["after"]
    # The secret leaves the module only when asked for.
    assert "client_secret" not in again
    checked = run(capsys, check_mode=True, **TENANT)
    assert checked["changed"] is False


def test_check_mode_creates_nothing(idp, capsys):
    result = run(capsys, check_mode=True, **TENANT)
    assert result["changed"] is True and result["user_pool"] == {} and result["issuer_url"] is None
    assert result["diff"]["after"]["mfa"] == {"mfa_configuration": "ON", "software_token": True}
    assert idp.list_user_pools(MaxResults=60)["UserPools"] == []


def test_drift_is_put_back_and_check_mode_only_reports_it(idp, capsys):
    created = run(capsys, **TENANT)
    pool_id = created["user_pool"]["id"]
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="OFF")
    idp.update_identity_provider(
        UserPoolId=pool_id,
        ProviderName="saml",
        ProviderDetails={"MetadataURL": "https://old.example/metadata"},
        AttributeMapping={"email": "mail"},
    )
    idp.update_user_pool_client(
        UserPoolId=pool_id,
        ClientId=created["client_id"],
        ClientName="open-webui",
        CallbackURLs=["https://evil.example/cb"],
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid"],
        SupportedIdentityProviders=["saml"],
        AllowedOAuthFlowsUserPoolClient=True,
        RefreshTokenValidity=7,
    )

    checked = run(capsys, check_mode=True, **TENANT)
    assert checked["changed"] is True
    before, after = checked["diff"]["before"], checked["diff"]["after"]
    assert before["mfa"]["mfa_configuration"] == "OFF" and after["mfa"]["mfa_configuration"] == "ON"
    assert before["client"]["callback_urls"] == ["https://evil.example/cb"] and after["client"]["callback_urls"] == [
        CALLBACK
    ]
    assert idp.get_user_pool_mfa_config(UserPoolId=pool_id)["MfaConfiguration"] == "OFF"

    fixed = run(capsys, **TENANT)
    assert fixed["changed"] is True and fixed["client_id"] == created["client_id"]
    assert idp.get_user_pool_mfa_config(UserPoolId=pool_id)["MfaConfiguration"] == "ON"
    provider = idp.describe_identity_provider(UserPoolId=pool_id, ProviderName="saml")["IdentityProvider"]
    assert provider["ProviderDetails"]["MetadataURL"] == TENANT["saml_metadata_url"]
    assert provider["AttributeMapping"] == cognito_saml_federation.DEFAULT_ATTRIBUTE_MAPPING
    app = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=created["client_id"])["UserPoolClient"]
    assert app["CallbackURLs"] == [CALLBACK] and sorted(app["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    # Settings the module does not manage survive its update (UpdateUserPoolClient resets what it is not given).
    assert app["RefreshTokenValidity"] == 7
    assert run(capsys, **TENANT)["changed"] is False


def test_new_domain_replaces_the_old_one(idp, capsys):
    run(capsys, **TENANT)
    moved = run(capsys, **{**TENANT, "domain": "llm-saas-local-acme-2"})
    assert moved["changed"] is True
    assert _only_pool(idp)["Domain"] == "llm-saas-local-acme-2"
    assert idp.describe_user_pool_domain(Domain="llm-saas-local-acme")["DomainDescription"] == {}


def test_absent_deletes_the_pool_once(idp, capsys):
    run(capsys, **TENANT)
    assert run(capsys, check_mode=True, pool_name=TENANT["pool_name"], state="absent")["changed"] is True
    assert len(idp.list_user_pools(MaxResults=60)["UserPools"]) == 1
    gone = run(capsys, pool_name=TENANT["pool_name"], state="absent")
    assert gone["changed"] is True and gone["diff"]["before"]["domain"] == "llm-saas-local-acme"
    assert idp.list_user_pools(MaxResults=60)["UserPools"] == []
    assert idp.describe_user_pool_domain(Domain="llm-saas-local-acme")["DomainDescription"] == {}
    assert run(capsys, pool_name=TENANT["pool_name"], state="absent")["changed"] is False


def test_two_pools_of_the_same_name_fail(idp, capsys):
    idp.create_user_pool(PoolName=TENANT["pool_name"])
    idp.create_user_pool(PoolName=TENANT["pool_name"])
    result = run(capsys, **TENANT)
    assert result["rc"] == 1 and "2 user pools are named llm-saas-local-acme" in result["msg"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"saml_metadata_url": "http://idp.acme.example/metadata"}, "saml_metadata_url must be an https:// URL"),
        ({"callback_urls": ["http://acme.example/cb"]}, "callback_urls"),
        ({"domain": "Acme_Corp"}, "domain 'Acme_Corp' is not a valid Cognito hosted-UI prefix"),
        ({"domain": "acme-cognito"}, "without the words aws, amazon or cognito"),
        ({"oauth_scopes": ["email"]}, "oauth_scopes must include openid"),
        ({"saml_metadata_url": None}, "saml_metadata_url"),
    ],
)
def test_bad_input_fails_before_any_call(capsys, override, message):
    params = {k: v for k, v in dict(TENANT, **override).items() if v is not None}
    result = run(capsys, no_aws, **params)
    assert result["rc"] == 1 and message in result["msg"], result["msg"]


def test_tag_drift_is_fixed_with_tag_calls(capsys):
    """Stubber: moto has no Cognito TagResource/UntagResource."""
    idp = dummy_client("cognito-idp", "eu-west-1")
    pool_id = "eu-west-1_Abc123"
    arn = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/" + pool_id
    pool = {
        "Id": pool_id,
        "Name": TENANT["pool_name"],
        "Arn": arn,
        "Domain": TENANT["domain"],
        "UserPoolTags": {"Platform": "old", "Stray": "x"},
        "SchemaAttributes": [{"Name": "custom:groups", "AttributeDataType": "String"}],
    }
    app = {
        "UserPoolId": pool_id,
        "ClientId": "c1c1c1c1",
        "ClientName": "open-webui",
        "ClientSecret": "s3cr3t-s3cr3t-s3cr3t-s3cr3t",
        "CallbackURLs": [CALLBACK],
        "AllowedOAuthFlows": ["code"],
        "AllowedOAuthScopes": ["profile", "openid", "email"],
        "SupportedIdentityProviders": ["saml"],
        "AllowedOAuthFlowsUserPoolClient": True,
    }
    provider = {
        "UserPoolId": pool_id,
        "ProviderName": "saml",
        "ProviderType": "SAML",
        "ProviderDetails": {"MetadataURL": TENANT["saml_metadata_url"], "SSORedirectBindingURI": "https://idp/sso"},
        "AttributeMapping": dict(cognito_saml_federation.DEFAULT_ATTRIBUTE_MAPPING, username="sub"),
    }
    with Stubber(idp) as stub:
        stub.add_response(
            "list_user_pools", {"UserPools": [{"Id": pool_id, "Name": TENANT["pool_name"]}]}, {"MaxResults": 60}
        )
        stub.add_response("describe_user_pool", {"UserPool": pool}, {"UserPoolId": pool_id})
        stub.add_response(
            "get_user_pool_mfa_config",
            {"MfaConfiguration": "ON", "SoftwareTokenMfaConfiguration": {"Enabled": True}},
            {"UserPoolId": pool_id},
        )
        stub.add_response(
            "describe_identity_provider",
            {"IdentityProvider": provider},
            {"UserPoolId": pool_id, "ProviderName": "saml"},
        )
        stub.add_response(
            "list_user_pool_clients",
            {"UserPoolClients": [{"ClientId": "c1c1c1c1", "ClientName": "open-webui"}]},
            {"UserPoolId": pool_id, "MaxResults": 60},
        )
        stub.add_response(
            "describe_user_pool_client", {"UserPoolClient": app}, {"UserPoolId": pool_id, "ClientId": "c1c1c1c1"}
        )
        stub.add_response("untag_resource", {}, {"ResourceArn": arn, "TagKeys": ["Stray"]})
        stub.add_response("tag_resource", {}, {"ResourceArn": arn, "Tags": {"Platform": "llm-saas", "Tenant": "acme"}})
        stub.add_response(
            "describe_user_pool", {"UserPool": dict(pool, UserPoolTags=TENANT["tags"])}, {"UserPoolId": pool_id}
        )
        stub.add_response(
            "list_user_pool_clients",
            {"UserPoolClients": [{"ClientId": "c1c1c1c1", "ClientName": "open-webui"}]},
            {"UserPoolId": pool_id, "MaxResults": 60},
        )
        stub.add_response(
            "describe_user_pool_client", {"UserPoolClient": app}, {"UserPoolId": pool_id, "ClientId": "c1c1c1c1"}
        )
        result = run(capsys, {"cognito-idp": idp}.get, region="eu-west-1", **TENANT)
        stub.assert_no_pending_responses()
    # Cognito's own additions (the fetched SSO endpoint, username=sub) are not drift: only the tags changed.
    assert result["changed"] is True, result
    assert result["diff"]["before"]["tags"] == {"Platform": "old", "Stray": "x"}
    assert result["diff"]["after"]["tags"] == TENANT["tags"]
    assert result["issuer_url"] == "https://cognito-idp.eu-west-1.amazonaws.com/" + pool_id
