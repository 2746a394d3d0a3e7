"""Server-side defaulting and kwok-style fake controllers.

Everything here is a pure function of the stored object (and the previous
status), so writing the same object twice yields byte-identical results: an
idempotent apply must stay a no-op, timestamps included.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import ipaddress
from typing import Any

from .store import clone

# Kinds whose strategy maintains metadata.generation on the real server.
GENERATION_KINDS = {
    "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "HorizontalPodAutoscaler",
    "PodDisruptionBudget", "NetworkPolicy", "Ingress", "IngressClass", "CustomResourceDefinition",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "PriorityClass", "StorageClass", "CSIDriver", "APIService",
}


def _pod_template_defaults(template: dict) -> None:
    spec = template.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if not isinstance(container, dict):
                continue
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            image = str(container.get("image", ""))
            tagless = ":" not in image.rsplit("/", 1)[-1] and "@" not in image
            container.setdefault("imagePullPolicy",
                                 "Always" if tagless or image.endswith(":latest") else "IfNotPresent")
            for port in container.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")


def apply_defaults(kind: str, obj: dict, old: dict | None, allocate_ip) -> None:
    spec = obj.get("spec")
    meta = obj.setdefault("metadata", {})
    if kind == "Namespace":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name")
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    if not isinstance(spec, dict):
        spec = None
    workload = kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job")
    if workload and spec is not None and isinstance(spec.get("template"), dict):
        _pod_template_defaults(spec["template"])
    if kind == "CronJob" and spec is not None:
        job_template = (spec.get("jobTemplate") or {}).get("spec") or {}
        if isinstance(job_template.get("template"), dict):
            _pod_template_defaults(job_template["template"])
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
    if kind == "Pod" and spec is not None:
        _pod_template_defaults(obj)
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
    if kind == "Deployment" and spec is not None:
        spec.setdefault("replicas", 1)
        spec.setdefault("strategy", {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
    elif kind == "StatefulSet" and spec is not None:
        spec.setdefault("replicas", 1)
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    elif kind == "DaemonSet" and spec is not None:
        spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                           "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        spec.setdefault("revisionHistoryLimit", 10)
    elif kind == "ReplicaSet" and spec is not None:
        spec.setdefault("replicas", 1)
    elif kind == "Job" and spec is not None:
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    elif kind == "Service" and spec is not None:
        _service_defaults(spec, (old or {}).get("spec") or {}, allocate_ip)
    elif kind == "PersistentVolumeClaim" and spec is not None:
        spec.setdefault("volumeMode", "Filesystem")
        spec.setdefault("volumeName", (old or {}).get("spec", {}).get("volumeName")
                        or "pvc-%s" % meta.get("uid", ""))
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict):
            data = obj.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
    elif kind == "PriorityClass":
        obj.setdefault("preemptionPolicy", "PreemptLowerPriority")
    elif kind == "StorageClass":
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
    elif kind == "NetworkPolicy" and spec is not None and "policyTypes" not in spec:
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])


def _service_defaults(spec: dict, old_spec: dict, allocate_ip) -> None:
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        if not spec.get("clusterIP"):
            spec["clusterIP"] = old_spec.get("clusterIP") or allocate_ip()
        spec.setdefault("clusterIPs", [spec["clusterIP"]] if spec["clusterIP"] != "None" else ["None"])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    old_ports = {(p.get("port"), p.get("protocol", "TCP")): p for p in old_spec.get("ports") or []}
    for index, port in enumerate(spec.get("ports") or []):
        if not isinstance(port, dict):
            continue
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
        if spec["type"] in ("NodePort", "LoadBalancer") and "nodePort" not in port:
            previous = old_ports.get((port.get("port"), port["protocol"]), {})
            port["nodePort"] = previous.get("nodePort") or 30000 + (
                int(hashlib.sha256(repr((port.get("port"), index)).encode()).hexdigest(), 16) % 2767)
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")


class IPAllocator:
    """Hands out Service cluster IPs from 10.100.0.0/16 (the EKS default range)."""

    def __init__(self) -> None:
        self.network = ipaddress.ip_network("10.100.0.0/16")
        self.used: set[str] = set()

    def allocate(self) -> str:
        for offset in range(10, self.network.num_addresses - 1):
            candidate = str(self.network.network_address + offset)
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate
        raise RuntimeError("service IP range exhausted")


def _condition(old_status: dict, spec: tuple[str, str, str, str], now: str, update_time: bool = False) -> dict:
    """spec is (type, status, reason, message); an unchanged condition keeps its timestamps."""
    ctype, status, reason, message = spec
    for cond in old_status.get("conditions") or []:
        if cond.get("type") == ctype and cond.get("status") == status and cond.get("reason") == reason:
            return clone(cond)
    out = {"type": ctype, "status": status, "reason": reason, "message": message, "lastTransitionTime": now}
    if update_time:
        out["lastUpdateTime"] = now
    return out


def _template_hash(spec: dict) -> str:
    return hashlib.sha256(repr(spec.get("template")).encode()).hexdigest()[:10]


def _tolerates(taint: dict, tolerations: list) -> bool:
    for tol in tolerations or []:
        if tol.get("operator") == "Exists" and not tol.get("key"):
            return True
        if tol.get("key") != taint.get("key"):
            continue
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists" or tol.get("value") == taint.get("value"):
            return True
    return False


def schedulable_nodes(pod_spec: dict, nodes: list[dict]) -> int:
    selector = pod_spec.get("nodeSelector") or {}
    count = 0
    for node in nodes:
        labels = (node.get("metadata") or {}).get("labels") or {}
        if any(labels.get(k) != v for k, v in selector.items()):
            continue
        taints = [t for t in (node.get("spec") or {}).get("taints") or []
                  if t.get("effect") in ("NoSchedule", "NoExecute")]
        if all(_tolerates(t, pod_spec.get("tolerations")) for t in taints):
            count += 1
    return count


def fake_status(kind: str, obj: dict, now: str, nodes: list[dict]) -> None:
    """Pretend the controllers converged, the way kwok does."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    old = obj.get("status") or {}
    gen = meta.get("generation", 1)
    created = meta.get("creationTimestamp", now)
    if kind == "Namespace":
        obj["status"] = {"phase": "Active"}
    elif kind == "Deployment":
        replicas = spec.get("replicas", 1)
        obj["status"] = {
            "observedGeneration": gen, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas,
            "conditions": [
                _condition(old, ("Available", "True", "MinimumReplicasAvailable",
                                 "Deployment has minimum availability."), now, True),
                _condition(old, ("Progressing", "True", "NewReplicaSetAvailable",
                                 'ReplicaSet "%s-%s" has successfully progressed.' % (
                                     meta.get("name"), _template_hash(spec))), now, True),
            ],
        }
    elif kind == "ReplicaSet":
        replicas = spec.get("replicas", 1)
        obj["status"] = {"observedGeneration": gen, "replicas": replicas, "fullyLabeledReplicas": replicas,
                         "readyReplicas": replicas, "availableReplicas": replicas}
    elif kind == "StatefulSet":
        replicas = spec.get("replicas", 1)
        revision = "%s-%s" % (meta.get("name"), _template_hash(spec))
        obj["status"] = {"observedGeneration": gen, "replicas": replicas, "readyReplicas": replicas,
                         "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas,
                         "currentRevision": revision, "updateRevision": revision, "collisionCount": 0}
    elif kind == "DaemonSet":
        pod_spec = (spec.get("template") or {}).get("spec") or {}
        desired = schedulable_nodes(pod_spec, nodes)
        obj["status"] = {"observedGeneration": gen, "desiredNumberScheduled": desired,
                         "currentNumberScheduled": desired, "numberReady": desired, "numberAvailable": desired,
                         "updatedNumberScheduled": desired, "numberMisscheduled": 0}
    elif kind == "Job":
        if spec.get("suspend"):
            obj["status"] = {}
        else:
            done = spec.get("completions", 1) or 1
            obj["status"] = {
                "startTime": old.get("startTime", now), "completionTime": old.get("completionTime", now),
                "succeeded": done, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {},
                "conditions": [
                    _condition(old, ("SuccessCriteriaMet", "True", "CompletionsReached",
                                     "Reached expected number of succeeded pods"), now),
                    _condition(old, ("Complete", "True", "CompletionsReached",
                                     "Reached expected number of succeeded pods"), now),
                ],
            }
            for cond in obj["status"]["conditions"]:
                cond.setdefault("lastProbeTime", cond["lastTransitionTime"])
    elif kind == "PersistentVolumeClaim":
        requests = (spec.get("resources") or {}).get("requests") or {}
        obj["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                         "capacity": {"storage": requests.get("storage", "1Gi")}}
    elif kind == "PersistentVolume":
        obj["status"] = {"phase": "Bound" if spec.get("claimRef") else "Available"}
    elif kind == "Pod":
        containers = spec.get("containers") or []
        obj["status"] = {
            "phase": "Running", "qosClass": "BestEffort", "podIP": old.get("podIP", "10.0.%d.%d" % (
                int(hashlib.sha256(meta.get("uid", "").encode()).hexdigest()[:2], 16), 10)),
            "startTime": old.get("startTime", created),
            "conditions": [_condition(old, (ctype, "True", "", ""), created)
                           for ctype in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "containerStatuses": [{"name": c.get("name"), "image": c.get("image"), "imageID": "",
                                   "ready": True, "started": True, "restartCount": 0,
                                   "state": {"running": {"startedAt": created}}} for c in containers],
        }
        for cond in obj["status"]["conditions"]:
            cond.pop("reason", None)
            cond.pop("message", None)
    elif kind == "Service":
        lb = {}
        if spec.get("type") == "LoadBalancer":
            ports = [{"port": port.get("port"), "protocol": port.get("protocol", "TCP")}
                     for port in spec.get("ports") or []]
            lb = {"ingress": [{"hostname": _elb_hostname(meta), "ports": ports}]}
        obj["status"] = {"loadBalancer": lb}
    elif kind == "Ingress":
        # As if the AWS Load Balancer Controller had provisioned an ALB.
        obj["status"] = {"loadBalancer": {"ingress": [{"hostname": _elb_hostname(meta)}]}}
    elif kind == "ResourceQuota":
        hard = clone(spec.get("hard") or {})
        obj["status"] = {"hard": hard, "used": {key: "0" for key in hard}} if hard else {}
    elif kind == "PodDisruptionBudget":
        obj["status"] = {"observedGeneration": gen, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0,
                         "disruptionsAllowed": 0, "conditions": [
                             _condition(old, ("DisruptionAllowed", "False", "InsufficientPods", ""), now)]}
        obj["status"]["conditions"][0]["observedGeneration"] = gen
    elif kind == "HorizontalPodAutoscaler":
        replicas = spec.get("minReplicas", 1)
        obj["status"] = {"currentReplicas": replicas, "desiredReplicas": replicas}
    elif kind == "CustomResourceDefinition":
        names = clone(spec.get("names") or {})
        names.setdefault("singular", str(names.get("kind", "")).lower())
        names.setdefault("listKind", "%sList" % names.get("kind", ""))
        obj["status"] = {
            "acceptedNames": names,
            "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")],
            "conditions": [
                _condition(old, ("NamesAccepted", "True", "NoConflicts", "no conflicts found"), now),
                _condition(old, ("Established", "True", "InitialNamesAccepted",
                                 "the initial names have been accepted"), now),
            ],
        }
    elif kind == "APIService":
        obj["status"] = {"conditions": [
            _condition(old, ("Available", "True", "Local", "Local APIServices are always available"), now)]}


def _elb_hostname(meta: dict) -> str:
    digest = hashlib.sha256(("%s/%s" % (meta.get("namespace"), meta.get("name"))).encode()).hexdigest()
    return "k8s-%s-%s-%s.us-east-1.elb.amazonaws.com" % (
        str(meta.get("namespace", ""))[:8], str(meta.get("name", ""))[:8], digest[:10])


def make_nodes(cpu: int = 3, gpu: int = 1) -> list[dict]:
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    nodes = []
    for index in range(cpu + gpu):
        is_gpu = index >= cpu
        zone = zones[index % len(zones)]
        name = "ip-10-0-%d-%d.ec2.internal" % (index % 3, 10 + index)
        labels = {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
            "topology.kubernetes.io/region": "us-east-1", "topology.kubernetes.io/zone": zone,
            "node.kubernetes.io/instance-type": "g5.xlarge" if is_gpu else "m6i.xlarge",
            "eks.amazonaws.com/capacityType": "ON_DEMAND",
            "eks.amazonaws.com/nodegroup": "gpu" if is_gpu else "cpu",
        }
        capacity = {"cpu": "4", "memory": "16069568Ki" if not is_gpu else "16044416Ki",
                    "pods": "58", "ephemeral-storage": "83873772Ki"}
        allocatable = {"cpu": "3920m", "memory": "15378368Ki", "pods": "58", "ephemeral-storage": "76224326324"}
        spec: dict[str, Any] = {"providerID": "aws:///%s/i-%017x" % (zone, 0xabc000 + index)}
        if is_gpu:
            labels["nvidia.com/gpu.present"] = "true"
            labels["k8s.amazonaws.com/accelerator"] = "nvidia-a10g"
            capacity["nvidia.com/gpu"] = "1"
            allocatable["nvidia.com/gpu"] = "1"
            spec["taints"] = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
        nodes.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "spec": spec,
            "status": {
                "capacity": capacity, "allocatable": allocatable,
                "addresses": [{"type": "InternalIP", "address": "10.0.%d.%d" % (index % 3, 10 + index)},
                              {"type": "Hostname", "address": name}],
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                "message": "kubelet is posting ready status"}],
                "nodeInfo": {"kubeletVersion": "v1.32.0-eks-emulated", "containerRuntimeVersion": "containerd://1.7.0",
                             "operatingSystem": "linux", "architecture": "amd64", "osImage": "Amazon Linux 2023",
                             "kernelVersion": "6.1.0", "kubeProxyVersion": "v1.32.0-eks-emulated",
                             "machineID": "", "systemUUID": "", "bootID": ""},
            },
        })
    return nodes


def glob_match(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)
