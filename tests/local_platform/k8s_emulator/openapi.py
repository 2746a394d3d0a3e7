"""Minimal /openapi/v3 documents.

kubectl (1.27+) reads /openapi/v3/<group-version> to learn whether a kind's
PATCH endpoint accepts `fieldValidation`; when it does, kubectl leaves
validation to the server (this emulator validates strictly against the pinned
schema). The documents therefore list, for every served kind, its paths with
the x-kubernetes-group-version-kind extension and the query parameters; they
carry no component schemas.
"""

from __future__ import annotations

import hashlib
import json

from . import schema as sch

_QUERY = ["dryRun", "fieldManager", "fieldValidation", "force", "pretty"]


def _params(names: list[str]) -> list[dict]:
    return [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}} for n in names]


def gv_path(rtype: sch.ResourceType) -> str:
    return "apis/%s/%s" % (rtype.group, rtype.version) if rtype.group else "api/%s" % rtype.version


def document(types: list[sch.ResourceType]) -> dict:
    paths = {}
    for rtype in types:
        gvk = {"group": rtype.group, "version": rtype.version, "kind": rtype.kind}
        base = "/" + gv_path(rtype)
        scope = base + ("/namespaces/{namespace}/" if rtype.namespaced else "/") + rtype.plural
        ok = {"200": {"description": "OK"}}
        paths[scope] = {
            "get": {"x-kubernetes-action": "list", "x-kubernetes-group-version-kind": gvk,
                    "parameters": _params(["labelSelector", "fieldSelector", "limit"]), "responses": ok},
            "post": {"x-kubernetes-action": "post", "x-kubernetes-group-version-kind": gvk,
                     "parameters": _params(_QUERY), "responses": ok},
        }
        paths[scope + "/{name}"] = {
            method: {"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk,
                     "parameters": _params(_QUERY), "responses": ok}
            for method, action in (("get", "get"), ("put", "put"), ("patch", "patch"), ("delete", "delete"))
        }
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": sch.K8S_GIT_VERSION},
            "paths": paths, "components": {"schemas": {}}}


def index(types: list[sch.ResourceType]) -> dict:
    groups: dict[str, list[sch.ResourceType]] = {}
    for rtype in types:
        groups.setdefault(gv_path(rtype), []).append(rtype)
    paths = {}
    for path, members in sorted(groups.items()):
        digest = hashlib.sha256(json.dumps(document(members), sort_keys=True).encode()).hexdigest()[:16].upper()
        paths[path] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (path, digest)}
    return {"paths": paths}


def for_path(types: list[sch.ResourceType], path: str) -> dict | None:
    members = [t for t in types if gv_path(t) == path.strip("/")]
    return document(members) if members else None
