# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of llm_saas.platform.cognito_saml_federation (Cognito user pool federating a SAML IdP for OIDC)."""

from __future__ import annotations

try:
    import botocore
except ImportError:
    botocore = None  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import desired_tags
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import not_found
from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import tag_changes

# Cognito (JSON protocol) throttles with TooManyRequestsException and answers
# ConcurrentModificationException while another change of the same pool is in flight; neither is in
# jittered_backoff's default list.
COGNITO_RETRY = AWSRetry.jittered_backoff(
    retries=10,
    catch_extra_error_codes=["TooManyRequestsException", "ConcurrentModificationException", "InternalErrorException"],
)

DEFAULT_ATTRIBUTE_MAPPING = {
    "email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "custom:groups": "http://schemas.xmlsoap.org/claims/Group",
}
# Cognito adds this mapping to some providers on its own; it is not drift.
IMPLICIT_MAPPING_KEYS = {"username"}
CUSTOM_PREFIX = "custom:"
# Read-only or create-only fields of DescribeUserPoolClient that UpdateUserPoolClient does not take.
_UPDATE_CLIENT_OP = "UpdateUserPoolClient"

ARGUMENT_SPEC = dict(
    pool_name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    provider_name=dict(type="str", default="saml"),
    saml_metadata_url=dict(type="str"),
    attribute_mapping=dict(type="dict"),
    client_name=dict(type="str", default="open-webui"),
    callback_urls=dict(type="list", elements="str"),
    logout_urls=dict(type="list", elements="str"),
    oauth_scopes=dict(type="list", elements="str", default=["openid", "email", "profile"]),
    domain=dict(type="str"),
    return_client_secret=dict(type="bool", default=False),
    tags=dict(type="dict", aliases=["resource_tags"]),
    purge_tags=dict(type="bool", default=True),
)

REQUIRED_IF = [("state", "present", ["saml_metadata_url", "callback_urls", "domain"])]


def validate(module):
    """Fail on bad input before any AWS call; return the attribute mapping to apply."""
    p = module.params
    mapping = dict(DEFAULT_ATTRIBUTE_MAPPING if p["attribute_mapping"] is None else p["attribute_mapping"])
    if p["state"] == "absent":
        return mapping
    if not p["saml_metadata_url"].startswith("https://"):
        module.fail_json(
            msg="saml_metadata_url must be an https:// URL (got {0!r}); Cognito fetches the IdP metadata "
            "from it".format(p["saml_metadata_url"])
        )
    for url in p["callback_urls"]:
        if not url.startswith("https://"):
            module.fail_json(
                msg="callback_urls: {0!r} must be an https:// URL (Cognito refuses http callbacks "
                "except for localhost)".format(url)
            )
    domain = p["domain"]
    # Cognito's rule for prefix domains: lower-case letters, digits and hyphens, and no reserved words.
    if not (1 <= len(domain) <= 63 and all(c.islower() or c.isdigit() or c == "-" for c in domain)) or any(
        word in domain for word in ("aws", "amazon", "cognito")
    ):
        module.fail_json(
            msg="domain {0!r} is not a valid Cognito hosted-UI prefix: use 1-63 lower-case letters, digits and "
            "'-', without the words aws, amazon or cognito".format(domain)
        )
    if not 1 <= len(p["provider_name"]) <= 32:
        module.fail_json(msg="provider_name must be 1 to 32 characters (got {0!r})".format(p["provider_name"]))
    if "openid" not in p["oauth_scopes"]:
        module.fail_json(msg="oauth_scopes must include openid: Open WebUI signs in through OIDC")
    return mapping


def _paginate(call, key, **kwargs):
    items = []
    while True:
        page = COGNITO_RETRY(call)(**kwargs)
        items.extend(page.get(key, []))
        if not page.get("NextToken"):
            return items
        kwargs["NextToken"] = page["NextToken"]


def find_pool(module, client):
    """Return the pool (DescribeUserPool) named pool_name, or None; fail when the name is ambiguous."""
    name = module.params["pool_name"]
    matches = [
        pool["Id"] for pool in _paginate(client.list_user_pools, "UserPools", MaxResults=60) if pool["Name"] == name
    ]
    if len(matches) > 1:
        module.fail_json(
            msg="{0} user pools are named {1} ({2}); this module manages pools by name: delete the extra pools".format(
                len(matches), name, ", ".join(matches)
            )
        )
    if not matches:
        return None
    return COGNITO_RETRY(client.describe_user_pool)(UserPoolId=matches[0])["UserPool"]


def _provider(client, pool_id, name):
    try:
        return COGNITO_RETRY(client.describe_identity_provider)(UserPoolId=pool_id, ProviderName=name)[
            "IdentityProvider"
        ]
    except botocore.exceptions.ClientError as e:
        if not_found(e):
            return None
        raise


def _app_client(module, client, pool_id):
    name = module.params["client_name"]
    ids = [
        c["ClientId"]
        for c in _paginate(client.list_user_pool_clients, "UserPoolClients", UserPoolId=pool_id, MaxResults=60)
        if c["ClientName"] == name
    ]
    if len(ids) > 1:
        module.fail_json(
            msg="user pool {0} has {1} app clients named {2}; delete the extra ones".format(pool_id, len(ids), name)
        )
    if not ids:
        return None
    return COGNITO_RETRY(client.describe_user_pool_client)(UserPoolId=pool_id, ClientId=ids[0])["UserPoolClient"]


def _mfa(client, pool_id):
    answer = COGNITO_RETRY(client.get_user_pool_mfa_config)(UserPoolId=pool_id)
    return {
        "mfa_configuration": answer.get("MfaConfiguration", "OFF"),
        "software_token": bool((answer.get("SoftwareTokenMfaConfiguration") or {}).get("Enabled")),
    }


def _mapping_differs(current, wanted):
    current = current or {}
    extra = set(current) - set(wanted) - IMPLICIT_MAPPING_KEYS
    return bool(extra) or any(current.get(k) != v for k, v in wanted.items())


def _client_view(app):
    if not app:
        return {}
    return {
        "client_name": app.get("ClientName"),
        "callback_urls": sorted(app.get("CallbackURLs") or []),
        "logout_urls": sorted(app.get("LogoutURLs") or []),
        "allowed_oauth_flows": sorted(app.get("AllowedOAuthFlows") or []),
        "allowed_oauth_scopes": sorted(app.get("AllowedOAuthScopes") or []),
        "supported_identity_providers": sorted(app.get("SupportedIdentityProviders") or []),
        "allowed_oauth_flows_user_pool_client": bool(app.get("AllowedOAuthFlowsUserPoolClient")),
        "has_secret": bool(app.get("ClientSecret")),
    }


def _wanted_client(module):
    p = module.params
    return {
        "client_name": p["client_name"],
        "callback_urls": sorted(p["callback_urls"]),
        "logout_urls": sorted(p["logout_urls"] or []),
        "allowed_oauth_flows": ["code"],
        "allowed_oauth_scopes": sorted(p["oauth_scopes"]),
        "supported_identity_providers": [p["provider_name"]],
        "allowed_oauth_flows_user_pool_client": True,
        "has_secret": True,
    }


def _client_request(module):
    p = module.params
    request = dict(
        ClientName=p["client_name"],
        CallbackURLs=p["callback_urls"],
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=p["oauth_scopes"],
        SupportedIdentityProviders=[p["provider_name"]],
        AllowedOAuthFlowsUserPoolClient=True,
    )
    if p["logout_urls"]:
        request["LogoutURLs"] = p["logout_urls"]
    return request


def _view(pool, mfa, provider, app):
    if not pool:
        return {}
    return {
        "pool_name": pool.get("Name"),
        "mfa": mfa,
        "tags": pool.get("UserPoolTags") or {},
        "custom_attributes": sorted(
            a["Name"] for a in pool.get("SchemaAttributes") or [] if a["Name"].startswith(CUSTOM_PREFIX)
        ),
        "provider": {
            "name": provider.get("ProviderName"),
            "type": provider.get("ProviderType"),
            "metadata_url": (provider.get("ProviderDetails") or {}).get("MetadataURL"),
            "attribute_mapping": provider.get("AttributeMapping") or {},
        }
        if provider
        else {},
        "client": _client_view(app),
        "domain": pool.get("Domain"),
    }


def _wanted_view(module, mapping, current_pool):
    p = module.params
    current_custom = (
        []
        if not current_pool
        else [a["Name"] for a in current_pool.get("SchemaAttributes") or [] if a["Name"].startswith(CUSTOM_PREFIX)]
    )
    current_tags = (current_pool or {}).get("UserPoolTags")
    return {
        "pool_name": p["pool_name"],
        "mfa": {"mfa_configuration": "ON", "software_token": True},
        "tags": desired_tags(current_tags, p["tags"], purge=p["purge_tags"]) if current_pool else (p["tags"] or {}),
        # Custom attributes cannot be removed from a pool: the wanted set only grows.
        "custom_attributes": sorted(set(current_custom) | {k for k in mapping if k.startswith(CUSTOM_PREFIX)}),
        "provider": {
            "name": p["provider_name"],
            "type": "SAML",
            "metadata_url": p["saml_metadata_url"],
            "attribute_mapping": mapping,
        },
        "client": _wanted_client(module),
        "domain": p["domain"],
    }


def _custom_attribute(name):
    # Mutable: Cognito rewrites mapped attributes at every federated sign-in.
    return {
        "Name": name[len(CUSTOM_PREFIX) :],
        "AttributeDataType": "String",
        "Mutable": True,
        "StringAttributeConstraints": {"MinLength": "0", "MaxLength": "2048"},
    }


def _update_client(module, client, pool_id, app):
    """UpdateUserPoolClient resets every field it is not given: send the current ones with ours over them."""
    allowed = client.meta.service_model.operation_model(_UPDATE_CLIENT_OP).input_shape.members
    request = {k: v for k, v in app.items() if k in allowed}
    request.update(_client_request(module))
    request.update(UserPoolId=pool_id, ClientId=app["ClientId"])
    if not module.params["logout_urls"]:
        request.pop("LogoutURLs", None)
    COGNITO_RETRY(client.update_user_pool_client)(**request)


def ensure_present(module, client, pool, mapping):
    p = module.params
    changed = False
    if pool is None:
        changed = True
        after = _wanted_view(module, mapping, None)
        if module.check_mode:
            return True, None, None, {}, after
        request = dict(
            PoolName=p["pool_name"],
            # Users arrive through the SAML IdP only: nobody signs up to the pool itself.
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
            Schema=[_custom_attribute(k) for k in sorted(mapping) if k.startswith(CUSTOM_PREFIX)],
        )
        if p["tags"]:
            request["UserPoolTags"] = p["tags"]
        if not request["Schema"]:
            request.pop("Schema")
        pool = COGNITO_RETRY(client.create_user_pool)(**request)["UserPool"]
        before = {}
        mfa, provider, app = {"mfa_configuration": "OFF", "software_token": False}, None, None
    else:
        mfa = _mfa(client, pool["Id"])
        provider = _provider(client, pool["Id"], p["provider_name"])
        app = _app_client(module, client, pool["Id"])
        before = _view(pool, mfa, provider, app)
        after = _wanted_view(module, mapping, pool)
    pool_id = pool["Id"]

    if provider and provider.get("ProviderType") != "SAML":
        module.fail_json(
            msg="identity provider {0} of pool {1} is of type {2}, not SAML: choose another "
            "provider_name or delete that provider".format(p["provider_name"], pool_id, provider.get("ProviderType"))
        )
    if app and not app.get("ClientSecret"):
        module.fail_json(
            msg="app client {0} of pool {1} has no client secret, and Cognito cannot add one: "
            "delete the app client and run again (a new one with a secret is created)".format(p["client_name"], pool_id)
        )

    # Tags: the describe call returns them, so compare there and change them with the tagging API
    # (UpdateUserPool would reset every pool setting it is not given).
    to_set, to_remove = tag_changes(pool.get("UserPoolTags"), p["tags"], p["purge_tags"]) if before else ({}, [])
    if to_set or to_remove:
        changed = True
        if not module.check_mode:
            if to_remove:
                COGNITO_RETRY(client.untag_resource)(ResourceArn=pool["Arn"], TagKeys=to_remove)
            if to_set:
                COGNITO_RETRY(client.tag_resource)(ResourceArn=pool["Arn"], Tags=to_set)

    missing_attributes = sorted(
        set(after["custom_attributes"]) - set(before.get("custom_attributes", after["custom_attributes"]))
    )
    if missing_attributes:
        changed = True
        if not module.check_mode:
            COGNITO_RETRY(client.add_custom_attributes)(
                UserPoolId=pool_id, CustomAttributes=[_custom_attribute(k) for k in missing_attributes]
            )

    if mfa != after["mfa"]:
        changed = True
        if not module.check_mode:
            COGNITO_RETRY(client.set_user_pool_mfa_config)(
                UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="ON"
            )

    details = {"MetadataURL": p["saml_metadata_url"]}
    if provider is None:
        changed = True
        if not module.check_mode:
            COGNITO_RETRY(client.create_identity_provider)(
                UserPoolId=pool_id,
                ProviderName=p["provider_name"],
                ProviderType="SAML",
                ProviderDetails=details,
                AttributeMapping=mapping,
            )
    elif (provider.get("ProviderDetails") or {}).get("MetadataURL") != p["saml_metadata_url"] or _mapping_differs(
        provider.get("AttributeMapping"), mapping
    ):
        changed = True
        if not module.check_mode:
            COGNITO_RETRY(client.update_identity_provider)(
                UserPoolId=pool_id, ProviderName=p["provider_name"], ProviderDetails=details, AttributeMapping=mapping
            )

    if app is None:
        changed = True
        if not module.check_mode:
            app = COGNITO_RETRY(client.create_user_pool_client)(
                UserPoolId=pool_id, GenerateSecret=True, **_client_request(module)
            )["UserPoolClient"]
    elif _client_view(app) != after["client"]:
        changed = True
        if not module.check_mode:
            _update_client(module, client, pool_id, app)

    if pool.get("Domain") != p["domain"]:
        changed = True
        if not module.check_mode:
            owner = COGNITO_RETRY(client.describe_user_pool_domain)(Domain=p["domain"]).get("DomainDescription") or {}
            if owner.get("UserPoolId") and owner["UserPoolId"] != pool_id:
                module.fail_json(
                    msg="hosted-UI domain {0} belongs to user pool {1}; domains are unique per region: "
                    "choose another domain".format(p["domain"], owner["UserPoolId"])
                )
            if pool.get("Domain"):
                # A pool has one prefix domain: the old one goes first.
                COGNITO_RETRY(client.delete_user_pool_domain)(UserPoolId=pool_id, Domain=pool["Domain"])
            if not owner.get("UserPoolId"):
                COGNITO_RETRY(client.create_user_pool_domain)(UserPoolId=pool_id, Domain=p["domain"])

    if changed and not module.check_mode:
        pool = COGNITO_RETRY(client.describe_user_pool)(UserPoolId=pool_id)["UserPool"]
        app = _app_client(module, client, pool_id)
    return changed, pool, app, before, after


def ensure_absent(module, client, pool):
    if pool is None:
        return False, {}
    pool_id = pool["Id"]
    before = _view(
        pool,
        _mfa(client, pool_id),
        _provider(client, pool_id, module.params["provider_name"]),
        _app_client(module, client, pool_id),
    )
    if not module.check_mode:
        # Cognito refuses to delete a pool that still has a domain; clients and providers go with the pool.
        for domain in (pool.get("Domain"), pool.get("CustomDomain")):
            if domain:
                COGNITO_RETRY(client.delete_user_pool_domain)(UserPoolId=pool_id, Domain=domain)
        COGNITO_RETRY(client.delete_user_pool)(UserPoolId=pool_id)
    return True, before


def _result(module, pool, app):
    p = module.params
    if not pool:
        return dict(user_pool={}, issuer_url=None, discovery_url=None, client_id=None, hosted_ui_url=None)
    issuer = "https://cognito-idp.{0}.amazonaws.com/{1}".format(module.region, pool["Id"])
    result = dict(
        user_pool=dict(id=pool["Id"], arn=pool.get("Arn"), name=pool.get("Name")),
        issuer_url=issuer,
        discovery_url=issuer + "/.well-known/openid-configuration",
        client_id=(app or {}).get("ClientId"),
        hosted_ui_url="https://{0}.auth.{1}.amazoncognito.com".format(pool["Domain"], module.region)
        if pool.get("Domain")
        else None,
    )
    if p["return_client_secret"] and app:
        result["client_secret"] = app.get("ClientSecret")
    return result


def main():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)
    mapping = validate(module)
    client = module.client("cognito-idp", retry_decorator=COGNITO_RETRY)
    app = None
    try:
        pool = find_pool(module, client)
        if module.params["state"] == "present":
            changed, pool, app, before, after = ensure_present(module, client, pool, mapping)
        else:
            changed, before = ensure_absent(module, client, pool)
            pool, after = None, {}
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to manage Cognito user pool {0}".format(module.params["pool_name"]))
    result = dict(changed=changed, **_result(module, pool, app))
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)
