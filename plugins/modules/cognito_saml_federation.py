#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cognito_saml_federation
short_description: Federate a SAML identity provider for one OIDC client through a Cognito user pool
version_added: 0.5.0
description:
  - Keeps one Amazon Cognito user pool (found by name) that federates one SAML 2.0 identity provider
    and serves one OIDC app client (authorization-code flow, with a client secret) through a hosted-UI
    prefix domain, so an application that speaks only OIDC can sign in users of a SAML IdP.
  - The pool requires MFA (C(MfaConfiguration=ON), software token). Users of the SAML IdP authenticate
    at their IdP, which enforces its own MFA; the pool's requirement covers any user created in the pool.
  - Nobody can sign up to the pool itself (C(AllowAdminCreateUserOnly)).
  - Each part is compared and only what differs is changed; custom attributes named in
    O(attribute_mapping) are added to the pool (Cognito cannot remove them).
  - Exists because neither amazon.aws nor community.aws has a Cognito user pool module.
  - Supports check mode and diff mode; a second run with the same arguments changes nothing.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  pool_name:
    description: Name of the user pool; the module manages the one pool of that name in the region.
    type: str
    required: true
  state:
    description:
      - Whether the pool should exist.
      - V(absent) deletes its domain and the pool (with its clients and providers).
    type: str
    default: present
    choices: [present, absent]
  provider_name:
    description: Name of the SAML identity provider in the pool (1 to 32 characters).
    type: str
    default: saml
  saml_metadata_url:
    description: HTTPS URL of the SAML IdP's metadata document. Required when O(state=present).
    type: str
  attribute_mapping:
    description:
      - Pool attribute to SAML attribute name. Keys starting with C(custom:) are created as mutable
        string attributes of the pool.
      - Defaults to e-mail from C(http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress) and
        C(custom:groups) from C(http://schemas.xmlsoap.org/claims/Group).
    type: dict
  client_name:
    description: Name of the app client.
    type: str
    default: open-webui
  callback_urls:
    description: HTTPS redirect URLs of the app client (compared as a set). Required when O(state=present).
    type: list
    elements: str
  logout_urls:
    description: Sign-out URLs of the app client (compared as a set).
    type: list
    elements: str
  oauth_scopes:
    description: OAuth scopes the client may request; must include C(openid).
    type: list
    elements: str
    default: [openid, email, profile]
  domain:
    description:
      - Hosted-UI prefix domain (C(<domain>.auth.<region>.amazoncognito.com)), unique in the region.
        Required when O(state=present).
    type: str
  return_client_secret:
    description:
      - Return the app client's secret as RV(client_secret). Set it only on a task with C(no_log=true).
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Federate the tenant's SAML IdP for Open WebUI
  llm_saas.platform.cognito_saml_federation:
    pool_name: llm-saas-production-acme
    saml_metadata_url: https://idp.acme.example/saml/metadata
    callback_urls: [https://acme.llm.example.com/oauth/oidc/callback]
    domain: llm-saas-production-acme
    return_client_secret: true
    tags:
      Tenant: acme
  register: federation
  no_log: true

- name: Remove the pool at offboarding
  llm_saas.platform.cognito_saml_federation:
    pool_name: llm-saas-production-acme
    state: absent
"""

RETURN = r"""
user_pool:
  description: The pool (empty when absent or not yet created in check mode).
  returned: always
  type: dict
  contains:
    id:
      description: Pool id.
      type: str
      sample: us-east-1_AbCdEf123
    arn:
      description: Pool ARN.
      type: str
    name:
      description: Pool name.
      type: str
issuer_url:
  description: OIDC issuer of the pool.
  returned: always
  type: str
  sample: https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123
discovery_url:
  description: OIDC discovery document of the pool (what Open WebUI's C(OPENID_PROVIDER_URL) takes).
  returned: always
  type: str
client_id:
  description: Id of the app client.
  returned: always
  type: str
hosted_ui_url:
  description: Base URL of the pool's hosted UI.
  returned: always
  type: str
  sample: https://llm-saas-production-acme.auth.us-east-1.amazoncognito.com
client_secret:
  description: Secret of the app client. Sensitive.
  returned: when O(return_client_secret=true) and the client exists
  type: str
"""

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.cognito_saml_federation import main


if __name__ == "__main__":
    main()
