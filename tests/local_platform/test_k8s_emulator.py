"""Behaviour of the Kubernetes API server emulator, through real HTTP clients,
kubectl and ansible-playbook (kubernetes.core), against a private instance."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

APPLY = "application/apply-patch+yaml"
SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSONPATCH = "application/json-patch+json"


class Emulator:
    """One emulator subprocess on a free port, logging to a file."""

    def __init__(self, workdir: Path, *extra: str) -> None:
        self.workdir = workdir
        self.kubeconfig = workdir / "kubeconfig"
        self.log = workdir / "emulator.log"
        self.extra = extra
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> Emulator:
        env = dict(os.environ, PYTHONPATH=str(HERE))
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "k8s_emulator", "--host", "127.0.0.1", "--port", "0",
                 "--state-dir", str(self.workdir / "state"), "--kubeconfig-out", str(self.kubeconfig),
                 *self.extra], stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.log.read_bytes()[offset:].decode(errors="replace")
            marker = "k8s-emulator listening on "
            if marker in text:
                self.url = text[text.rindex(marker) + len(marker):].split()[0]
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("emulator exited:\n" + text)
            time.sleep(0.05)
        raise RuntimeError("emulator did not start:\n" + self.log.read_text(errors="replace"))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    # HTTP helpers -----------------------------------------------------
    def req(self, method: str, path: str, body=None, content_type: str = "application/json", **params):
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type, "Authorization": "Bearer anything"}
        return requests.request(method, self.url + path, data=data, headers=headers, params=params, timeout=30)

    def apply(self, path: str, body: dict, manager: str = "tester", **params):
        return self.req("PATCH", path, body, APPLY, fieldManager=manager, **params)


# The backend's second chunk is held until the test has read the first one
# through the proxy: a buffering proxy would deadlock (and hit the timeout).
class StreamingBackend:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.requests: list[dict] = []
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> StreamingBackend:
        self._thread.start()
        assert self._ready.wait(30)
        return self

    def _run(self) -> None:
        import asyncio

        from aiohttp import web

        async def stream(request):
            self.requests.append({"method": request.method, "path": request.path, "query": dict(request.query),
                                  "body": await request.text(), "header": request.headers.get("X-Test")})
            resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
            await resp.prepare(request)
            await resp.write(b'{"response":"Hel","done":false}\n')
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.release.wait, 30)
            await resp.write(b'{"response":"lo","done":true}\n')
            await resp.write_eof()
            return resp

        async def plain(request):
            self.requests.append({"method": request.method, "path": request.path, "query": dict(request.query),
                                  "body": await request.text(), "header": request.headers.get("X-Test")})
            return web.json_response({"models": [{"name": "llama3.2:1b"}]}, status=200)

        async def main():
            app = web.Application()
            app.router.add_post("/api/generate", stream)
            app.router.add_route("*", "/{tail:.*}", plain)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            self._ready.set()
            while True:
                await asyncio.sleep(3600)

        asyncio.run(main())


@pytest.fixture(scope="module")
def backend():
    return StreamingBackend().start()


@pytest.fixture(scope="module")
def emu(tmp_path_factory, backend):
    workdir = tmp_path_factory.mktemp("k8s-emulator")
    server = Emulator(workdir, "--proxy-backend", "*/ollama*:11434=http://127.0.0.1:%d" % backend.port).start()
    yield server
    server.stop()


def ns_body(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def deployment(name: str, namespace: str, *, replicas=1, image="nginx:1.27", labels=None, containers=None) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": containers or [{"name": "main", "image": image,
                                                                "ports": [{"containerPort": 80}]}]}},
        },
    }


def make_ns(emu: Emulator, name: str) -> None:
    resp = emu.req("POST", "/api/v1/namespaces", ns_body(name))
    assert resp.status_code == 201, resp.text


def deploy_path(namespace: str, name: str = "") -> str:
    return "/apis/apps/v1/namespaces/%s/deployments%s" % (namespace, "/" + name if name else "")


# ------------------------------------------------------------------ discovery

def test_discovery_lists_every_required_kind(emu):
    wanted = {
        "v1": {"Namespace", "Pod", "Service", "ConfigMap", "Secret", "ServiceAccount", "PersistentVolumeClaim",
               "PersistentVolume", "ResourceQuota", "LimitRange", "Endpoints", "Node"},
        "apps/v1": {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"},
        "batch/v1": {"Job", "CronJob"},
        "networking.k8s.io/v1": {"NetworkPolicy", "Ingress", "IngressClass"},
        "policy/v1": {"PodDisruptionBudget"},
        "rbac.authorization.k8s.io/v1": {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"},
        "autoscaling/v2": {"HorizontalPodAutoscaler"},
        "storage.k8s.io/v1": {"StorageClass", "CSIDriver"},
        "scheduling.k8s.io/v1": {"PriorityClass"},
        "admissionregistration.k8s.io/v1": {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
                                            "ValidatingWebhookConfiguration"},
        "apiextensions.k8s.io/v1": {"CustomResourceDefinition"},
        "apiregistration.k8s.io/v1": {"APIService"},
        "coordination.k8s.io/v1": {"Lease"},
    }
    groups = {g["name"]: g for g in emu.req("GET", "/apis").json()["groups"]}
    assert emu.req("GET", "/api").json()["versions"] == ["v1"]
    version = emu.req("GET", "/version").json()
    assert (version["major"], version["minor"]) == ("1", "32")
    for group_version, kinds in wanted.items():
        if "/" in group_version:
            assert groups[group_version.split("/")[0]]["preferredVersion"]["groupVersion"] == group_version
            doc = emu.req("GET", "/apis/" + group_version).json()
        else:
            doc = emu.req("GET", "/api/v1").json()
        served = {r["kind"] for r in doc["resources"] if "/" not in r["name"]}
        assert kinds <= served, (group_version, kinds - served)
    core = {r["name"]: r for r in emu.req("GET", "/api/v1").json()["resources"]}
    assert core["namespaces"]["namespaced"] is False
    assert core["configmaps"]["namespaced"] is True
    assert "services/proxy" in core


def test_nodes_look_like_eks_with_one_tainted_gpu_node(emu):
    nodes = emu.req("GET", "/api/v1/nodes").json()["items"]
    assert len(nodes) == 4
    gpu = [n for n in nodes if n["metadata"]["labels"].get("nvidia.com/gpu.present") == "true"]
    assert len(gpu) == 1
    assert gpu[0]["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert gpu[0]["status"]["allocatable"]["nvidia.com/gpu"] == "1"
    assert "k8s.amazonaws.com/accelerator" in gpu[0]["metadata"]["labels"]
    zones = {n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in nodes}
    assert zones == {"us-east-1a", "us-east-1b", "us-east-1c"}
    assert all(n["metadata"]["labels"]["eks.amazonaws.com/capacityType"] for n in nodes)


# --------------------------------------------------------------- validation

def test_object_in_missing_namespace_is_refused_with_404(emu):
    resp = emu.req("POST", "/api/v1/namespaces/nowhere/configmaps",
                   {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    assert resp.status_code == 404
    body = resp.json()
    assert (body["kind"], body["reason"], body["message"]) == ("Status", "NotFound", 'namespaces "nowhere" not found')
    resp = emu.apply("/api/v1/namespaces/nowhere/configmaps/c",
                     {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    assert resp.status_code == 404


def test_invalid_deployment_replicas_is_refused_with_422(emu):
    make_ns(emu, "val1")
    resp = emu.req("POST", deploy_path("val1"), deployment("web", "val1", replicas="two"))
    assert resp.status_code == 422
    body = resp.json()
    assert body["reason"] == "Invalid"
    assert [c["field"] for c in body["details"]["causes"]] == ["spec.replicas"]
    assert emu.req("GET", deploy_path("val1", "web")).status_code == 404
    # The same check guards server-side apply.
    resp = emu.apply(deploy_path("val1", "web"), deployment("web", "val1", replicas="two"))
    assert resp.status_code == 422


def test_unknown_field_is_refused_with_422(emu):
    make_ns(emu, "val2")
    body = deployment("web", "val2")
    body["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    resp = emu.req("POST", deploy_path("val2"), body)
    assert resp.status_code == 422
    fields = [c["field"] for c in resp.json()["details"]["causes"]]
    assert fields == ["spec.template.spec.containers[0].imagePullPolicyy"]


def test_names_must_be_dns_compatible(emu):
    resp = emu.req("POST", "/api/v1/namespaces", ns_body("Not_Valid"))
    assert resp.status_code == 422
    assert resp.json()["details"]["causes"][0]["field"] == "metadata.name"
    resp = emu.req("POST", "/api/v1/namespaces/default/configmaps",
                   {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})
    assert resp.status_code == 422
    # RBAC names may contain colons, as on the real server.
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:llm-reader"}, "rules": []}
    assert emu.req("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", role).status_code == 201


def test_basic_rest_errors(emu):
    make_ns(emu, "rest1")
    path = "/api/v1/namespaces/rest1/configmaps"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    created = emu.req("POST", path, cm)
    assert created.status_code == 201
    assert emu.req("POST", path, cm).json()["reason"] == "AlreadyExists"
    assert emu.req("GET", path + "/missing").status_code == 404
    assert emu.req("DELETE", path + "/missing").status_code == 404
    assert emu.req("PATCH", path + "/missing", {"data": {}}, MERGE).status_code == 404
    stale = dict(created.json())
    emu.req("PATCH", path + "/c", {"data": {"a": "2"}}, MERGE)
    stale["data"] = {"a": "3"}
    resp = emu.req("PUT", path + "/c", stale)
    assert (resp.status_code, resp.json()["reason"]) == (409, "Conflict")
    fresh = emu.req("GET", path + "/c").json()
    fresh["data"] = {"a": "3"}
    assert emu.req("PUT", path + "/c", fresh).json()["data"] == {"a": "3"}
    assert emu.req("DELETE", path + "/c", propagationPolicy="Foreground").status_code == 200
    assert emu.req("GET", path + "/c").status_code == 404


def test_dry_run_validates_but_persists_nothing(emu):
    make_ns(emu, "dry1")
    resp = emu.req("POST", deploy_path("dry1") + "?dryRun=All", deployment("web", "dry1"))
    assert resp.status_code == 201
    assert resp.json()["status"]["readyReplicas"] == 1
    assert emu.req("GET", deploy_path("dry1", "web")).status_code == 404
    assert emu.apply(deploy_path("dry1", "web"), deployment("web", "dry1"), dryRun="All").status_code == 201
    assert emu.req("GET", deploy_path("dry1", "web")).status_code == 404
    bad = emu.req("POST", deploy_path("dry1") + "?dryRun=All", deployment("web", "dry1", replicas="two"))
    assert bad.status_code == 422
    live = emu.apply(deploy_path("dry1", "web"), deployment("web", "dry1")).json()
    changed = emu.req("PATCH", deploy_path("dry1", "web"), {"spec": {"replicas": 5}}, MERGE, dryRun="All").json()
    assert changed["spec"]["replicas"] == 5
    after = emu.req("GET", deploy_path("dry1", "web")).json()
    assert after["spec"]["replicas"] == 1
    assert after["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
    emu.req("DELETE", deploy_path("dry1", "web"), dryRun="All")
    assert emu.req("GET", deploy_path("dry1", "web")).status_code == 200


# --------------------------------------------------------- server-side apply

def test_server_side_apply_creates_updates_and_is_idempotent(emu):
    make_ns(emu, "ssa1")
    path = deploy_path("ssa1", "web")
    first = emu.apply(path, deployment("web", "ssa1"))
    assert first.status_code == 201
    obj = first.json()
    assert obj["metadata"]["generation"] == 1
    assert obj["status"]["availableReplicas"] == 1
    managers = [(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]]
    assert managers == [("tester", "Apply")]
    again = emu.apply(path, deployment("web", "ssa1"))
    assert again.status_code == 200
    assert again.json() == obj
    assert emu.req("GET", path).json()["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
    updated = emu.apply(path, deployment("web", "ssa1", replicas=3)).json()
    assert updated["spec"]["replicas"] == 3
    assert updated["metadata"]["generation"] == 2
    assert int(updated["metadata"]["resourceVersion"]) > int(obj["metadata"]["resourceVersion"])
    assert updated["status"]["readyReplicas"] == 3
    assert updated["status"]["observedGeneration"] == 2
    # A label-only change does not bump generation.
    relabelled = emu.apply(path, deployment("web", "ssa1", replicas=3, labels={"app": "web", "tier": "x"})).json()
    assert relabelled["metadata"]["generation"] == 2


def test_server_side_apply_removes_fields_the_manager_stopped_applying(emu):
    make_ns(emu, "ssa2")
    path = deploy_path("ssa2", "web")
    emu.apply(path, deployment("web", "ssa2", labels={"app": "web", "team": "a"}))
    body = deployment("web", "ssa2", labels={"app": "web"})
    body["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox:1.36"})
    obj = emu.apply(path, body).json()
    assert obj["metadata"]["labels"] == {"app": "web"}
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["main", "sidecar"]
    obj = emu.apply(path, deployment("web", "ssa2", labels={"app": "web"})).json()
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["main"]


def test_server_side_apply_conflicts_between_managers_and_force(emu):
    make_ns(emu, "ssa3")
    path = deploy_path("ssa3", "web")
    emu.apply(path, deployment("web", "ssa3", replicas=2), manager="alice")
    # Same value: shared ownership, no conflict.
    assert emu.apply(path, deployment("web", "ssa3", replicas=2), manager="bob").status_code == 200
    resp = emu.apply(path, deployment("web", "ssa3", replicas=4), manager="carol")
    assert resp.status_code == 409
    body = resp.json()
    assert body["reason"] == "Conflict"
    assert {c["field"] for c in body["details"]["causes"]} == {".spec.replicas"}
    assert {c["message"] for c in body["details"]["causes"]} == {'conflict with "alice"', 'conflict with "bob"'}
    forced = emu.apply(path, deployment("web", "ssa3", replicas=4), manager="carol", force="true")
    assert forced.status_code == 200
    assert forced.json()["spec"]["replicas"] == 4
    owners = {m["manager"]: m["fieldsV1"] for m in forced.json()["metadata"]["managedFields"]}
    assert "f:replicas" in owners["carol"]["f:spec"]
    assert "f:replicas" not in owners["alice"]["f:spec"]
    # An Update (non-apply) write takes ownership too and is then a conflict for appliers.
    emu.req("PATCH", path, {"spec": {"replicas": 6}}, MERGE, fieldManager="hpa-like")
    assert emu.apply(path, deployment("web", "ssa3", replicas=4), manager="carol").status_code == 409


# ------------------------------------------------------------------ patches

def test_strategic_merge_patch_merges_containers_by_name(emu):
    make_ns(emu, "smp1")
    containers = [{"name": "a", "image": "nginx:1.27", "env": [{"name": "X", "value": "1"}]},
                  {"name": "b", "image": "busybox:1.36"}]
    emu.req("POST", deploy_path("smp1"), deployment("web", "smp1", containers=containers))
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "b", "image": "busybox:1.37"},
        {"name": "a", "env": [{"name": "Y", "value": "2"}]},
        {"name": "c", "image": "redis:7.2"}]}}}}
    obj = emu.req("PATCH", deploy_path("smp1", "web"), patch, SMP).json()
    got = {c["name"]: c for c in obj["spec"]["template"]["spec"]["containers"]}
    assert list(got) == ["a", "b", "c"]
    assert got["a"]["image"] == "nginx:1.27"
    assert got["a"]["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
    assert got["b"]["image"] == "busybox:1.37"
    delete = {"spec": {"template": {"spec": {"containers": [{"name": "c", "$patch": "delete"}]}}}}
    obj = emu.req("PATCH", deploy_path("smp1", "web"), delete, SMP).json()
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["a", "b"]


def test_merge_patch_and_json_patch(emu):
    make_ns(emu, "mp1")
    path = "/api/v1/namespaces/mp1/configmaps"
    emu.req("POST", path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}},
                           "data": {"k1": "v1", "k2": "v2"}})
    obj = emu.req("PATCH", path + "/c", {"metadata": {"labels": {"b": "2"}}, "data": {"k1": None, "k3": "v3"}},
                  MERGE).json()
    assert obj["data"] == {"k2": "v2", "k3": "v3"}
    assert obj["metadata"]["labels"] == {"a": "1", "b": "2"}
    # RFC 7386: lists are replaced, not merged.
    emu.req("POST", deploy_path("mp1"), deployment("web", "mp1"))
    merged = emu.req("PATCH", deploy_path("mp1", "web"), {"spec": {"template": {"spec": {"containers": [
        {"name": "other", "image": "redis:7.2"}]}}}}, MERGE).json()
    assert [c["name"] for c in merged["spec"]["template"]["spec"]["containers"]] == ["other"]
    ops = [{"op": "replace", "path": "/data/k2", "value": "changed"},
           {"op": "add", "path": "/metadata/annotations", "value": {"note": "x"}},
           {"op": "remove", "path": "/data/k3"}]
    obj = emu.req("PATCH", path + "/c", ops, JSONPATCH).json()
    assert obj["data"] == {"k2": "changed"}
    assert obj["metadata"]["annotations"] == {"note": "x"}
    failing = emu.req("PATCH", path + "/c", [{"op": "test", "path": "/data/k2", "value": "nope"}], JSONPATCH)
    assert failing.status_code == 422
    invalid = emu.req("PATCH", deploy_path("mp1", "web"),
                      [{"op": "replace", "path": "/spec/replicas", "value": "two"}], JSONPATCH)
    assert invalid.status_code == 422


def test_status_and_scale_subresources(emu):
    make_ns(emu, "sub1")
    emu.req("POST", deploy_path("sub1"), deployment("web", "sub1"))
    scale = emu.req("GET", deploy_path("sub1", "web") + "/scale").json()
    assert (scale["kind"], scale["spec"]["replicas"]) == ("Scale", 1)
    emu.req("PATCH", deploy_path("sub1", "web") + "/scale", {"spec": {"replicas": 4}}, MERGE)
    assert emu.req("GET", deploy_path("sub1", "web")).json()["status"]["replicas"] == 4
    patched = emu.req("PATCH", deploy_path("sub1", "web") + "/status", {"status": {"readyReplicas": 0}}, MERGE)
    assert patched.json()["status"]["readyReplicas"] == 0
    assert patched.json()["spec"]["replicas"] == 4


def test_immutable_fields_and_label_syntax_are_enforced(emu):
    make_ns(emu, "imm1")
    emu.apply(deploy_path("imm1", "web"), deployment("web", "imm1"))
    moved = deployment("web", "imm1")
    moved["spec"]["selector"]["matchLabels"]["extra"] = "x"
    moved["spec"]["template"]["metadata"]["labels"]["extra"] = "x"
    resp = emu.apply(deploy_path("imm1", "web"), moved)
    assert resp.status_code == 422
    assert [c["field"] for c in resp.json()["details"]["causes"]] == ["spec.selector"]
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "rb", "namespace": "imm1"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "a"},
               "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "imm1"}]}
    path = "/apis/rbac.authorization.k8s.io/v1/namespaces/imm1/rolebindings"
    assert emu.req("POST", path, binding).status_code == 201
    resp = emu.req("PATCH", path + "/rb", {"roleRef": {"name": "b"}}, MERGE)
    assert (resp.status_code, resp.json()["details"]["causes"][0]["field"]) == (422, "roleRef")
    bad_label = emu.req("POST", "/api/v1/namespaces/imm1/configmaps",
                        {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "c", "labels": {"app": "has space"}}})
    assert bad_label.status_code == 422
    assert bad_label.json()["details"]["causes"][0]["field"] == "metadata.labels[app]"


def test_protobuf_bodies_are_refused_with_415(emu):
    resp = requests.post(emu.url + "/api/v1/namespaces", data=b"k8s\x00\n\x0f", timeout=30,
                         headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    assert (resp.status_code, resp.json()["reason"]) == (415, "UnsupportedMediaType")


def test_watch_streams_changes_after_a_resource_version(emu):
    make_ns(emu, "watch1")
    path = "/api/v1/namespaces/watch1/configmaps"
    first = emu.req("POST", path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}).json()
    emu.req("POST", path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "labels": {"w": "1"}}})
    emu.req("PATCH", path + "/b", {"data": {"k": "v"}}, MERGE)
    emu.req("DELETE", path + "/b")
    watch_params = {"watch": "true", "timeoutSeconds": "1", "labelSelector": "w=1",
                    "resourceVersion": first["metadata"]["resourceVersion"]}
    resp = requests.get(emu.url + path, params=watch_params,
                        timeout=30)
    events = [json.loads(line) for line in resp.text.splitlines()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "b")]
    resp = requests.get(emu.url + path, params={"watch": "1", "timeoutSeconds": "1"}, timeout=30)
    names = sorted(json.loads(line)["object"]["metadata"]["name"] for line in resp.text.splitlines())
    assert names == ["a", "kube-root-ca.crt"]


# ---------------------------------------------------------- lists & deletes

def test_label_and_field_selectors(emu):
    for ns in ("sel1", "sel2"):
        make_ns(emu, ns)
        for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
            emu.req("POST", "/api/v1/namespaces/%s/configmaps" % ns,
                    {"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": name, "labels": {"tier": tier, "suite": "sel"}}})

    def names(path, **params):
        return sorted("%s/%s" % (i["metadata"]["namespace"], i["metadata"]["name"])
                      for i in emu.req("GET", path, **params).json()["items"])

    assert names("/api/v1/namespaces/sel1/configmaps", labelSelector="tier=web") == ["sel1/a", "sel1/c"]
    assert names("/api/v1/configmaps", labelSelector="suite=sel,tier!=web") == ["sel1/b", "sel2/b"]
    assert names("/api/v1/configmaps", labelSelector="tier in (db),suite") == ["sel1/b", "sel2/b"]
    assert names("/api/v1/configmaps", labelSelector="suite=sel",
                 fieldSelector="metadata.namespace=sel2,metadata.name!=a") == ["sel2/b", "sel2/c"]
    assert names("/api/v1/namespaces/sel1/configmaps", fieldSelector="metadata.name=c") == ["sel1/c"]
    listing = emu.req("GET", "/api/v1/namespaces/sel1/configmaps").json()
    assert listing["kind"] == "ConfigMapList"
    assert int(listing["metadata"]["resourceVersion"]) > 0


def test_namespace_deletion_removes_everything_in_it(emu):
    make_ns(emu, "gone1")
    emu.req("POST", deploy_path("gone1"), deployment("web", "gone1"))
    emu.req("POST", "/api/v1/namespaces/gone1/secrets",
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}})
    assert emu.req("GET", "/api/v1/namespaces/gone1/secrets/s").json()["data"] == {"k": "dg=="}
    not_base64 = emu.req("POST", "/api/v1/namespaces/gone1/secrets",
                         {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t"}, "data": {"k": "plain text"}})
    assert (not_base64.status_code, not_base64.json()["reason"]) == (400, "BadRequest")
    assert emu.req("GET", "/api/v1/namespaces/gone1/serviceaccounts/default").status_code == 200
    resp = emu.req("DELETE", "/api/v1/namespaces/gone1")
    assert resp.status_code == 200
    assert emu.req("GET", "/api/v1/namespaces/gone1").status_code == 404
    assert emu.req("GET", deploy_path("gone1", "web")).status_code == 404
    assert emu.req("GET", "/api/v1/secrets", fieldSelector="metadata.namespace=gone1").json()["items"] == []
    make_ns(emu, "gone1")
    assert emu.req("GET", deploy_path("gone1")).json()["items"] == []
    assert emu.req("DELETE", "/api/v1/namespaces/kube-system").status_code == 403


# -------------------------------------------------------- fake controllers

def test_fake_controllers_report_ready_status(emu):
    make_ns(emu, "ctl1")
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "dcgm", "namespace": "ctl1"},
          "spec": {"selector": {"matchLabels": {"app": "dcgm"}},
                   "template": {"metadata": {"labels": {"app": "dcgm"}},
                                "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}
    status = emu.req("POST", "/apis/apps/v1/namespaces/ctl1/daemonsets", ds).json()["status"]
    assert status["desiredNumberScheduled"] == status["numberReady"] == 3
    ds["metadata"]["name"] = "gpu-agent"
    ds["spec"]["template"]["spec"]["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists",
                                                      "effect": "NoSchedule"}]
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"nvidia.com/gpu.present": "true"}
    status = emu.req("POST", "/apis/apps/v1/namespaces/ctl1/daemonsets", ds).json()["status"]
    assert status["desiredNumberScheduled"] == 1
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "ctl1"},
           "spec": {"template": {"spec": {"restartPolicy": "Never",
                                          "containers": [{"name": "m", "image": "x:1"}]}}}}
    job_status = emu.req("POST", "/apis/batch/v1/namespaces/ctl1/jobs", job).json()["status"]
    assert job_status["succeeded"] == 1
    assert {c["type"] for c in job_status["conditions"]} >= {"Complete"}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "ctl1"},
           "spec": {"selector": {"app": "api"}, "ports": [{"port": 80, "targetPort": 8080}]}}
    spec = emu.req("POST", "/api/v1/namespaces/ctl1/services", svc).json()["spec"]
    assert spec["clusterIP"].startswith("10.100.")
    assert spec["ports"][0]["protocol"] == "TCP"
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "ctl1"},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}}
    assert emu.req("POST", "/api/v1/namespaces/ctl1/persistentvolumeclaims", pvc).json()["status"]["phase"] == "Bound"
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "ctl1"},
           "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}},
                                 "spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}}}}
    sts_obj = emu.req("POST", "/apis/apps/v1/namespaces/ctl1/statefulsets", sts).json()
    assert sts_obj["status"]["readyReplicas"] == 2
    assert sts_obj["status"]["currentRevision"] == sts_obj["status"]["updateRevision"]
    assert emu.req("GET", "/api/v1/namespaces/ctl1").json()["status"]["phase"] == "Active"


# --------------------------------------------------------------------- CRDs

def _crd() -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "tenants.llm-saas.io"},
        "spec": {
            "group": "llm-saas.io", "scope": "Namespaced",
            "names": {"plural": "tenants", "singular": "tenant", "kind": "Tenant", "shortNames": ["tn"]},
            "versions": [{
                "name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "object", "required": ["plan"], "properties": {
                            "plan": {"type": "string", "enum": ["free", "pro"]},
                            "gpus": {"type": "integer", "minimum": 0},
                            "quota": {"x-kubernetes-int-or-string": True},
                            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
                        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
                    }}},
            }],
        },
    }


def test_crd_makes_kind_discoverable_servable_and_validated(emu):
    crd_path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    assert emu.req("GET", "/apis/llm-saas.io/v1alpha1").status_code == 404
    created = emu.req("POST", crd_path, _crd())
    assert created.status_code == 201, created.text
    assert {c["type"] for c in created.json()["status"]["conditions"]} == {"NamesAccepted", "Established"}
    groups = {g["name"] for g in emu.req("GET", "/apis").json()["groups"]}
    assert "llm-saas.io" in groups
    resources = emu.req("GET", "/apis/llm-saas.io/v1alpha1").json()["resources"]
    assert {(r["name"], r["kind"], r["namespaced"]) for r in resources} >= {("tenants", "Tenant", True)}
    make_ns(emu, "crd1")
    path = "/apis/llm-saas.io/v1alpha1/namespaces/crd1/tenants"
    good = {"apiVersion": "llm-saas.io/v1alpha1", "kind": "Tenant", "metadata": {"name": "acme"},
            "spec": {"plan": "pro", "gpus": 1, "quota": "10%", "extra": {"anything": {"goes": 1}}}}
    resp = emu.apply(path + "/acme", good)
    assert resp.status_code == 201, resp.text
    assert resp.json()["metadata"]["generation"] == 1
    assert emu.apply(path + "/acme", good).json()["metadata"]["resourceVersion"] == \
        resp.json()["metadata"]["resourceVersion"]
    for bad_spec, field in (({"plan": "enterprise"}, "spec.plan"), ({"plan": "pro", "gpus": -1}, "spec.gpus"),
                            ({"plan": "pro", "colour": "red"}, "spec.colour"), ({"gpus": 1}, "spec")):
        bad = dict(good, metadata={"name": "bad"}, spec=bad_spec)
        resp = emu.req("POST", path, bad)
        assert resp.status_code == 422, (bad_spec, resp.text)
        assert resp.json()["details"]["causes"][0]["field"] == field
    assert emu.req("PATCH", path + "/acme", {"spec": {"plan": "free"}}, SMP).status_code == 415
    assert emu.req("PATCH", path + "/acme", {"spec": {"plan": "free"}}, MERGE).json()["spec"]["plan"] == "free"
    status = emu.req("PATCH", path + "/acme/status", {"status": {"ready": True}}, MERGE).json()
    assert status["status"] == {"ready": True}
    assert emu.req("GET", "/apis/llm-saas.io/v1alpha1/tenants").json()["items"][0]["metadata"]["name"] == "acme"
    assert emu.req("DELETE", crd_path + "/tenants.llm-saas.io").status_code == 200
    assert emu.req("GET", "/apis/llm-saas.io/v1alpha1").status_code == 404
    assert "llm-saas.io" not in {g["name"] for g in emu.req("GET", "/apis").json()["groups"]}
    # Re-creating the CRD does not resurrect old objects.
    emu.req("POST", crd_path, _crd())
    assert emu.req("GET", path).json()["items"] == []


# -------------------------------------------------------------------- proxy

def test_service_proxy_streams_from_registered_backend(emu, backend):
    make_ns(emu, "llm1")
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ollama", "namespace": "llm1"},
           "spec": {"selector": {"app": "ollama"}, "ports": [{"name": "http", "port": 11434}]}}
    emu.req("POST", "/api/v1/namespaces/llm1/services", svc)
    base = emu.url + "/api/v1/namespaces/llm1/services/ollama:11434/proxy"
    backend.release.clear()
    with requests.post(base + "/api/generate?keep=1", data=b'{"model":"m","prompt":"hi"}',
                       headers={"X-Test": "yes", "Content-Type": "application/json"}, stream=True,
                       timeout=30) as resp:
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "application/x-ndjson"
        lines = resp.iter_lines()
        assert json.loads(next(lines)) == {"response": "Hel", "done": False}
        backend.release.set()
        assert json.loads(next(lines)) == {"response": "lo", "done": True}
    seen = backend.requests[-1]
    assert seen == {"method": "POST", "path": "/api/generate", "query": {"keep": "1"},
                    "body": '{"model":"m","prompt":"hi"}', "header": "yes"}
    for ref in ("ollama", "http:ollama:11434", "ollama:http"):
        tags = requests.get(emu.url + "/api/v1/namespaces/llm1/services/%s/proxy/api/tags" % ref, timeout=30)
        assert tags.json() == {"models": [{"name": "llama3.2:1b"}]}, ref
    missing = requests.get(emu.url + "/api/v1/namespaces/llm1/services/nope:80/proxy/", timeout=30)
    assert (missing.status_code, missing.json()["reason"]) == (404, "NotFound")
    svc["metadata"]["name"] = "webui"
    svc["spec"]["ports"] = [{"port": 8080}]
    emu.req("POST", "/api/v1/namespaces/llm1/services", svc)
    no_backend = requests.get(emu.url + "/api/v1/namespaces/llm1/services/webui:8080/proxy/", timeout=30)
    assert no_backend.status_code == 503
    assert no_backend.json()["message"] == 'no endpoints available for service "webui:8080"'


# ---------------------------------------------------------- emulator hooks

def test_fault_injection_stats_and_reset(emu):
    resp = requests.post(emu.url + "/_emulator/faults",
                         json={"status": 429, "count": 2, "path_regex": "/api/v1/namespaces/default/configmaps"},
                         timeout=30)
    assert resp.status_code == 201
    throttled = [emu.req("GET", "/api/v1/namespaces/default/configmaps") for _ in range(3)]
    assert [r.status_code for r in throttled] == [429, 429, 200]
    assert throttled[0].headers["Retry-After"] == "1"
    assert throttled[0].json()["reason"] == "TooManyRequests"
    requests.post(emu.url + "/_emulator/faults", json={"status": 500, "count": 1, "path_regex": "/api/v1/nodes"},
                  timeout=30)
    assert emu.req("GET", "/api/v1/nodes").status_code == 500
    assert emu.req("GET", "/api/v1/nodes").status_code == 200
    stats = requests.get(emu.url + "/_emulator/stats", timeout=30).json()
    assert stats["requests"]["GET /api/v1/namespaces/{namespace}/configmaps"] >= 3
    assert requests.post(emu.url + "/_emulator/faults", json={"status": 200}, timeout=30).status_code == 400


def test_reset_keeps_nodes_and_default_namespaces(tmp_path):
    server = Emulator(tmp_path, "--cpu-nodes", "1", "--gpu-nodes", "0").start()
    try:
        make_ns(server, "temp")
        server.req("POST", "/api/v1/namespaces/default/configmaps",
                   {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mine"}})
        assert requests.post(server.url + "/_emulator/reset", timeout=30).status_code == 200
        names = {n["metadata"]["name"] for n in server.req("GET", "/api/v1/namespaces").json()["items"]}
        assert names == {"default", "kube-system", "kube-public", "kube-node-lease"}
        assert len(server.req("GET", "/api/v1/nodes").json()["items"]) == 1
        assert server.req("GET", "/api/v1/namespaces/default/configmaps/mine").status_code == 404
        assert server.req("GET", "/api/v1/namespaces/default/serviceaccounts/default").status_code == 200
    finally:
        server.stop()


def test_state_survives_restart(tmp_path):
    server = Emulator(tmp_path).start()
    try:
        make_ns(server, "keep")
        created = server.apply(deploy_path("keep", "web"), deployment("web", "keep")).json()
        server.req("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", _crd())
    finally:
        server.stop()
    server = Emulator(tmp_path).start()
    try:
        again = server.req("GET", deploy_path("keep", "web")).json()
        assert again == created
        assert server.apply(deploy_path("keep", "web"), deployment("web", "keep")).json() == created
        assert server.req("GET", "/apis/llm-saas.io/v1alpha1").status_code == 200
        fresh = server.req("POST", "/api/v1/namespaces/keep/configmaps",
                           {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "n"}}).json()
        assert int(fresh["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    finally:
        server.stop()


# ------------------------------------------------------------------ kubectl

KUBECTL = shutil.which("kubectl")


@pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed")
def test_kubectl_works_against_the_emulator(emu, tmp_path):
    env = dict(os.environ, KUBECONFIG=str(emu.kubeconfig), HOME=str(tmp_path))

    def kubectl(*args, stdin=None):
        proc = subprocess.run([KUBECTL, "--kubeconfig", str(emu.kubeconfig), *args], input=stdin,
                              capture_output=True, text=True, env=env, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    namespaces = kubectl("get", "ns")
    assert "kube-system" in namespaces and "Active" in namespaces
    resources = kubectl("api-resources")
    for line in ("deployments", "customresourcedefinitions", "validatingadmissionpolicies", "leases"):
        assert line in resources
    manifest = tmp_path / "app.yaml"
    manifest.write_text(yaml.safe_dump_all([ns_body("kctl"), deployment("web", "kctl", replicas=2)]))
    assert "serverside-applied" in kubectl("apply", "--server-side", "-f", str(manifest))
    first = json.loads(kubectl("get", "deploy", "web", "-n", "kctl", "-o", "json"))
    kubectl("apply", "--server-side", "-f", str(manifest))
    second = json.loads(kubectl("get", "deploy", "web", "-n", "kctl", "-o", "json", "--show-managed-fields"))
    assert first["metadata"]["resourceVersion"] == second["metadata"]["resourceVersion"]
    assert second["status"]["readyReplicas"] == 2
    assert [m["manager"] for m in second["metadata"]["managedFields"]] == ["kubectl"]
    assert "web" in kubectl("get", "deploy", "-n", "kctl")
    # Commands built on watch and on access reviews.
    assert "condition met" in kubectl("wait", "--for=condition=Available", "deploy/web", "-n", "kctl",
                                      "--timeout=60s")
    assert "successfully rolled out" in kubectl("rollout", "status", "deploy/web", "-n", "kctl", "--timeout=60s")
    assert kubectl("auth", "can-i", "create", "deployments", "-n", "kctl").strip() == "yes"
    assert "deployment.apps/web" in kubectl("get", "all", "-n", "kctl")
    assert "scaled" in kubectl("scale", "deploy/web", "-n", "kctl", "--replicas=3")
    assert json.loads(kubectl("get", "deploy", "web", "-n", "kctl", "-o", "json"))["status"]["readyReplicas"] == 3
    kubectl("delete", "ns", "kctl", "--wait=true", "--timeout=60s")
    assert "kctl" not in kubectl("get", "ns")


def test_kubernetes_python_client_typed_api_and_watch(emu):
    from kubernetes import client, config, watch

    api = config.new_client_from_config(str(emu.kubeconfig))
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="pyc")))
    # Typed models leave apiVersion/kind unset; the URL decides.
    labels = {"app": "typed"}
    body = client.V1Deployment(metadata=client.V1ObjectMeta(name="typed"), spec=client.V1DeploymentSpec(
        selector=client.V1LabelSelector(match_labels=labels),
        template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=labels), spec=client.V1PodSpec(
            containers=[client.V1Container(name="c", image="nginx:1.27")]))))
    created = apps.create_namespaced_deployment("pyc", body)
    assert (created.spec.replicas, created.status.ready_replicas) == (1, 1)
    assert created.metadata.managed_fields[0].operation == "Update"
    with pytest.raises(client.ApiException) as missing:
        core.read_namespaced_config_map("nope", "pyc")
    assert missing.value.status == 404
    seen = [(e["type"], e["object"].metadata.name)
            for e in watch.Watch().stream(apps.list_namespaced_deployment, "pyc", timeout_seconds=1)]
    assert seen == [("ADDED", "typed")]
    assert len(core.list_node(label_selector="nvidia.com/gpu.present=true").items) == 1


# ------------------------------------------------------------ ansible-playbook

PLAYBOOK = """
- name: Emulator round trip
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Apply namespace, deployment and service
      kubernetes.core.k8s:
        state: present
        apply: true
        server_side_apply:
          field_manager: llm-saas-platform
        wait: true
        wait_timeout: 60
        wait_sleep: 1
        definition: "{{ objects }}"
    - name: Apply a CRD and wait until it is established
      kubernetes.core.k8s:
        state: present
        apply: true
        server_side_apply:
          field_manager: llm-saas-platform
        wait: true
        wait_timeout: 60
        wait_sleep: 1
        wait_condition: {type: Established, status: "True"}
        definition: "{{ crd }}"
    - name: Apply a custom object of the new kind (discovery cache must refresh)
      kubernetes.core.k8s:
        state: present
        apply: true
        server_side_apply:
          field_manager: llm-saas-platform
        definition:
          apiVersion: llm-saas.io/v1alpha1
          kind: Tenant
          metadata: {name: acme, namespace: ansible-emu}
          spec: {plan: pro, gpus: 1}
    - name: Find the deployment
      kubernetes.core.k8s_info:
        api_version: apps/v1
        kind: Deployment
        namespace: ansible-emu
        label_selectors: ["app=web"]
      register: found
    - name: Show what k8s_info found
      ansible.builtin.assert:
        that:
          - found.resources | length == 1
          - found.resources[0].status.readyReplicas == 2
"""

CHECK_PLAYBOOK = """
- name: Check mode
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Would create a config map
      kubernetes.core.k8s:
        state: present
        apply: true
        server_side_apply:
          field_manager: llm-saas-platform
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: would-be, namespace: ansible-emu}
          data: {k: v}
"""


ABSENT_PLAYBOOK = """
- name: Removal
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Remove the namespace and wait until it is gone
      kubernetes.core.k8s:
        state: absent
        api_version: v1
        kind: Namespace
        name: ansible-emu
        wait: true
        wait_timeout: 60
        wait_sleep: 1
"""


def _recap(stdout: str) -> dict:
    doc = json.loads(stdout[stdout.index("{"):])
    return doc["stats"]["localhost"], doc


def test_ansible_k8s_apply_is_idempotent_and_check_mode_changes_nothing(emu, tmp_path):
    objects = [
        ns_body("ansible-emu"),
        deployment("web", "ansible-emu", replicas=2),
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "ansible-emu"},
         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]}},
    ]
    playbook = tmp_path / "site.yml"
    playbook.write_text(PLAYBOOK)
    check_playbook = tmp_path / "check.yml"
    check_playbook.write_text(CHECK_PLAYBOOK)
    extra = tmp_path / "vars.json"
    crd = _crd()
    crd["metadata"]["name"] = "tenants.llm-saas.io"
    extra.write_text(json.dumps({"objects": objects, "crd": crd}))
    env = dict(os.environ, K8S_AUTH_KUBECONFIG=str(emu.kubeconfig), KUBECONFIG=str(emu.kubeconfig),
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    ansible = str(Path(sys.executable).parent / "ansible-playbook")

    def run(book, *args):
        proc = subprocess.run([ansible, "-i", "localhost,", str(book), "-e", "@%s" % extra, *args],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
        return _recap(proc.stdout)

    stats, _ = run(playbook)
    assert stats["changed"] == 3 and stats["failures"] == 0
    tenant = emu.req("GET", "/apis/llm-saas.io/v1alpha1/namespaces/ansible-emu/tenants/acme").json()
    assert tenant["spec"] == {"plan": "pro", "gpus": 1}
    rv = emu.req("GET", deploy_path("ansible-emu", "web")).json()["metadata"]["resourceVersion"]
    stats, doc = run(playbook)
    assert stats["changed"] == 0, json.dumps(doc["plays"][0]["tasks"][0], indent=1)[:4000]
    assert emu.req("GET", deploy_path("ansible-emu", "web")).json()["metadata"]["resourceVersion"] == rv
    managers = {m["manager"] for m in emu.req("GET", deploy_path("ansible-emu", "web")).json()["metadata"][
        "managedFields"]}
    assert managers == {"llm-saas-platform"}
    stats, doc = run(check_playbook, "--check", "--diff")
    assert stats["changed"] == 1
    assert emu.req("GET", "/api/v1/namespaces/ansible-emu/configmaps/would-be").status_code == 404
    absent = tmp_path / "absent.yml"
    absent.write_text(ABSENT_PLAYBOOK)
    stats, _ = run(absent)
    assert stats["changed"] == 1
    assert emu.req("GET", "/api/v1/namespaces/ansible-emu").status_code == 404
    assert emu.req("GET", deploy_path("ansible-emu", "web")).status_code == 404
