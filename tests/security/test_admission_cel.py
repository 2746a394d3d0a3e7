"""The tenant admission policy's CEL, evaluated for real with cel-python.

The Kubernetes emulator stores ValidatingAdmissionPolicies but does not enforce them, so this test is
the proof: every expression of the policy that roles/admission_policy renders runs against

* every pod the tenant role renders (acme on the standard tier, initech on premium with GPUs), as the
  Deployment, the ReplicaSet its controller writes and the Pod that ReplicaSet creates -> admitted;
* hostile pods and pod templates -> each refused by exactly the validations it breaks, with the
  message the API server would return.

The evaluator follows the API server's order: matchConstraints.resourceRules, then the binding's
namespaceSelector, then `variables` (in order, each visible to the later ones as `variables.<name>`),
then each validation; a failed validation reports its messageExpression, or its message when the
messageExpression cannot be evaluated. A CEL runtime error in an admitted pod fails the test, because
with failurePolicy Fail the API server would refuse that pod.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass, field

import celpy
import kubernetes_validate
import pytest
from celpy import celtypes
from render_tenant import render_admission_policy, render_tenants

K8S_VERSION = "1.32.0"
MIRROR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

# Which validation is which: a phrase unique to each validation's static message.
VALIDATIONS = {
    "tenant-label": "must carry the label llm-saas.io/tenant",
    "registry": "must come from an allowed registry",
    "pinned": "must be pinned",
    "privileged": "privileged containers are not allowed",
    "host-namespaces": "hostNetwork, hostPID and hostIPC",
    "hostpath": "hostPath volumes are not allowed",
    "limits": "resources.limits.cpu and resources.limits.memory",
}

RESOURCES = {
    ("v1", "Pod"): ("", "pods"),
    ("apps/v1", "Deployment"): ("apps", "deployments"),
    ("apps/v1", "ReplicaSet"): ("apps", "replicasets"),
    ("apps/v1", "StatefulSet"): ("apps", "statefulsets"),
    ("apps/v1", "DaemonSet"): ("apps", "daemonsets"),
    ("batch/v1", "Job"): ("batch", "jobs"),
    ("batch/v1", "CronJob"): ("batch", "cronjobs"),
}


@dataclass
class Verdict:
    refused: dict[str, str] = field(default_factory=dict)  # validation key -> message
    errors: list[str] = field(default_factory=list)


class AdmissionPolicy:
    """A ValidatingAdmissionPolicy + binding, compiled with cel-python."""

    def __init__(self, policy: dict, binding: dict):
        self.policy, self.binding = policy, binding
        self.env = celpy.Environment()
        spec = policy["spec"]
        self.variables = [(v["name"], self._compile(v["expression"])) for v in spec.get("variables", [])]
        self.validations = []
        for v in spec["validations"]:
            keys = [k for k, phrase in VALIDATIONS.items() if phrase in v["message"]]
            assert len(keys) == 1, "validation %r must match exactly one known phrase" % v["message"]
            message_program = self._compile(v["messageExpression"]) if v.get("messageExpression") else None
            self.validations.append((keys[0], self._compile(v["expression"]), v["message"], message_program))

    def _compile(self, expression: str):
        return self.env.program(self.env.compile(expression))

    def matches(self, obj: dict, namespace: dict, operation: str = "CREATE", subresource: str = "") -> bool:
        group, resource = RESOURCES[(obj["apiVersion"], obj["kind"])]
        version = obj["apiVersion"].rsplit("/", 1)[-1]
        name = resource + ("/" + subresource if subresource else "")
        rule_hit = any(
            group in r["apiGroups"]
            and version in r["apiVersions"]
            and operation in r["operations"]
            and name in r["resources"]
            for r in self.policy["spec"]["matchConstraints"]["resourceRules"]
        )
        selector = self.binding["spec"]["matchResources"]["namespaceSelector"]
        labels = namespace["metadata"].get("labels", {})
        ns_hit = all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
        for expr in selector.get("matchExpressions", []):
            assert expr["operator"] == "Exists", "evaluator knows only Exists"
            ns_hit = ns_hit and expr["key"] in labels
        return rule_hit and ns_hit

    def evaluate(self, obj: dict, namespace: dict) -> Verdict:
        verdict = Verdict()
        activation = {
            "object": celpy.json_to_cel(obj),
            "oldObject": None,
            "namespaceObject": celpy.json_to_cel(namespace),
        }
        computed = celtypes.MapType({})
        for name, program in self.variables:
            try:
                value = program.evaluate({**activation, "variables": computed})
            except celpy.CELEvalError as exc:
                verdict.errors.append("variable %s: %s" % (name, exc.args[0] if exc.args else exc))
                return verdict
            if isinstance(value, celpy.CELEvalError):
                verdict.errors.append("variable %s: %s" % (name, value))
                return verdict
            computed[celtypes.StringType(name)] = value
        activation["variables"] = computed
        for key, program, message, message_program in self.validations:
            try:
                result = program.evaluate(activation)
            except celpy.CELEvalError as exc:
                verdict.errors.append("%s: %s" % (key, exc))
                continue
            if isinstance(result, celpy.CELEvalError):
                verdict.errors.append("%s: %s" % (key, result))
                continue
            if not bool(result):
                text = message
                if message_program is not None:
                    with contextlib.suppress(celpy.CELEvalError):
                        text = str(message_program.evaluate(activation))
                verdict.refused[key] = text
        return verdict

    def admit(self, obj: dict, namespace: dict) -> Verdict:
        if not self.matches(obj, namespace):
            return Verdict()
        return self.evaluate(obj, namespace)


# --- rendering (through ansible, once per session) ---------------------------------------------------


@pytest.fixture(scope="session")
def rendered_policy(tmp_path_factory):
    return render_admission_policy(tmp_path_factory.mktemp("policy"))


@pytest.fixture(scope="session")
def policy(rendered_policy) -> AdmissionPolicy:
    return AdmissionPolicy(*rendered_policy)


@pytest.fixture(scope="session")
def tenants(tmp_path_factory) -> dict[str, list[dict]]:
    return render_tenants(tmp_path_factory.mktemp("tenants"))


def _namespace(docs: list[dict]) -> dict:
    return next(d for d in docs if d["kind"] == "Namespace")


def _workload_variants(docs: list[dict]):
    """Each rendered workload, plus the ReplicaSet and Pod its controllers would create from it."""
    ns = _namespace(docs)["metadata"]["name"]
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"):
            continue
        yield doc
        template = doc["spec"]["template"]
        if doc["kind"] == "Deployment":
            rs = copy.deepcopy(doc)
            rs["kind"] = "ReplicaSet"
            rs["metadata"]["name"] += "-5d4f8c7b9"
            rs["spec"].pop("strategy", None)
            rs["spec"].pop("revisionHistoryLimit", None)
            yield rs
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": dict(
                copy.deepcopy(template["metadata"]), name=doc["metadata"]["name"] + "-x7k2p", namespace=ns
            ),
            "spec": copy.deepcopy(template["spec"]),
        }
        yield pod


# --- the policy itself -------------------------------------------------------------------------------


def test_policy_and_binding_pass_strict_schema(rendered_policy):
    for doc in rendered_policy:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_binding_denies_in_tenant_namespaces_only(rendered_policy):
    policy, binding = rendered_policy
    assert policy["apiVersion"] == binding["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert policy["spec"]["failurePolicy"] == "Fail"
    selector = binding["spec"]["matchResources"]["namespaceSelector"]
    assert selector["matchLabels"] == {"app.kubernetes.io/part-of": "llm-saas"}
    assert selector["matchExpressions"] == [{"key": "llm-saas.io/tenant", "operator": "Exists"}]
    resources = {
        (g, r)
        for rule in policy["spec"]["matchConstraints"]["resourceRules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
    }
    assert set(RESOURCES.values()) <= resources and ("", "pods/ephemeralcontainers") in resources


def test_every_validation_is_known(policy):
    assert sorted(k for k, *_ in policy.validations) == sorted(VALIDATIONS)


def test_default_allow_list_is_the_pinned_upstream_registries(rendered_policy):
    foreign = next(v for v in rendered_policy[0]["spec"]["variables"] if v["name"] == "foreignImages")
    assert '["docker.io", "ghcr.io"]' in foreign["expression"]


# --- everything we render is admitted ----------------------------------------------------------------


def test_every_rendered_tenant_pod_is_admitted(policy, tenants):
    checked = 0
    for tenant, docs in tenants.items():
        namespace = _namespace(docs)
        for obj in _workload_variants(docs):
            assert policy.matches(obj, namespace), "%s %s not matched by the policy" % (
                obj["kind"],
                obj["metadata"]["name"],
            )
            verdict = policy.evaluate(obj, namespace)
            assert not verdict.errors, (tenant, obj["kind"], obj["metadata"]["name"], verdict.errors)
            assert not verdict.refused, (tenant, obj["kind"], obj["metadata"]["name"], verdict.refused)
            checked += 1
    # acme: open-webui + ollama-standard; initech adds ollama-premium (GPU); x3 (Deployment, ReplicaSet, Pod).
    assert checked == (2 + 3) * 3


def test_mirrored_tenants_are_admitted_and_upstream_refused(tmp_path):
    mirror_vars = {"platform_image_registry": MIRROR}
    mirrored = AdmissionPolicy(*render_admission_policy(tmp_path / "policy", mirror_vars))
    tenants = render_tenants(tmp_path / "tenants", ("acme",), mirror_vars)
    upstream = render_tenants(tmp_path / "upstream", ("acme",))
    namespace = _namespace(tenants["acme"])
    for obj in _workload_variants(tenants["acme"]):
        verdict = mirrored.admit(obj, namespace)
        assert not verdict.errors and not verdict.refused, (obj["metadata"]["name"], verdict)
    for obj in _workload_variants(upstream["acme"]):
        verdict = mirrored.admit(obj, namespace)
        assert set(verdict.refused) == {"registry"}, verdict
        assert "outside the allowed registries (%s)" % MIRROR in verdict.refused["registry"]


# --- hostile pods ------------------------------------------------------------------------------------

GOOD_IMAGE = "docker.io/ollama/ollama:0.12.6"
LIMITS = {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}


def _container(name="app", image=GOOD_IMAGE, **extra):
    return {"name": name, "image": image, "resources": copy.deepcopy(LIMITS), **extra}


def _pod(tenant="acme", containers=None, labels=None, **spec):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "hostile",
            "namespace": "tenant-" + tenant,
            "labels": {"llm-saas.io/tenant": tenant} if labels is None else labels,
        },
        "spec": {"containers": containers or [_container()], **spec},
    }


def _workload(kind, pod):
    api = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    template = {"metadata": pod["metadata"] | {"name": None}, "spec": pod["spec"]}
    template["metadata"].pop("name")
    template["metadata"].pop("namespace")
    spec = {"selector": {"matchLabels": template["metadata"]["labels"]}, "template": template}
    if kind == "Job":
        spec = {"template": template | {"spec": template["spec"] | {"restartPolicy": "Never"}}}
    if kind == "CronJob":
        spec = {
            "schedule": "*/5 * * * *",
            "jobTemplate": {"spec": {"template": template | {"spec": template["spec"] | {"restartPolicy": "Never"}}}},
        }
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": "hostile", "namespace": pod["metadata"]["namespace"]},
        "spec": spec,
    }


def _without_limit(resource):
    c = _container()
    del c["resources"]["limits"][resource]
    return c


def _ephemeral_debug_pod():
    pod = _pod()
    pod["spec"]["ephemeralContainers"] = [
        {"name": "debugger", "image": "docker.io/library/busybox:1.37", "stdin": True}
    ]
    return pod


HOSTILE = {
    # kind of attack: (object, validations that must refuse it, phrase in the message)
    "privileged": (
        _pod(containers=[_container(securityContext={"privileged": True})]),
        {"privileged"},
        "container app is privileged",
    ),
    "hostNetwork": (_pod(hostNetwork=True), {"host-namespaces"}, "hostNetwork, hostPID and hostIPC"),
    "hostPID": (_pod(hostPID=True), {"host-namespaces"}, "hostNetwork, hostPID and hostIPC"),
    "hostIPC": (_pod(hostIPC=True), {"host-namespaces"}, "hostNetwork, hostPID and hostIPC"),
    "hostPath": (
        _pod(volumes=[{"name": "root", "hostPath": {"path": "/"}}]),
        {"hostpath"},
        "volume root is a hostPath volume",
    ),
    "latest-tag": (
        _pod(containers=[_container(image="docker.io/ollama/ollama:latest")]),
        {"pinned"},
        "(docker.io/ollama/ollama:latest) is not pinned",
    ),
    "tagless": (
        _pod(containers=[_container(image="docker.io/ollama/ollama")]),
        {"pinned"},
        "(docker.io/ollama/ollama) is not pinned",
    ),
    "foreign-registry": (
        _pod(containers=[_container(image="quay.io/evil/miner:1.0")]),
        {"registry"},
        "(quay.io/evil/miner:1.0) uses an image outside",
    ),
    "registry-lookalike": (
        _pod(containers=[_container(image="docker.io.evil.example/ollama/ollama:0.12.6")]),
        {"registry"},
        "outside the allowed registries",
    ),
    "implicit-docker-hub": (
        _pod(containers=[_container(image="ollama/ollama:0.12.6")]),
        {"registry"},
        "(ollama/ollama:0.12.6) uses an image outside",
    ),
    "no-resources": (
        _pod(containers=[{"name": "app", "image": GOOD_IMAGE}]),
        {"limits"},
        "container app lacks resources.limits",
    ),
    "no-cpu-limit": (_pod(containers=[_without_limit("cpu")]), {"limits"}, "container app lacks resources.limits"),
    "no-memory-limit": (
        _pod(containers=[_without_limit("memory")]),
        {"limits"},
        "container app lacks resources.limits",
    ),
    "no-tenant-label": (_pod(labels={"app": "x"}), {"tenant-label"}, "must carry the label llm-saas.io/tenant=acme"),
    "no-labels-at-all": (_pod(labels={}), {"tenant-label"}, "must carry the label llm-saas.io/tenant=acme"),
    "other-tenants-label": (
        _pod(labels={"llm-saas.io/tenant": "initech"}),
        {"tenant-label"},
        "llm-saas.io/tenant=acme",
    ),
    "init-container-latest": (
        _pod(initContainers=[_container(name="init", image="docker.io/library/busybox:latest")]),
        {"pinned"},
        "container init (docker.io/library/busybox:latest)",
    ),
    "init-container-unlimited": (
        _pod(initContainers=[{"name": "init", "image": "docker.io/library/busybox:1.37"}]),
        {"limits"},
        "container init lacks",
    ),
    "ephemeral-debug-container": (_ephemeral_debug_pod(), {"limits"}, "container debugger lacks"),
    "deployment-privileged": (
        _workload("Deployment", _pod(containers=[_container(securityContext={"privileged": True})])),
        {"privileged"},
        "container app is privileged",
    ),
    "statefulset-hostpath": (
        _workload("StatefulSet", _pod(volumes=[{"name": "docker-sock", "hostPath": {"path": "/var/run/docker.sock"}}])),
        {"hostpath"},
        "volume docker-sock",
    ),
    "daemonset-hostnetwork": (_workload("DaemonSet", _pod(hostNetwork=True)), {"host-namespaces"}, "hostNetwork"),
    "job-foreign-registry": (
        _workload("Job", _pod(containers=[_container(image="evil.example.com/x:1")])),
        {"registry"},
        "evil.example.com/x:1",
    ),
    "cronjob-unlabelled-unlimited": (
        _workload("CronJob", _pod(labels={}, containers=[{"name": "app", "image": GOOD_IMAGE}])),
        {"tenant-label", "limits"},
        "lacks",
    ),
    "everything-at-once": (
        _pod(
            labels={},
            hostPID=True,
            volumes=[{"name": "h", "hostPath": {"path": "/etc"}}],
            containers=[{"name": "x", "image": "quay.io/x/y:latest", "securityContext": {"privileged": True}}],
        ),
        set(VALIDATIONS),
        "",
    ),
}


@pytest.fixture(scope="session")
def acme_namespace(tenants):
    return _namespace(tenants["acme"])


@pytest.mark.parametrize("attack", sorted(HOSTILE))
def test_hostile_object_is_refused(policy, acme_namespace, attack):
    obj, expected, phrase = HOSTILE[attack]
    subresource = "ephemeralcontainers" if "ephemeralContainers" in obj.get("spec", {}) else ""
    assert policy.matches(obj, acme_namespace, "UPDATE" if subresource else "CREATE", subresource)
    verdict = policy.evaluate(obj, acme_namespace)
    assert not verdict.errors, verdict.errors
    assert set(verdict.refused) == expected, verdict.refused
    assert all(phrase in message for message in verdict.refused.values() if len(expected) == 1)
    if len(expected) > 1 and phrase:
        assert any(phrase in message for message in verdict.refused.values())


def test_at_least_ten_kinds_and_every_validation_exercised():
    assert len(HOSTILE) >= 10
    singles = {next(iter(expected)) for _, expected, _ in HOSTILE.values() if len(expected) == 1}
    assert singles == set(VALIDATIONS)


def test_the_same_pod_is_admitted_once_fixed(policy, acme_namespace):
    """Guard against a policy that refuses everything: the hostile pods' clean base passes."""
    for obj in (_pod(), _workload("Deployment", _pod()), _workload("CronJob", _pod())):
        verdict = policy.admit(obj, acme_namespace)
        assert not verdict.errors and not verdict.refused, verdict


def test_non_tenant_namespaces_are_not_bound(policy):
    monitoring = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "monitoring", "labels": {"app.kubernetes.io/part-of": "llm-saas"}},
    }
    assert not policy.matches(_pod(hostNetwork=True), monitoring)
    foreign = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "x", "labels": {"llm-saas.io/tenant": "x"}},
    }
    assert not policy.matches(_pod(hostNetwork=True), foreign)


def test_delete_is_not_intercepted(policy, acme_namespace):
    assert not policy.matches(_pod(hostNetwork=True), acme_namespace, operation="DELETE")


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("docker.io/ollama/ollama:0.12.6", True),
        ("ghcr.io/open-webui/open-webui:v0.6.33", True),
        ("docker.io/library/postgres:15.14-alpine", True),
        ("registry.local:5000/team/app", False),
        ("registry.local:5000/team/app:1.2", True),
        ("docker.io/ollama/ollama@sha256:" + "a" * 64, True),
        ("docker.io/ollama/ollama:latest@sha256:" + "b" * 64, True),
        ("docker.io/ollama/ollama@sha256:abc", False),
        ("docker.io/ollama/ollama:latest", False),
        ("docker.io/ollama/ollama:", False),
    ],
)
def test_pinned_image_rule(policy, acme_namespace, image, pinned):
    verdict = policy.evaluate(_pod(containers=[_container(image=image)]), acme_namespace)
    assert not verdict.errors
    assert ("pinned" not in verdict.refused) is pinned, verdict.refused


def test_bad_registry_input_fails_naming_the_field(tmp_path):
    with pytest.raises(AssertionError, match="admission_policy_allowed_registries must list"):
        render_admission_policy(tmp_path, {"admission_policy_extra_registries": ["https://registry.example.com/"]})
