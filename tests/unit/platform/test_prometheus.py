"""Prometheus config, alert rules and Alertmanager config checked with the real promtool/amtool."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from platform_render import REPO

RULE_TESTS = REPO / "roles" / "monitoring" / "files" / "tests" / "alert-rules-test.yml"
EXPECTED_JOBS = {
    "prometheus", "kubernetes-nodes", "kubernetes-cadvisor", "kube-state-metrics", "node-exporter",
    "dcgm", "ollama-sidecar", "openwebui-sidecar",
}

pytestmark = pytest.mark.skipif(not (shutil.which("promtool") and shutil.which("amtool")),
                                reason="promtool/amtool missing: apt-get install prometheus prometheus-alertmanager")


def run(*cmd, cwd=None):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_scrape_jobs_present(rendered):
    config = yaml.safe_load((rendered / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert jobs >= EXPECTED_JOBS


def test_promtool_check_config(rendered, tmp_path):
    """Debian's promtool is built without Kubernetes service discovery, so kubernetes_sd_configs are
    checked here structurally and swapped for static_configs before promtool checks everything else
    (relabelling, rule files, alerting)."""
    config = yaml.safe_load((rendered / "prometheus.yml").read_text())
    for job in config["scrape_configs"]:
        for sd in job.pop("kubernetes_sd_configs", []):
            assert set(sd) <= {"role", "namespaces", "selectors", "attach_metadata"}, job["job_name"]
            assert sd["role"] in {"node", "pod", "service", "endpoints", "endpointslice", "ingress"}
            job.setdefault("static_configs", []).append({"targets": ["placeholder:9100"]})
    (tmp_path / "rules").mkdir()
    shutil.copy(rendered / "alert-rules.yml", tmp_path / "rules" / "alerts.yml")
    config["rule_files"] = [str(tmp_path / "rules" / "*.yml")]
    for job in config["scrape_configs"]:
        for key in ("tls_config", "authorization"):
            job.pop(key, None)  # files that exist only inside a pod
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    code, out = run("promtool", "check", "config", str(tmp_path / "prometheus.yml"))
    assert code == 0, out
    assert "SUCCESS" in out and "1 rule files found" in out


def test_promtool_check_rules(rendered):
    code, out = run("promtool", "check", "rules", str(rendered / "alert-rules.yml"))
    assert code == 0, out
    assert "SUCCESS: 9 rules found" in out


def test_promtool_rule_unit_tests(rendered, tmp_path):
    shutil.copy(RULE_TESTS, tmp_path / "alert-rules-test.yml")
    shutil.copy(rendered / "alert-rules.yml", tmp_path / "alert-rules.yml")
    code, out = run("promtool", "test", "rules", "alert-rules-test.yml", cwd=tmp_path)
    assert code == 0, out


def test_promtool_rule_unit_tests_catch_a_broken_threshold(rendered, tmp_path):
    """The unit tests must depend on the thresholds: a queue limit of 20 makes them fail."""
    rules = (rendered / "alert-rules.yml").read_text()
    assert "> 8" in rules
    (tmp_path / "alert-rules.yml").write_text(rules.replace("> 8", "> 20"))
    shutil.copy(RULE_TESTS, tmp_path / "alert-rules-test.yml")
    code, out = run("promtool", "test", "rules", "alert-rules-test.yml", cwd=tmp_path)
    assert code != 0 and "OllamaQueueSaturated" in out


def test_amtool_check_config(rendered):
    code, out = run("amtool", "check-config", str(rendered / "alertmanager.yml"))
    assert code == 0, out
    assert "3 receivers" in out


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=critical", "alertname=NodeNotReady"], "pagerduty,email"),
        (["severity=warning", "alertname=OllamaQueueSaturated"], "slack,email"),
        (["severity=info", "alertname=Watchdog"], "email"),
    ],
)
def test_amtool_routes(rendered, labels, receivers):
    proc = subprocess.run(
        ["amtool", "config", "routes", "test", "--config.file=%s" % (rendered / "alertmanager.yml"), *labels],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == receivers


def test_receiver_secrets_only_in_secret_objects(rendered):
    """Receiver credentials end up in the Alertmanager Secret, never in a ConfigMap or plain manifest."""
    for path in rendered.glob("*.yaml"):
        if path.name == "monitoring-secrets.yaml":
            continue
        text = path.read_text()
        assert "dummy-routing-key" not in text and "dummy-smtp-password" not in text, path.name
    assert "dummy-routing-key" in (rendered / "alertmanager.yml").read_text()
