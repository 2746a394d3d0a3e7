"""SAML sign-in of a tenant through the tenant role's identity tasks, on a moto server of this module's own.

Tenant acme of inventories/local is given a SAML IdP (extra vars). The role's tasks/main.yml derives the
tenant facts (tenant_state=render touches nothing), then tasks/identity.yml builds the Cognito user pool
and stores the client secret in Secrets Manager, and the playbook renders the tenant's objects. Run three
times (converge, re-run, check mode with --diff: the last two change nothing), then read everything back
with boto3; then tasks/identity_absent.yml removes it all, once. moto has no EKS access entries: those tasks
are skipped on the emulator (tag moto-gap) and proven by tests/unit/plugins/modules/test_eks_access_entry.py.
"""

from __future__ import annotations

import json

import boto3
import pytest
import yaml
from platform_helpers import recap, run_playbook
from private_moto import private_moto
from render_tenant import scratch_playbook

METADATA_URL = "https://idp.acme.example/saml/metadata"
SAML = {"tenant_idp": {"type": "saml", "saml_metadata_url": METADATA_URL}}
PLAYBOOK = """\
- name: SAML sign-in of one tenant
  hosts: acme
  gather_facts: false
  tasks:
    - name: Derive the tenant facts as the role does
      ansible.builtin.include_role:
        name: llm_saas.platform.tenant
        tasks_from: main
        public: true
        rolespec_validate: false
      vars:
        tenant_state: render

    - name: Sign-in
      ansible.builtin.include_role:
        name: llm_saas.platform.tenant
        tasks_from: "{{ identity_tasks }}"
        public: true
        rolespec_validate: false

    - name: Write what Open WebUI gets
      ansible.builtin.copy:
        content: |
          {{ lookup('ansible.builtin.template', 'all.yaml.j2') }}
          ---
          {{ {'kind': 'OidcEnv', 'env': _tenant_oidc_env} | to_nice_yaml }}
        dest: "{{ render_dir }}/acme.yaml"
        mode: "0600"
      no_log: true
      vars:
        _tenant_env_checksum: "0000000000000000"
      when: identity_tasks == 'identity'
"""


@pytest.fixture(scope="module")
def env():
    with private_moto() as endpoint:
        yield {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }


@pytest.fixture(scope="module")
def play(tmp_path_factory):
    work = tmp_path_factory.mktemp("identity")
    return scratch_playbook(work, PLAYBOOK), work


def _run(play, env, tasks, *args):
    path, work = play
    return run_playbook(
        path, *args, "-v", env=env, extra_vars={**SAML, "identity_tasks": tasks, "render_dir": str(work)}
    )


def _client(service, env, region="us-east-1"):
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def converged(play, env):
    runs = [_run(play, env, "identity"), _run(play, env, "identity"), _run(play, env, "identity", "--check", "--diff")]
    for proc in runs:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return runs


def _pool(env):
    idp = _client("cognito-idp", env)
    pools = [p for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == "llm-saas-local-acme"]
    assert len(pools) == 1, pools
    pool_id = pools[0]["Id"]
    app_id = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"][0]["ClientId"]
    return idp, pool_id, idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=app_id)["UserPoolClient"]


def test_saml_tenant_gets_an_mfa_pool_and_a_stored_client_secret(converged, env, play):
    first, second, checked = converged
    assert recap(first.stdout)["acme"]["changed"] >= 3
    assert recap(second.stdout)["acme"]["changed"] == 0, second.stdout[-3000:]
    assert recap(checked.stdout)["acme"]["changed"] == 0, checked.stdout[-3000:]

    idp, pool_id, app = _pool(env)
    assert idp.get_user_pool_mfa_config(UserPoolId=pool_id)["MfaConfiguration"] == "ON"
    provider = idp.describe_identity_provider(UserPoolId=pool_id, ProviderName="saml")["IdentityProvider"]
    assert provider["ProviderDetails"]["MetadataURL"] == METADATA_URL
    assert app["CallbackURLs"] == ["https://acme.llm.localtest.me/oauth/oidc/callback"]
    assert app["SupportedIdentityProviders"] == ["saml"]
    pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["UserPoolTags"]["Tenant"] == "acme" and pool["Domain"] == "llm-saas-local-acme"

    secret_id = "llm-saas/local/tenants/acme/oidc"
    stored = json.loads(_client("secretsmanager", env).get_secret_value(SecretId=secret_id)["SecretString"])
    assert stored["client_secret"] == app["ClientSecret"] and stored["client_id"] == app["ClientId"]
    # Replicated like the tenant's credentials, so the DR region has it.
    replica = _client("secretsmanager", env, "us-west-2").get_secret_value(SecretId=secret_id)["SecretString"]
    assert json.loads(replica)["client_secret"] == app["ClientSecret"]

    # Open WebUI: the pool's discovery URL and client id in the Deployment, the secret only in the Secret.
    docs = [d for d in yaml.safe_load_all((play[1] / "acme.yaml").read_text()) if d]
    deployment = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "open-webui")
    env_vars = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    issuer = "https://cognito-idp.us-east-1.amazonaws.com/" + pool_id
    assert env_vars["OPENID_PROVIDER_URL"] == issuer + "/.well-known/openid-configuration"
    assert env_vars["OAUTH_CLIENT_ID"] == app["ClientId"]
    assert env_vars["OAUTH_SCOPES"] == "openid email profile" and env_vars["OAUTH_GROUP_CLAIM"] == "custom:groups"
    assert "OAUTH_CLIENT_SECRET" not in env_vars
    assert next(d for d in docs if d["kind"] == "OidcEnv")["env"] == {"OAUTH_CLIENT_SECRET": app["ClientSecret"]}
    rendered_objects = yaml.safe_dump_all([d for d in docs if d["kind"] != "OidcEnv"])
    assert app["ClientSecret"] not in rendered_objects
    for proc in converged:
        assert app["ClientSecret"] not in proc.stdout + proc.stderr


def test_offboarding_removes_pool_and_secret_once(converged, env, play):
    _pool(env)
    gone = _run(play, env, "identity_absent")
    assert gone.returncode == 0, gone.stdout[-4000:]
    assert recap(gone.stdout)["acme"]["changed"] >= 2
    idp = _client("cognito-idp", env)
    assert [p for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == "llm-saas-local-acme"] == []
    secret = _client("secretsmanager", env).describe_secret(SecretId="llm-saas/local/tenants/acme/oidc")
    assert "DeletedDate" in secret
    again = _run(play, env, "identity_absent")
    assert again.returncode == 0 and recap(again.stdout)["acme"]["changed"] == 0, again.stdout[-3000:]
