"""meta.k8s.io/v1 Table responses, which kubectl get asks for (server-side printing)."""

from __future__ import annotations

import datetime

from . import schema as sch


def _age(obj: dict) -> str:
    created = (obj.get("metadata") or {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    then = datetime.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    seconds = int((datetime.datetime.now(datetime.timezone.utc) - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return "%d%s" % (seconds // size, unit)
    return "%ds" % max(seconds, 0)


def _extra(kind: str, obj: dict) -> list[tuple[str, str]]:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    if kind == "Namespace":
        return [("Status", status.get("phase", ""))]
    if kind == "Deployment":
        return [("Ready", "%s/%s" % (status.get("readyReplicas", 0), spec.get("replicas", 1))),
                ("Up-to-date", str(status.get("updatedReplicas", 0))),
                ("Available", str(status.get("availableReplicas", 0)))]
    if kind == "StatefulSet":
        return [("Ready", "%s/%s" % (status.get("readyReplicas", 0), spec.get("replicas", 1)))]
    if kind == "Pod":
        statuses = status.get("containerStatuses") or []
        ready = sum(1 for c in statuses if c.get("ready"))
        return [("Ready", "%d/%d" % (ready, len(spec.get("containers") or []))),
                ("Status", status.get("phase", "Pending")), ("Restarts", "0")]
    if kind == "Service":
        ports = ",".join("%s/%s" % (p.get("port"), p.get("protocol", "TCP")) for p in spec.get("ports") or [])
        return [("Type", spec.get("type", "")), ("Cluster-IP", spec.get("clusterIP", "")),
                ("Port(s)", ports or "<none>")]
    if kind == "Node":
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        return [("Status", "Ready" if ready else "NotReady"), ("Roles", "<none>"),
                ("Version", (status.get("nodeInfo") or {}).get("kubeletVersion", ""))]
    if kind == "PersistentVolumeClaim":
        return [("Status", status.get("phase", "")), ("Volume", spec.get("volumeName", ""))]
    if kind == "Job":
        return [("Completions", "%s/%s" % (status.get("succeeded", 0), spec.get("completions", 1)))]
    return []


def table(rtype: sch.ResourceType, items: list[dict], include_object: str = "Object") -> dict:
    sample = _extra(rtype.kind, items[0]) if items else _extra(rtype.kind, {})
    columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    columns += [{"name": label, "type": "string", "format": "", "description": label, "priority": 0}
                for label, _ in sample]
    columns.append({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0})
    rows = []
    for obj in items:
        row = {"cells": [obj["metadata"]["name"]] + [v for _, v in _extra(rtype.kind, obj)] + [_age(obj)]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object == "Metadata":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": columns,
            "rows": rows}
