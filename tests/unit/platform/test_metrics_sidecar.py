"""The Envoy metrics sidecar the tenant role puts beside Ollama and Open WebUI."""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml

# The sidecar must listen on every pod address (it is the Service endpoint).
ALL_INTERFACES = "0.0.0.0"  # noqa: S104

TARGETS = {
    "ollama": {"listen": 11434, "upstream": 11435, "metrics_port_name": "ollama-metrics"},
    "open_webui": {"listen": 8080, "upstream": 8081, "metrics_port_name": "webui-metrics"},
}


@pytest.fixture(scope="module")
def bootstraps(rendered):
    cm = yaml.safe_load((rendered / "sidecar-configmap.yaml").read_text())
    kubernetes_validate.validate(cm, "1.32.0", strict=True)
    assert cm["metadata"]["namespace"] == "tenant-acme"
    return {key: yaml.safe_load(value) for key, value in cm["data"].items()}


def _listener(bootstrap, name):
    return next(item for item in bootstrap["static_resources"]["listeners"] if item["name"] == name)


def _hcm(listener):
    return listener["filter_chains"][0]["filters"][0]["typed_config"]


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_proxy_fronts_the_app_on_the_service_port(bootstraps, target):
    spec = TARGETS[target]
    boot = bootstraps["envoy-%s.yaml" % target]
    listener = _listener(boot, target)
    assert listener["address"]["socket_address"] == {"address": ALL_INTERFACES, "port_value": spec["listen"]}
    cluster = next(c for c in boot["static_resources"]["clusters"] if c["name"] == target)
    endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert endpoint == {"address": "127.0.0.1", "port_value": spec["upstream"]}
    hcm = _hcm(listener)
    # stat_prefix and cluster name are what the Prometheus series and HPA metrics select on.
    assert hcm["stat_prefix"] == target
    route = hcm["route_config"]["virtual_hosts"][0]["routes"][0]["route"]
    assert route["timeout"] == "0s" and hcm["request_timeout"] == "0s", "streaming must not be cut off"
    assert route["idle_timeout"] == "600s"


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_admin_is_loopback_and_only_metrics_and_ready_are_exposed(bootstraps, target):
    boot = bootstraps["envoy-%s.yaml" % target]
    assert boot["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    metrics = _listener(boot, "metrics")
    assert metrics["address"]["socket_address"] == {"address": ALL_INTERFACES, "port_value": 9901}
    routes = _hcm(metrics)["route_config"]["virtual_hosts"][0]["routes"]
    assert sorted(r["match"]["path"] for r in routes) == ["/ready", "/stats/prometheus"]
    assert all(set(r["match"]) == {"path"} for r in routes), "no prefix matches onto the admin API"


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_container_entry_is_valid_and_restricted(rendered, target):
    containers = yaml.safe_load((rendered / ("sidecar-container-%s.yml" % target)).read_text())
    assert isinstance(containers, list) and len(containers) == 1
    container = containers[0]
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "tenant-acme"},
        "spec": {"containers": containers,
                 "volumes": [{"name": "ollama-metrics-sidecar", "configMap": {"name": "ollama-metrics-sidecar"}}]},
    }
    kubernetes_validate.validate(pod, "1.32.0", strict=True)
    sc = container["securityContext"]
    # Pod Security Standard "restricted", container level.
    assert sc["runAsNonRoot"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"]
    assert sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert container["resources"]["limits"] and container["resources"]["requests"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports[TARGETS[target]["metrics_port_name"]] == 9901
    assert TARGETS[target]["listen"] in ports.values()
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert "--config-path" in container["args"] and "/etc/envoy/envoy-%s.yaml" % target in container["args"]


def test_scrape_jobs_select_the_sidecar_ports(rendered):
    config = yaml.safe_load((rendered / "prometheus.yml").read_text())
    keep = {}
    for job in config["scrape_configs"]:
        for rule in job.get("relabel_configs", []):
            if rule.get("source_labels") == ["__meta_kubernetes_pod_container_port_name"]:
                keep[job["job_name"]] = (rule["regex"], job["metrics_path"])
    assert keep == {"ollama-sidecar": ("ollama-metrics", "/stats/prometheus"),
                    "openwebui-sidecar": ("webui-metrics", "/stats/prometheus")}


def test_adapter_exposes_the_contracted_metric_names(rendered_documents):
    cm = next(d for d in rendered_documents["autoscaling-manifests"]
              if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "prometheus-adapter-config")
    rules = yaml.safe_load(cm["data"]["config.yaml"])["rules"]
    by_name = {r["name"]["as"]: r for r in rules}
    assert set(by_name) == {"ollama_requests_per_minute", "ollama_queue_depth",
                            "openwebui_requests_per_minute", "openwebui_queue_depth"}
    assert "* 60" in by_name["ollama_requests_per_minute"]["metricsQuery"]
    assert 'envoy_cluster_name="open_webui"' in by_name["openwebui_queue_depth"]["metricsQuery"]
    for rule in rules:
        assert rule["resources"]["overrides"] == {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
