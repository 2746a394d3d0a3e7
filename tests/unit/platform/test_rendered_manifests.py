"""Every rendered platform manifest is valid for the pinned Kubernetes version (strict schemas).

Core kinds go through kubernetes-validate (strict: unknown fields refused); custom resources are
validated against the openAPIV3Schema of the CRD we ship for them.
"""

from __future__ import annotations

import jsonschema
import kubernetes_validate
import pytest

from platform_render import REPO, render

K8S_VERSION = "1.32.0"
# The emulator pins the same version; keep them in step.
EMULATOR_SCHEMA = REPO / "tests" / "local_platform" / "k8s_emulator" / "schema.py"


def _all_documents(rendered_documents):
    for source, docs in rendered_documents.items():
        for doc in docs:
            yield source, doc


def _crd_schemas(rendered_documents):
    schemas = {}
    for _, doc in _all_documents(rendered_documents):
        if doc["kind"] == "CustomResourceDefinition":
            group = doc["spec"]["group"]
            for version in doc["spec"]["versions"]:
                key = ("%s/%s" % (group, version["name"]), doc["spec"]["names"]["kind"])
                schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


def test_pinned_version_matches_emulator():
    assert 'K8S_VERSION = "%s"' % K8S_VERSION.rsplit(".", 1)[0] in EMULATOR_SCHEMA.read_text()


def test_every_role_rendered(rendered_documents):
    assert {"gpu", "storage", "monitoring", "logging", "tracing"} <= set(rendered_documents)
    assert "autoscaling-manifests" in rendered_documents and "ingress-manifests" in rendered_documents


def test_manifests_pass_strict_schema_validation(rendered_documents):
    crds = _crd_schemas(rendered_documents)
    failures = []
    count = 0
    for source, doc in _all_documents(rendered_documents):
        count += 1
        key = (doc["apiVersion"], doc["kind"])
        try:
            if key in crds:
                jsonschema.validate(doc, crds[key])
            else:
                kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except Exception as exc:  # collect all failures, not just the first
            failures.append("%s: %s/%s: %s" % (source, doc["kind"], doc["metadata"].get("name"), str(exc)[:400]))
    assert not failures, "\n".join(failures)
    assert count > 60


def test_strict_validation_refuses_unknown_fields():
    """Guard against a validator that silently accepts anything."""
    bad = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "x"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
                 "spec": {"containers": [{"name": "c", "image": "i", "tolerance": []}]}}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def _find(rendered_documents, kind, name):
    for _, doc in _all_documents(rendered_documents):
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError("%s %s not rendered" % (kind, name))


def test_gpu_device_plugin_spec(rendered_documents):
    ds = _find(rendered_documents, "DaemonSet", "nvidia-device-plugin")
    pod = ds["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "system-node-critical"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert {"key": "CriticalAddonsOnly", "operator": "Exists"} in pod["tolerations"]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert any(e["key"] == "llm-saas.io/accelerator" for t in terms for e in t["matchExpressions"])
    image = pod["containers"][0]["image"]
    assert image.startswith("nvcr.io/nvidia/k8s-device-plugin:v0.")
    assert tuple(int(p) for p in image.rsplit(":v", 1)[1].split(".")[:2]) >= (0, 17)
    assert "--config-file=/etc/nvidia-device-plugin/config.yaml" in pod["containers"][0]["args"]
    config = _find(rendered_documents, "ConfigMap", "nvidia-device-plugin-config")["data"]["config.yaml"]
    assert "failRequestsGreaterThanOne: true" in config and "replicas: 4" in config


def test_cluster_autoscaler_flags(rendered_documents):
    dep = _find(rendered_documents, "Deployment", "cluster-autoscaler")
    command = dep["spec"]["template"]["spec"]["containers"][0]["command"]
    discovery = "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/"
    assert discovery + "llm-saas-test" in command
    assert "--expander=priority,least-waste" in command
    assert any(flag.startswith("--scale-down-gpu-utilization-threshold=") for flag in command)
    priorities = _find(rendered_documents, "ConfigMap", "cluster-autoscaler-priority-expander")["data"]["priorities"]
    import yaml

    parsed = yaml.safe_load(priorities)
    top = max(parsed)
    assert any("spot" in p and "gpu" in p for p in parsed[top])


def test_image_registry_override_reaches_every_image(tmp_path):
    out = render(tmp_path / "mirror", {"platform_image_registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com"})
    import yaml

    images = []
    for path in out.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or "spec" not in doc:
                continue
            template = doc["spec"].get("template", {}).get("spec", {})
            for container in template.get("containers", []) + template.get("initContainers", []):
                images.append(container["image"])
    assert len(images) >= 12
    assert all(i.startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/") for i in images), images
    assert all(":" in i.rsplit("/", 1)[1] and not i.endswith(":latest") for i in images)
