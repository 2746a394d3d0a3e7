"""Grafana dashboards are valid JSON and only use metrics that our scrape jobs produce."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from platform_render import REPO

DASHBOARDS = sorted((REPO / "roles" / "monitoring" / "files" / "dashboards").glob("*.json"))
CATALOG = yaml.safe_load((REPO / "roles" / "monitoring" / "files" / "metric-catalog.yml").read_text())

PROMQL_WORDS = {
    "sum", "avg", "min", "max", "count", "by", "without", "rate", "irate", "increase", "histogram_quantile",
    "max_over_time", "min_over_time", "avg_over_time", "label_values", "ignoring", "on", "group_left",
    "group_right", "and", "or", "unless", "bool", "offset", "changes", "topk", "bottomk", "abs", "time",
}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (identifiers not inside {...}, [...] or quotes, not keywords)."""
    stripped = re.sub(r'"[^"]*"', '""', expr)
    stripped = re.sub(r"\{[^}]*\}", "{}", stripped)
    stripped = re.sub(r"\[[^\]]*\]", "[]", stripped)
    stripped = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", stripped)
    names = set(re.findall(r"(?<![\w$.])([A-Za-z_:][\w:]*)(?=\s*(\{|\[|\)|$|\s|/|\*|>|<|=|\+|-|,))", stripped))
    return {n[0] for n in names} - PROMQL_WORDS - {"le"}


def dashboard_exprs(path: Path):
    data = json.loads(path.read_text())
    for panel in data["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]
    for var in data.get("templating", {}).get("list", []):
        query = var.get("query", {})
        if isinstance(query, dict) and "query" in query:
            yield "variable " + var["name"], query["query"]


def catalog_metrics() -> set[str]:
    return {m for metrics in CATALOG.values() for m in metrics}


def test_metric_name_parser():
    expr = 'sum by (namespace) (rate(envoy_cluster_upstream_rq_total{envoy_cluster_name="x"}[5m])) * 60'
    assert metric_names(expr) == {"envoy_cluster_upstream_rq_total"}
    assert metric_names("DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)") == {
        "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"}
    assert "kube_namespace_labels" in metric_names("label_values(kube_namespace_labels, namespace)")


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_valid_and_provisionable(path):
    data = json.loads(path.read_text())
    assert data["uid"] and data["title"] and data["panels"]
    ids = [p["id"] for p in data["panels"]]
    assert len(ids) == len(set(ids))
    for panel in data["panels"]:
        assert panel["datasource"]["uid"] == "prometheus"
        assert panel["targets"], panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_metrics_are_scraped(path):
    known = catalog_metrics()
    unknown = []
    for title, expr in dashboard_exprs(path):
        names = metric_names(expr) - {"namespace"}
        assert names, (title, expr)
        unknown += ["%s: %s" % (title, n) for n in names - known]
    hint = "metrics not produced by any scrape job (roles/monitoring/files/metric-catalog.yml):\n"
    assert not unknown, hint + "\n".join(unknown)


def test_alert_rules_use_only_scraped_metrics(rendered):
    rules = yaml.safe_load((rendered / "alert-rules.yml").read_text())
    known = catalog_metrics()
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert metric_names(rule["expr"]) <= known, (rule["alert"], metric_names(rule["expr"]) - known)


def test_catalog_jobs_exist_in_prometheus_config(rendered):
    config = yaml.safe_load((rendered / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert set(CATALOG) <= jobs, set(CATALOG) - jobs


def test_per_tenant_dashboard_covers_the_required_usage(rendered):
    data = json.loads((REPO / "roles/monitoring/files/dashboards/tenant-usage.json").read_text())
    titles = " ".join(p["title"].lower() for p in data["panels"])
    for word in ("active users", "api calls", "model requests", "cpu", "gpu", "memory"):
        assert word in titles
    assert data["templating"]["list"][0]["name"] == "tenant"


def test_grafana_datasources(rendered_documents):
    cm = next(d for d in rendered_documents["monitoring"]
              if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "grafana-provisioning")
    types = {d["type"] for d in yaml.safe_load(cm["data"]["datasources.yaml"])["datasources"]}
    assert types == {"prometheus", "elasticsearch", "jaeger", "cloudwatch"}
    dashboards = next(d for d in rendered_documents["monitoring"]
                      if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "grafana-dashboards")
    assert set(dashboards["data"]) == {p.name for p in DASHBOARDS}
