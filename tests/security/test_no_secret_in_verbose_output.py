"""No tenant secret reaches the output of a tenant onboarding, even at -vvv.

Onboards ONE tenant of the local inventory on the shared local platform, exactly as an operator
would (``playbooks/tenants.yml -i inventories/local --limit acme -vvv``; the converge is
idempotent, so re-running it on the demo's tenant changes nothing the demo relies on), then reads
the tenant's generated credentials back from where the role keeps them:

* Secrets Manager (moto): ``<platform>/<environment>/tenants/<tenant>/app`` -> db_password,
  webui_secret_key;
* Kubernetes: the ``open-webui-env`` Secret in ``tenant-<tenant>`` -> WEBUI_SECRET_KEY, the
  password inside DATABASE_URL and, when the platform sets one, the Redis AUTH token inside
  REDIS_URL (the local inventory runs Redis without AUTH, so there is none to find there).

The values must be non-empty (so the test cannot pass vacuously) and must appear nowhere in
stdout or stderr, neither as they are nor base64-encoded as in the Secret's data.
"""

from __future__ import annotations

import base64
import json
import sys
from urllib.parse import unquote, urlsplit

import pytest

from platform_helpers import REPO, recap, run_playbook

sys.path.insert(0, str(REPO / "tests" / "integration"))
from tenant_fixtures import aws, tail

TENANT = "acme"
SECRET_ID = f"llm-saas/local/tenants/{TENANT}/app"
MIN_SECRET_LENGTH = 12  # shorter values could appear in the output by coincidence


def _k8s_secret(kubeconfig: str) -> dict[str, str]:
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    secret = api.read_namespaced_secret("open-webui-env", f"tenant-{TENANT}")
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def _url_password(url: str) -> str:
    return unquote(urlsplit(url).password or "") if url else ""


@pytest.fixture(scope="module")
def onboarding(local_platform: dict[str, str]):
    # Ansible's stock strategy, as an operator or AWX runs it (its -vvv shows every module invocation).
    proc = run_playbook(REPO / "playbooks" / "tenants.yml", "--limit", TENANT, "-vvv", env=local_platform,
                        stock_strategy=True)
    assert proc.returncode == 0, tail(proc)
    assert recap(proc.stdout)[TENANT]["failed"] == 0, tail(proc)
    return proc


def test_no_secret_in_verbose_output(local_platform: dict[str, str], onboarding) -> None:
    stored = json.loads(aws(local_platform, "secretsmanager").get_secret_value(SecretId=SECRET_ID)["SecretString"])
    env = _k8s_secret(local_platform["KUBECONFIG"])
    secrets = {
        "Secrets Manager db_password": stored.get("db_password", ""),
        "Secrets Manager webui_secret_key": stored.get("webui_secret_key", ""),
        "Kubernetes WEBUI_SECRET_KEY": env.get("WEBUI_SECRET_KEY", ""),
        "Kubernetes DATABASE_URL password": _url_password(env.get("DATABASE_URL", "")),
    }
    # Not vacuous: the credentials exist, are long enough to be unmistakable, and the Secret the
    # pods read carries the stored ones.
    for what, value in secrets.items():
        assert len(value) >= MIN_SECRET_LENGTH, f"{what} not found or too short to check"
    assert secrets["Kubernetes WEBUI_SECRET_KEY"] == secrets["Secrets Manager webui_secret_key"]
    assert secrets["Kubernetes DATABASE_URL password"] == secrets["Secrets Manager db_password"]
    redis_token = _url_password(env.get("REDIS_URL", ""))
    if redis_token:
        secrets["Kubernetes REDIS_URL auth token"] = redis_token
    # The Secret manifest carries base64 of each whole value: check those encodings too.
    for key, value in env.items():
        if key in ("DATABASE_URL", "WEBUI_SECRET_KEY", "REDIS_URL", "WEBSOCKET_REDIS_URL", "OAUTH_CLIENT_SECRET"):
            secrets[f"base64 of Kubernetes {key}"] = base64.b64encode(value.encode()).decode()

    output = {"stdout": onboarding.stdout, "stderr": onboarding.stderr}
    # Really verbose: connection details (-vvv only) and module arguments/results are printed.
    assert "ESTABLISH LOCAL CONNECTION" in onboarding.stdout, "not a -vvv run"
    assert f"tenant_{TENANT}_app" in onboarding.stdout, "module arguments and results are not in the output"
    leaks = [f"{what} in {stream}" for what, value in secrets.items() for stream, text in output.items()
             if value and value in text]
    assert not leaks, f"secrets printed by a -vvv onboarding: {leaks}"
