# -*- coding: utf-8 -*-
# Copyright: llm_saas platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument spec, endpoint resolution and module logic shared by the ollama_* modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.llm_saas.platform.plugins.module_utils.ollama_client import (
    InvalidModelName,
    ModelName,
    OllamaClient,
    OllamaError,
    find_model,
    normalize_api_url,
    service_proxy_path,
)

KUBERNETES_IMPORT_ERROR = None
try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException
except ImportError:
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()


def ollama_argument_spec():
    """Connection options for every module in the ``llm_saas.platform.ollama`` action group."""
    return dict(
        api_url=dict(type="str"),
        headers=dict(type="dict", no_log=True),
        validate_certs=dict(type="bool"),
        ca_cert=dict(type="path", aliases=["ssl_ca_cert"]),
        client_cert=dict(type="path", aliases=["cert_file"]),
        client_key=dict(type="path", aliases=["key_file"]),
        request_timeout=dict(type="float", default=30.0),
        service=dict(
            type="dict",
            options=dict(
                namespace=dict(type="str", required=True),
                name=dict(type="str", required=True),
                port=dict(type="str", default="11434"),
            ),
        ),
        kubeconfig=dict(type="raw", fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG"])),
        context=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_CONTEXT"])),
        host=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_HOST"])),
        api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["K8S_AUTH_API_KEY"])),
        username=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_USERNAME"])),
        password=dict(type="str", no_log=True, fallback=(env_fallback, ["K8S_AUTH_PASSWORD"])),
    )


OLLAMA_MUTUALLY_EXCLUSIVE = [("api_url", "service")]
SHOW_FIELDS = ("details", "model_info", "parameters", "template", "capabilities", "license")


def _fail(module, msg, **kwargs):
    module.fail_json(msg=msg, **kwargs)


def _kube_configuration(module):
    """Build a kubernetes.client.Configuration the way kubernetes.core resolves its options."""
    if KUBERNETES_IMPORT_ERROR:
        _fail(module, missing_required_lib("kubernetes", reason="to reach Ollama through 'service'"),
              exception=KUBERNETES_IMPORT_ERROR)
    params = module.params
    cfg = k8s_client.Configuration()
    kubeconfig = params.get("kubeconfig")
    explicit_only = params.get("host") and not kubeconfig and not params.get("context")
    if not explicit_only:
        try:
            if isinstance(kubeconfig, dict):
                k8s_config.load_kube_config_from_dict(kubeconfig, context=params.get("context"),
                                                      client_configuration=cfg, persist_config=False)
            else:
                k8s_config.load_kube_config(config_file=os.path.expanduser(kubeconfig) if kubeconfig else None,
                                            context=params.get("context"), client_configuration=cfg,
                                            persist_config=False)
        except (ConfigException, IOError, OSError) as exc:
            if kubeconfig or params.get("context"):
                _fail(module, "Could not load kubeconfig%s%s: %s. Fix 'kubeconfig'/'context' or set 'host' "
                      "and 'api_key'." % (" %s" % kubeconfig if isinstance(kubeconfig, str) else "",
                                          " context %s" % params["context"] if params.get("context") else "", exc))
            try:
                k8s_config.load_incluster_config(client_configuration=cfg)
            except ConfigException:
                _fail(module, "No Kubernetes credentials found for 'service': no kubeconfig (%s) and not running "
                      "in a pod. Set 'kubeconfig' (or K8S_AUTH_KUBECONFIG/KUBECONFIG) or 'host' and 'api_key'."
                      % exc)
    if params.get("host"):
        cfg.host = params["host"]
    if params.get("api_key"):
        cfg.api_key = {"authorization": "Bearer %s" % params["api_key"]}
        cfg.api_key_prefix = {}
    if params.get("username"):
        cfg.username = params["username"]
    if params.get("password"):
        cfg.password = params["password"]
    if params.get("ca_cert"):
        cfg.ssl_ca_cert = params["ca_cert"]
    if params.get("client_cert"):
        cfg.cert_file = params["client_cert"]
    if params.get("client_key"):
        cfg.key_file = params["client_key"]
    if params.get("validate_certs") is not None:
        cfg.verify_ssl = params["validate_certs"]
    return cfg


def _kube_auth_headers(cfg):
    if cfg.refresh_api_key_hook is not None:
        # exec/oidc credential plugins refresh the token through this hook.
        cfg.refresh_api_key_hook(cfg)
    token = cfg.get_api_key_with_prefix("authorization")
    if token:
        return {"Authorization": token}
    if cfg.username and cfg.password:
        return {"Authorization": cfg.get_basic_auth_token()}
    return {}


def build_client(module):
    """Return an OllamaClient for ``api_url`` (or OLLAMA_HOST) or for a service via the API server proxy."""
    params = module.params
    headers = dict(params.get("headers") or {})
    service = params.get("service")
    if service:
        cfg = _kube_configuration(module)
        if not cfg.host:
            _fail(module, "The Kubernetes configuration has no API server address; set 'host' or 'kubeconfig'.")
        kube_headers = _kube_auth_headers(cfg)
        kube_headers.update(headers)
        target = "service %s/%s:%s via %s" % (service["namespace"], service["name"], service["port"],
                                              cfg.host.rstrip("/"))
        return OllamaClient(
            cfg.host.rstrip("/") + service_proxy_path(service["namespace"], service["name"], service["port"]),
            headers=kube_headers, validate_certs=bool(cfg.verify_ssl), ca_path=cfg.ssl_ca_cert,
            client_cert=cfg.cert_file, client_key=cfg.key_file, request_timeout=params["request_timeout"],
            target=target, **_read_retries(params))
    raw_url = params.get("api_url")
    source = "api_url"
    if not raw_url and os.environ.get("OLLAMA_HOST"):
        raw_url, source = os.environ["OLLAMA_HOST"], "OLLAMA_HOST"
    try:
        url = normalize_api_url(raw_url)
    except ValueError as exc:
        _fail(module, "Invalid %s: %s (example: http://ollama.tenant-a.svc:11434)" % (source, exc))
    validate = params.get("validate_certs")
    return OllamaClient(url, headers=headers, validate_certs=True if validate is None else validate,
                        ca_path=params.get("ca_cert"), client_cert=params.get("client_cert"),
                        client_key=params.get("client_key"), request_timeout=params["request_timeout"],
                        **_read_retries(params))


def _read_retries(params):
    """The module's retries/retry_delay also cover reads (ollama_model_info has neither: defaults)."""
    out = {}
    if params.get("retries") is not None:
        out["retries"] = params["retries"]
    if params.get("retry_delay") is not None:
        out["retry_delay"] = params["retry_delay"]
    return out


def parse_model_name(module, name, field="name"):
    try:
        return ModelName.parse(name)
    except InvalidModelName as exc:
        _fail(module, "Invalid '%s': %s" % (field, exc))


def model_result(entry, model_name=None):
    """Stable subset of a /api/tags entry returned to users."""
    if entry is None:
        return {"name": model_name.display} if model_name is not None else {}
    details = entry.get("details") or {}
    return {
        "name": entry.get("name") or entry.get("model"),
        "digest": entry.get("digest"),
        "size": entry.get("size"),
        "modified_at": entry.get("modified_at"),
        "details": {
            "format": details.get("format"),
            "family": details.get("family"),
            "families": details.get("families"),
            "parameter_size": details.get("parameter_size"),
            "quantization_level": details.get("quantization_level"),
        },
    }


def _names(models):
    return sorted(m.get("name") or m.get("model") for m in models)


def coerce_keep_alive(value):
    """Ollama takes a number of seconds or a Go duration string ('5m', '1h', '-1' = forever)."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text


def run_ollama_model(module):
    params = module.params
    started = time.monotonic()
    model_name = parse_model_name(module, params["name"])
    for field in ("retries",):
        if params[field] < 0:
            _fail(module, "'%s' must be 0 or greater, got %s" % (field, params[field]))
    for field in ("retry_delay", "timeout", "idle_timeout"):
        if params[field] <= 0 and not (field == "retry_delay" and params[field] == 0):
            _fail(module, "'%s' must be greater than 0, got %s" % (field, params[field]))
    if params["keep_alive"] is not None and not params["preload"]:
        module.warn("'keep_alive' only applies with 'preload: true'; it is ignored")
    client = build_client(module)
    state = params["state"]
    result = {"changed": False, "pull_status": [], "target": client.target}
    name = model_name.display

    def finish(**extra):
        result.update(extra)
        result["elapsed"] = round(time.monotonic() - started, 3)
        module.exit_json(**result)

    try:
        before_models = client.list_models()
        before = find_model(before_models, model_name)
        if state == "absent":
            if before is not None:
                result["changed"] = True
                if not module.check_mode:
                    client.delete(name)
            after_names = [n for n in _names(before_models) if before is None or n != before.get("name")]
            if module._diff:
                result["diff"] = {"before": {"models": _names(before_models)}, "after": {"models": after_names}}
            finish(model=model_result(before, model_name), state="absent")

        need_pull = before is None or state == "latest"
        after = before
        after_models = before_models
        if need_pull and module.check_mode:
            # Without pulling we cannot know whether the registry has a newer digest.
            result["changed"] = before is None
            if before is None:
                result["msg"] = "model %s would be pulled" % name
            else:
                result["msg"] = "check mode: whether a newer %s exists is only known by pulling" % name
        elif need_pull:
            progress = client.pull(
                name, insecure=params["insecure"], retries=params["retries"], retry_delay=params["retry_delay"],
                timeout=params["timeout"], idle_timeout=params["idle_timeout"],
                on_retry=lambda attempt, wait, exc: module.warn(
                    "pull of %s interrupted (%s); retry %d in %.1fs" % (name, exc.message, attempt, wait)))
            result["pull_status"] = list(progress.statuses)
            after_models = client.list_models()
            after = find_model(after_models, model_name)
            if after is None:
                _fail(module, "Ollama at %s reported success pulling %s but does not list it in /api/tags"
                      % (client.target, name), pull_status=result["pull_status"])
            result["changed"] = before is None or before.get("digest") != after.get("digest")
        if params["preload"] and not module.check_mode:
            client.load(name, coerce_keep_alive(params["keep_alive"]))
            result["preloaded"] = True
        else:
            result["preloaded"] = False
        if module._diff:
            after_names = _names(after_models)
            if module.check_mode and before is None:
                after_names = sorted([*after_names, name])
            result["diff"] = {"before": {"models": _names(before_models)}, "after": {"models": after_names}}
        finish(model=model_result(after, model_name), state=state)
    except OllamaError as exc:
        result["elapsed"] = round(time.monotonic() - started, 3)
        module.fail_json(msg=exc.message, **result)


def run_ollama_model_info(module):
    params = module.params
    wanted = [parse_model_name(module, n, "names") for n in (params.get("names") or [])]
    client = build_client(module)
    try:
        version = client.version()
        models = client.list_models()
        if wanted:
            keys = set(n.key for n in wanted)
            models = [m for m in models if _key_or_none(m) in keys]
        out = []
        for entry in models:
            item = model_result(entry)
            if params["details"]:
                show = client.show(item["name"])
                item["show"] = dict((k, show[k]) for k in SHOW_FIELDS if k in show)
            out.append(item)
        running = []
        if params["running"]:
            for entry in client.running_models():
                if wanted and _key_or_none(entry) not in set(n.key for n in wanted):
                    continue
                running.append({
                    "name": entry.get("name") or entry.get("model"),
                    "digest": entry.get("digest"),
                    "size": entry.get("size"),
                    "size_vram": entry.get("size_vram"),
                    "expires_at": entry.get("expires_at"),
                    "details": model_result(entry)["details"],
                })
    except OllamaError as exc:
        module.fail_json(msg=exc.message, target=client.target)
    module.exit_json(changed=False, version=version, models=out, running=running, target=client.target)


def _key_or_none(entry):
    try:
        return ModelName.parse(entry.get("name") or entry.get("model") or "").key
    except InvalidModelName:
        return None
