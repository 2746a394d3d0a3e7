"""aiohttp application: routing, REST semantics, discovery and emulator hooks."""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime
import json
import random
import re
import string
import sys
import time
import uuid
from collections import Counter
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from . import openapi
from . import patch as patches
from . import proxy
from . import schema as sch
from . import status as fake
from . import tables, watch
from .store import Store, clone

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
APPLY = "application/apply-patch+yaml"
STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSONPATCH = "application/json-patch+json"


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = details
        self.headers = headers or {}


def status_body(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(text=json.dumps(body, separators=(",", ":")), status=status,
                        content_type="application/json", headers=headers)


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _resource_ref(rtype: sch.ResourceType) -> str:
    return "%s.%s" % (rtype.plural, rtype.group) if rtype.group else rtype.plural


def not_found(rtype: sch.ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", '%s "%s" not found' % (_resource_ref(rtype), name),
                    {"name": name, "group": rtype.group, "kind": rtype.plural})


class Catalog:
    """Served resource types: the builtin table plus whatever CRDs define."""

    def __init__(self) -> None:
        self.builtin = sch.builtin_types()
        self.crd_types: dict[str, list[sch.ResourceType]] = {}

    def all(self) -> list[sch.ResourceType]:
        out = list(self.builtin)
        for types in self.crd_types.values():
            out.extend(types)
        return out

    def find(self, group: str, version: str, plural: str) -> sch.ResourceType | None:
        for rtype in self.all():
            if rtype.group == group and rtype.version == version and rtype.plural == plural:
                return rtype
        return None

    def group_versions(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for rtype in self.all():
            versions = out.setdefault(rtype.group, [])
            if rtype.version not in versions:
                versions.append(rtype.version)
        return out

    def set_crd(self, crd: dict) -> None:
        self.crd_types[crd["metadata"]["name"]] = sch.crd_types(crd)

    def drop_crd(self, name: str) -> None:
        self.crd_types.pop(name, None)


def _version_priority(version: str) -> tuple:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first."""
    match = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", version)
    if not match:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)


# ------------------------------------------------------------- selectors

_SELECTOR_SPLIT = re.compile(r",(?![^()]*\))")


def parse_label_selector(text: str):
    reqs = []
    for raw in _SELECTOR_SPLIT.split(text or ""):
        part = raw.strip()
        if not part:
            continue
        match = re.match(r"^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$", part)
        if match:
            values = {v.strip() for v in match.group(3).split(",") if v.strip()}
            reqs.append((match.group(1), match.group(2), values))
            continue
        match = re.match(r"^([\w./-]+)\s*(==|!=|=)\s*([\w./-]*)$", part)
        if match:
            op = "!=" if match.group(2) == "!=" else "="
            reqs.append((match.group(1), op, {match.group(3)}))
            continue
        match = re.match(r"^(!?)([\w./-]+)$", part)
        if match:
            reqs.append((match.group(2), "!" if match.group(1) else "exists", set()))
            continue
        raise ApiError(400, "BadRequest", "unable to parse requirement: invalid label selector %r" % part)
    return reqs


def labels_match(reqs, labels: dict) -> bool:
    for key, op, values in reqs:
        present = key in labels
        value = labels.get(key)
        if op == "=" and (not present or value not in values):
            return False
        if op == "!=" and present and value in values:
            return False
        if op == "in" and (not present or value not in values):
            return False
        if op == "notin" and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!" and present:
            return False
    return True


def parse_field_selector(text: str):
    reqs = []
    for raw in (text or "").split(","):
        part = raw.strip()
        if not part:
            continue
        match = re.match(r"^([\w.]+)\s*(==|!=|=)\s*(.*)$", part)
        if not match:
            raise ApiError(400, "BadRequest", "invalid field selector %r" % part)
        reqs.append((match.group(1), match.group(2) == "!=", match.group(3)))
    return reqs


def fields_match(reqs, obj: dict) -> bool:
    for path, negate, want in reqs:
        cur: Any = obj
        for part in path.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        actual = "" if cur is None else (str(cur).lower() if isinstance(cur, bool) else str(cur))
        if (actual == want) == negate:
            return False
    return True


# ------------------------------------------------------------------ server

class Emulator:
    def __init__(self, state_dir: str | None = None, backends: list[proxy.Backend] | None = None,
                 cpu_nodes: int = 3, gpu_nodes: int = 1, port: int = 0) -> None:
        self.store = Store(state_dir)
        self.events = watch.EventLog()
        self.catalog = Catalog()
        self.ips = fake.IPAllocator()
        self.backends = list(backends or [])
        self.faults: list[dict] = []
        self.stats: Counter = Counter()
        self.port = port
        self.session: aiohttp.ClientSession | None = None
        self._flusher: asyncio.Task | None = None
        if not self.store.load():
            self._seed(cpu_nodes, gpu_nodes)
        self.store.on_change = self.events.record
        for _key, _okey, obj in self.store.all_items():
            if obj.get("kind") == "CustomResourceDefinition":
                self.catalog.set_crd(obj)
            if obj.get("kind") == "Service":
                self.ips.used.add(((obj.get("spec") or {}).get("clusterIP") or ""))

    # ---------------------------------------------------------- seeding

    def _seed(self, cpu_nodes: int, gpu_nodes: int) -> None:
        ts = now()
        for node in fake.make_nodes(cpu_nodes, gpu_nodes):
            meta = node["metadata"]
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=ts)
            self.store.put(("", "nodes"), node)
        self._seed_namespaces()

    def _seed_namespaces(self) -> None:
        ns_type = self.catalog.find("", "v1", "namespaces")
        for name in DEFAULT_NAMESPACES:
            if self.store.get(("", "namespaces"), "", name) is None:
                self._write(ns_type, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                            manager="kube-apiserver", operation="Update")

    def reset(self) -> None:
        for key in list(self.store.objects):
            if key == ("", "nodes"):
                continue
            if key == ("", "namespaces"):
                bucket = self.store.objects[key]
                for okey in [k for k in bucket if k[1] not in DEFAULT_NAMESPACES]:
                    del bucket[okey]
                continue
            self.store.drop_kind(key)
        self.catalog.crd_types.clear()
        self.ips.used.clear()
        for name in DEFAULT_NAMESPACES:
            self._namespace_children(name)
        self._seed_namespaces()
        self.store.dirty = True

    # ------------------------------------------------------------ app

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/version", self.version)
        app.router.add_route("GET", "/version/", self.version)
        for path in ("/healthz", "/livez", "/readyz"):
            app.router.add_route("GET", path, self.healthz)
        app.router.add_route("GET", "/api", self.api_versions)
        app.router.add_route("GET", "/apis", self.api_groups)
        app.router.add_route("GET", "/_emulator/stats", self.get_stats)
        app.router.add_route("POST", "/_emulator/faults", self.post_faults)
        app.router.add_route("DELETE", "/_emulator/faults", self.clear_faults)
        app.router.add_route("POST", "/_emulator/reset", self.post_reset)
        app.router.add_route("GET", "/_emulator/proxy-backends", self.get_backends)
        app.router.add_route("POST", "/_emulator/proxy-backends", self.post_backends)
        app.router.add_route("GET", "/openapi/v3", self.openapi_index)
        app.router.add_route("GET", "/openapi/v3/{tail:.*}", self.openapi_doc)
        app.router.add_route("*", "/api/{tail:.*}", self.core_api)
        app.router.add_route("*", "/apis/{tail:.*}", self.group_api)
        app.on_startup.append(self._on_startup)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def _on_startup(self, _app) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    async def _on_cleanup(self, _app) -> None:
        if self._flusher:
            self._flusher.cancel()
        if self.store.dirty:
            self.store.save()
        if self.session:
            await self.session.close()

    async def _flush_loop(self) -> None:
        # Batch persistence: saving on every write would be quadratic when a
        # benchmark applies thousands of objects, so saves are spaced out to
        # take at most ~5% of the event loop however large the state grows.
        pause = 0.2
        while True:
            await asyncio.sleep(pause)
            if self.store.dirty:
                started = time.monotonic()
                self.store.save()
                pause = max(0.2, 20 * (time.monotonic() - started))

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        started = time.monotonic()
        status = 500
        try:
            if not request.path.startswith("/_emulator/"):
                self._count(request)
                fault = self._take_fault(request)
                if fault:
                    raise fault
            response = await handler(request)
            status = response.status
            return response
        except ApiError as err:
            status = err.code
            return json_response(status_body(err.code, err.reason, err.message, err.details), err.code,
                                 headers=err.headers)
        except web.HTTPException as exc:
            status = exc.status
            raise
        except Exception as exc:
            status = 500
            print("k8s-emulator: internal error on %s %s: %r" % (request.method, request.path_qs, exc),
                  file=sys.stderr)
            return json_response(status_body(500, "InternalError", "internal error: %s" % exc), 500)
        finally:
            elapsed_ms = (time.monotonic() - started) * 1000
            line = "%s %s %d %.1fms" % (request.method, request.path_qs, status, elapsed_ms)
            print(line, file=sys.stderr, flush=True)

    def _count(self, request: web.Request) -> None:
        self.stats["%s %s" % (request.method, path_pattern(request.path))] += 1

    def _take_fault(self, request: web.Request) -> ApiError | None:
        for fault in self.faults:
            if fault["count"] > 0 and re.search(fault["path_regex"], request.path_qs):
                fault["count"] -= 1
                if fault["status"] == 429:
                    return ApiError(429, "TooManyRequests", "injected fault: too many requests",
                                    {"retryAfterSeconds": 1}, headers={"Retry-After": "1"})
                return ApiError(fault["status"], "InternalError", "injected fault")
        self.faults = [f for f in self.faults if f["count"] > 0]
        return None

    # -------------------------------------------------- emulator hooks

    async def get_stats(self, _request):
        return json_response({"requests": dict(sorted(self.stats.items())),
                              "total": sum(self.stats.values()),
                              "resourceVersion": self.store.rv,
                              "faults": self.faults})

    async def post_faults(self, request):
        body = await self._read_json(request)
        status = body.get("status")
        count = body.get("count", 1)
        regex = body.get("path_regex", ".*")
        if status not in (429, 500, 502, 503, 504) or not isinstance(count, int) or count < 1:
            raise ApiError(400, "BadRequest", "faults need status in (429, 500, 502, 503, 504) and count >= 1")
        try:
            re.compile(regex)
        except re.error as exc:
            raise ApiError(400, "BadRequest", "path_regex: %s" % exc) from exc
        self.faults.append({"status": status, "count": count, "path_regex": regex})
        return json_response({"faults": self.faults}, 201)

    async def clear_faults(self, _request):
        self.faults = []
        return json_response({"faults": []})

    async def post_reset(self, _request):
        self.reset()
        self.stats.clear()
        self.faults = []
        return json_response({"status": "reset", "resourceVersion": self.store.rv})

    async def get_backends(self, _request):
        return json_response({"backends": [b.to_dict() for b in self.backends]})

    async def post_backends(self, request):
        body = await self._read_json(request)
        try:
            self.backends.append(proxy.parse_backend(body.get("backend", "")))
        except ValueError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from exc
        return json_response({"backends": [b.to_dict() for b in self.backends]}, 201)

    # ------------------------------------------------------ discovery

    async def healthz(self, _request):
        return web.Response(text="ok")

    async def version(self, _request):
        major, minor = sch.K8S_VERSION.split(".")
        return json_response({"major": major, "minor": minor, "gitVersion": sch.K8S_GIT_VERSION,
                              "gitCommit": "emulated", "gitTreeState": "clean",
                              "buildDate": "2024-12-11T00:00:00Z", "goVersion": "go1.23.0",
                              "compiler": "gc", "platform": "linux/amd64"})

    def _server_address(self, request) -> list[dict]:
        return [{"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}]

    async def api_versions(self, request):
        return json_response({"kind": "APIVersions", "versions": ["v1"],
                              "serverAddressByClientCIDRs": self._server_address(request)})

    def _group_doc(self, group: str, versions: list[str]) -> dict:
        ordered = sorted(versions, key=_version_priority)
        entries = [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in ordered]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    async def api_groups(self, request):
        groups = [self._group_doc(g, vs) for g, vs in self.catalog.group_versions().items() if g]
        return json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})

    def _resource_list(self, group: str, version: str) -> dict:
        resources = []
        for rtype in self.catalog.all():
            if rtype.group == group and rtype.version == version:
                resources.extend(rtype.api_resources())
        if not resources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        gv = "%s/%s" % (group, version) if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    async def openapi_index(self, _request):
        return json_response(openapi.index(self.catalog.all()))

    async def openapi_doc(self, request):
        doc = openapi.for_path(self.catalog.all(), request.match_info["tail"])
        if doc is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return json_response(doc)

    # ------------------------------------------------------------ routing

    async def core_api(self, request):
        parts = [p for p in request.match_info["tail"].split("/")]
        if parts and parts[-1] == "" and len(parts) > 1:
            parts = parts[:-1]
        if parts in ([""], []):
            return await self.api_versions(request)
        if parts[0] != "v1":
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if len(parts) == 1:
            return json_response(self._resource_list("", "v1"))
        return await self._dispatch(request, "", "v1", parts[1:])

    async def group_api(self, request):
        parts = request.match_info["tail"].split("/")
        if len(parts) > 1 and parts[-1] == "":
            parts = parts[:-1]
        if parts in ([""], []):
            return await self.api_groups(request)
        group = parts[0]
        versions = self.catalog.group_versions().get(group)
        if not versions or group == "":
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if len(parts) == 1:
            doc = self._group_doc(group, versions)
            doc.update(kind="APIGroup", apiVersion="v1")
            return json_response(doc)
        if parts[1] not in versions:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if len(parts) == 2:
            return json_response(self._resource_list(group, parts[1]))
        return await self._dispatch(request, group, parts[1], parts[2:])

    async def _dispatch(self, request, group: str, version: str, rest: list[str]):
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            namespace = rest[1]
            rest = rest[2:]
        rtype = self.catalog.find(group, version, rest[0])
        if rtype is None or (namespace is not None and not rtype.namespaced):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if name is not None and rtype.namespaced and namespace is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if sub == "proxy" and rtype.kind == "Service":
            match = re.search(r"/services/[^/]+/proxy(/.*)?$", request.raw_path.split("?", 1)[0])
            return await self.service_proxy(request, namespace, name, (match.group(1) if match else "") or "/")
        if len(rest) > 3 or (sub is not None and sub not in rtype.subresources):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        method = request.method
        if rtype.review:
            if method != "POST" or name is not None:
                raise ApiError(405, "MethodNotAllowed", "reviews only support create")
            return await self.review(request, rtype)
        if name is None:
            if method == "GET":
                return await self.list_objects(request, rtype, namespace)
            if method == "POST":
                return await self.create(request, rtype, namespace)
            if method == "DELETE":
                return await self.delete_collection(request, rtype, namespace)
        else:
            if sub == "scale":
                return await self.scale(request, rtype, namespace, name)
            if method == "GET":
                obj = self._get_or_404(rtype, namespace, name)
                return self._respond(request, rtype, obj)
            if method == "PUT":
                return await self.replace(request, rtype, namespace, name, sub)
            if method == "PATCH":
                return await self.patch(request, rtype, namespace, name, sub)
            if method == "DELETE" and sub is None:
                return await self.delete(request, rtype, namespace, name)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    # ----------------------------------------------------------- helpers

    async def _read_json(self, request) -> Any:
        raw = await request.read()
        if not raw:
            return {}
        if "protobuf" in request.headers.get("Content-Type", ""):
            raise ApiError(415, "UnsupportedMediaType", "the emulator does not decode protobuf bodies; send "
                           "JSON (kubectl apply/patch and dynamic clients do)")
        try:
            return json.loads(raw)
        except ValueError:
            pass
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ApiError(400, "BadRequest", "error decoding request body: %s" % exc) from exc

    def _respond(self, request, rtype: sch.ResourceType, obj: dict, status: int = 200):
        out = self._present(rtype, obj)
        if "as=Table" in request.headers.get("Accept", ""):
            return json_response(tables.table(rtype, [out], request.query.get("includeObject", "Object")), status)
        return json_response(out, status)

    def _present(self, rtype: sch.ResourceType, obj: dict) -> dict:
        # CRD versions share storage; objects read back in the requested version
        # (no conversion webhooks exist here).
        if obj.get("apiVersion") != rtype.api_version:
            obj = dict(obj, apiVersion=rtype.api_version)
        return obj

    def _get_or_404(self, rtype, namespace, name) -> dict:
        obj = self.store.get((rtype.group, rtype.plural), namespace or "", name)
        if obj is None:
            raise not_found(rtype, name)
        return obj

    def _require_namespace(self, rtype, namespace: str | None) -> None:
        if rtype.namespaced and self.store.get(("", "namespaces"), "", namespace or "") is None:
            raise ApiError(404, "NotFound", 'namespaces "%s" not found' % namespace,
                           {"name": namespace, "kind": "namespaces"})

    def _invalid(self, rtype, name: str, causes: list[dict]) -> ApiError:
        summary = "; ".join("%s: %s" % (c["field"], c["message"]) for c in causes[:5])
        kind_ref = "%s.%s" % (rtype.kind, rtype.group) if rtype.group else rtype.kind
        return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (kind_ref, name, summary),
                        {"name": name, "group": rtype.group, "kind": rtype.kind, "causes": causes})

    def _check_body(self, rtype, body: Any, namespace: str | None, name: str | None) -> dict:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be a JSON/YAML object")
        body = clone(body)
        # Typed clients may omit apiVersion/kind; the URL decides, as on the real server.
        api_version = body.setdefault("apiVersion", rtype.api_version) or rtype.api_version
        kind = body.setdefault("kind", rtype.kind) or rtype.kind
        body["apiVersion"], body["kind"] = api_version, kind
        if api_version != rtype.api_version or kind != rtype.kind:
            raise ApiError(400, "BadRequest", "the API version in the data (%s) does not match the expected "
                           "API version (%s) or kind %r does not match %r" % (
                               api_version, rtype.api_version, kind, rtype.kind))
        meta = body.get("metadata")
        if meta is None:
            meta = body["metadata"] = {}
        if not isinstance(meta, dict):
            raise self._invalid(rtype, name or "", [{"reason": "FieldValueInvalid", "field": "metadata",
                                                     "message": "Invalid value: metadata must be an object"}])
        if rtype.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the "
                               "namespace sent on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if name is not None:
            if meta.get("name") and meta["name"] != name:
                raise ApiError(400, "BadRequest", "the name of the object (%s) does not match the name on the "
                               "URL (%s)" % (meta["name"], name))
            meta["name"] = name
        return body

    def _manager(self, request, default_suffix: str = "") -> str:
        manager = request.query.get("fieldManager")
        if manager:
            return manager
        agent = request.headers.get("User-Agent", "unknown")
        return agent.split("/", 1)[0] + default_suffix

    @staticmethod
    def _dry_run(request) -> bool:
        values = request.query.getall("dryRun", [])
        for value in values:
            if value != "All":
                raise ApiError(400, "BadRequest", 'unsupported dryRun value %r (only "All")' % value)
        return bool(values)

    def _root_schema(self, rtype):
        if rtype.crd_schema is not None:
            return rtype.crd_schema
        return sch.builtin_root_schema(rtype.group, rtype.version, rtype.kind)

    def _nodes(self) -> list[dict]:
        return self.store.list(("", "nodes"))

    # ------------------------------------------------------------ writes

    def _write(self, rtype, old: dict | None, new: dict, *, manager: str, operation: str, dry_run: bool = False,
               subresource: str = "", applied: bool = False) -> tuple[dict, bool]:
        """Default, validate, fake status and store `new`; return (object, changed).

        `applied` means managedFields were already computed by server-side apply.
        """
        ts = now()
        meta = new.setdefault("metadata", {})
        name = meta.get("name")
        if not name:
            if old is None and meta.get("generateName"):
                name = meta["generateName"] + "".join(random.choices(  # noqa: S311 - names, not secrets
                    string.ascii_lowercase + string.digits, k=5))
                meta["name"] = name
            else:
                raise self._invalid(rtype, "", [{"reason": "FieldValueRequired", "field": "metadata.name",
                                                 "message": "Required value: name or generateName is required"}])
        problem = sch.name_errors(rtype.kind, name)
        if problem:
            raise self._invalid(rtype, name, [{"reason": "FieldValueInvalid", "field": "metadata.name",
                                               "message": 'Invalid value: "%s": %s' % (name, problem)}])
        if old is None:
            self._require_namespace(rtype, meta.get("namespace"))
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = ts
        else:
            for key in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                if key in old["metadata"]:
                    meta[key] = old["metadata"][key]
                else:
                    meta.pop(key, None)
        meta.pop("resourceVersion", None)
        meta.pop("selfLink", None)
        if subresource == "status":
            # A status write may only change status.
            status = new.get("status")
            new = clone(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
            meta = new["metadata"]
        elif "status" in rtype.subresources:
            # With a status subresource, writes to the main resource ignore status.
            if old is not None and "status" in old:
                new["status"] = clone(old["status"])
            else:
                new.pop("status", None)
        if rtype.kind == "Namespace":
            meta.setdefault("labels", {})
        if rtype.kind == "Secret" and rtype.group == "":
            _check_base64(new.get("data"))
        fake.apply_defaults(rtype.kind, new, old, self.ips.allocate)
        if isinstance(meta.get("labels"), dict) and not meta["labels"]:
            meta.pop("labels")
        # managedFields are ours, and status kept from the stored object was
        # validated when written; leaving both out makes re-applies cache hits.
        checked = dict(new, metadata={k: v for k, v in meta.items() if k != "managedFields"})
        if subresource != "status" and "status" in rtype.subresources:
            checked.pop("status", None)
        causes = sch.validation_causes(rtype, checked)
        causes.extend(self._semantic_checks(rtype, new))
        if old is not None:
            causes.extend(_immutable_checks(rtype.kind, old, new))
        if causes:
            raise self._invalid(rtype, name, causes)
        if rtype.kind in fake.GENERATION_KINDS or rtype.crd_schema is not None:
            if old is None:
                meta["generation"] = 1
            elif _spec_part(old) != _spec_part(new):
                meta["generation"] = old["metadata"].get("generation", 0) + 1
        if subresource != "status":
            fake.fake_status(rtype.kind, new, ts, self._nodes())
        if not applied:
            new = patches.record_update(old, new, self._root_schema(rtype), manager=manager,
                                        api_version=rtype.api_version, now=ts, subresource=subresource)
        if old is not None:
            if _without_rv(old) == _without_rv(new):
                return old, False
            patches.touch_manager(new, manager, "Apply" if applied else "Update", ts, subresource)
            new["metadata"]["resourceVersion"] = old["metadata"].get("resourceVersion")
        if rtype.kind == "Service":
            self.ips.used.add((new.get("spec") or {}).get("clusterIP") or "")
        if dry_run:
            return new, True
        self.store.put((rtype.group, rtype.plural), new)
        self._after_write(rtype, old, new)
        return new, True

    def _semantic_checks(self, rtype, obj: dict) -> list[dict]:
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        causes = _label_errors("metadata.labels", (obj.get("metadata") or {}).get("labels"))
        template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
        causes += _label_errors("spec.template.metadata.labels", (template.get("metadata") or {}).get("labels"))
        if rtype.kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
            selector = spec.get("selector")
            if not isinstance(selector, dict) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
                causes.append({"reason": "FieldValueRequired", "field": "spec.selector",
                               "message": "Required value"})
            else:
                labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
                wanted = selector.get("matchLabels") or {}
                if any(labels.get(k) != v for k, v in wanted.items()):
                    causes.append({"reason": "FieldValueInvalid", "field": "spec.template.metadata.labels",
                                   "message": "Invalid value: %s: `selector` does not match template `labels`"
                                   % json.dumps(labels)})
            template = spec.get("template") or {}
            if not ((template.get("spec") or {}).get("containers")):
                causes.append({"reason": "FieldValueRequired", "field": "spec.template.spec.containers",
                               "message": "Required value"})
        if rtype.kind == "Pod" and not spec.get("containers"):
            causes.append({"reason": "FieldValueRequired", "field": "spec.containers", "message": "Required value"})
        if rtype.kind == "CustomResourceDefinition":
            names = spec.get("names") or {}
            expected = "%s.%s" % (names.get("plural"), spec.get("group"))
            if obj["metadata"]["name"] != expected:
                causes.append({"reason": "FieldValueInvalid", "field": "metadata.name",
                               "message": 'Invalid value: "%s": must be spec.names.plural+"."+spec.group'
                               % obj["metadata"]["name"]})
            if sum(1 for v in spec.get("versions") or [] if v.get("storage")) != 1:
                causes.append({"reason": "FieldValueInvalid", "field": "spec.versions",
                               "message": "Invalid value: must have exactly one version marked as storage version"})
        return causes

    def _after_write(self, rtype, old: dict | None, new: dict) -> None:
        if rtype.kind == "CustomResourceDefinition" and rtype.group == "apiextensions.k8s.io":
            self.catalog.set_crd(new)
        if rtype.kind == "Namespace" and rtype.group == "" and old is None:
            self._namespace_children(new["metadata"]["name"])

    def _namespace_children(self, namespace: str) -> None:
        # The real control plane's controllers put these in every namespace.
        sa_type = self.catalog.find("", "v1", "serviceaccounts")
        cm_type = self.catalog.find("", "v1", "configmaps")
        if self.store.get(("", "serviceaccounts"), namespace, "default") is None:
            self._write_child(sa_type, {"apiVersion": "v1", "kind": "ServiceAccount",
                                        "metadata": {"name": "default", "namespace": namespace}})
        if self.store.get(("", "configmaps"), namespace, "kube-root-ca.crt") is None:
            self._write_child(cm_type, {"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": "kube-root-ca.crt", "namespace": namespace,
                                                     "annotations": {"kubernetes.io/description": "Contains a "
                                                                     "CA bundle for the emulated cluster."}},
                                        "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nZW11bGF0ZWQ=\n"
                                                           "-----END CERTIFICATE-----\n"}})

    def _write_child(self, rtype, obj: dict) -> None:
        if self.store.get(("", "namespaces"), "", obj["metadata"]["namespace"]) is None:
            return
        self._write(rtype, None, obj, manager="kube-controller-manager", operation="Update")

    async def create(self, request, rtype, namespace):
        body = self._check_body(rtype, await self._read_json(request), namespace, None)
        name = body["metadata"].get("name")
        self._require_namespace(rtype, namespace)
        if name and self.store.get((rtype.group, rtype.plural), namespace or "", name) is not None:
            raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (_resource_ref(rtype), name),
                           {"name": name, "group": rtype.group, "kind": rtype.plural})
        obj, _ = self._write(rtype, None, body, manager=self._manager(request), operation="Update",
                             dry_run=self._dry_run(request))
        return self._respond(request, rtype, obj, 201)

    async def replace(self, request, rtype, namespace, name, sub):
        old = self._get_or_404(rtype, namespace, name)
        body = self._check_body(rtype, await self._read_json(request), namespace, name)
        wanted_rv = body["metadata"].get("resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise self._conflict(rtype, name)
        obj, _ = self._write(rtype, old, body, manager=self._manager(request), operation="Update",
                             dry_run=self._dry_run(request),
                             subresource=sub or "")
        return self._respond(request, rtype, obj)

    def _conflict(self, rtype, name) -> ApiError:
        return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                        "please apply your changes to the latest version and try again"
                        % (_resource_ref(rtype), name), {"name": name, "group": rtype.group, "kind": rtype.plural})

    async def patch(self, request, rtype, namespace, name, sub):
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        body = await self._read_json(request)
        dry_run = self._dry_run(request)
        key = (rtype.group, rtype.plural)
        old = self.store.get(key, namespace or "", name)
        root = self._root_schema(rtype)
        if content_type == APPLY:
            manager = request.query.get("fieldManager")
            if not manager:
                raise ApiError(400, "BadRequest", "fieldManager is required for apply requests: "
                               "pass ?fieldManager=NAME")
            force = request.query.get("force", "false").lower() in ("true", "1", "yes")
            config = self._check_body(rtype, body, namespace, name)
            if old is None:
                if sub:
                    raise not_found(rtype, name)
                self._require_namespace(rtype, namespace)
            if sub == "status":
                # Status field ownership is not tracked (see README).
                merged = clone(old)
                merged["status"] = patches.merge_patch(old.get("status") or {}, config.get("status") or {})
            else:
                try:
                    merged = patches.server_side_apply(old, config, root, manager=manager, force=force,
                                                       api_version=rtype.api_version, now=now())
                except patches.PatchError as err:
                    raise ApiError(err.code, err.reason, err.message,
                                   {"name": name, "group": rtype.group, "kind": rtype.plural,
                                    "causes": err.causes}) from err
            obj, _ = self._write(rtype, old, merged, manager=manager, operation="Apply", dry_run=dry_run,
                                 subresource=sub or "",
                                 applied=True)
            return self._respond(request, rtype, obj, 200 if old is not None else 201)
        if old is None:
            raise not_found(rtype, name)
        try:
            if content_type == MERGE:
                new = patches.merge_patch(old, body)
            elif content_type == JSONPATCH:
                new = patches.json_patch(old, body)
            elif content_type == STRATEGIC:
                if rtype.crd_schema is not None:
                    raise ApiError(415, "UnsupportedMediaType", "strategic merge patch is not supported for "
                                   "custom resources; use merge-patch or apply")
                new = patches.strategic_merge(old, body, root)
            else:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                               "accepted media types include: %s, %s, %s, %s" % (
                                   JSONPATCH, MERGE, APPLY, STRATEGIC))
        except patches.PatchError as err:
            raise ApiError(err.code, err.reason, err.message) from err
        if not isinstance(new, dict):
            raise ApiError(422, "Invalid", "patch result is not an object")
        wanted_rv = (new.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise self._conflict(rtype, name)
        new = self._check_body(rtype, new, namespace, name)
        obj, _ = self._write(rtype, old, new, manager=self._manager(request), operation="Update", dry_run=dry_run,
                             subresource=sub or "")
        return self._respond(request, rtype, obj)

    async def review(self, request, rtype):
        if "protobuf" in request.headers.get("Content-Type", ""):
            # kubectl auth can-i posts protobuf; the answer does not depend on
            # the question, so the body is not decoded and JSON is returned.
            await request.read()
            body = {"apiVersion": rtype.api_version, "kind": rtype.kind, "metadata": {}, "spec": {}}
        else:
            body = self._check_body(rtype, await self._read_json(request), None, None)
            causes = sch.validation_causes(rtype, body)
            if causes:
                raise self._invalid(rtype, "", causes)
        if rtype.kind == "SelfSubjectRulesReview":
            body["status"] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                              "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
        else:
            body["status"] = {"allowed": True, "reason": "authorization is not emulated"}
        return json_response(body, 201)

    async def scale(self, request, rtype, namespace, name):
        old = self._get_or_404(rtype, namespace, name)

        def to_scale(obj):
            status = obj.get("status") or {}
            selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                    "metadata": {"name": name, "namespace": namespace, "uid": obj["metadata"]["uid"],
                                 "resourceVersion": obj["metadata"]["resourceVersion"],
                                 "creationTimestamp": obj["metadata"]["creationTimestamp"]},
                    "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
                    "status": {"replicas": status.get("replicas", 0),
                               "selector": ",".join("%s=%s" % kv for kv in sorted(selector.items()))}}

        if request.method == "GET":
            return json_response(to_scale(old))
        body = await self._read_json(request)
        if request.method == "PUT":
            replicas = ((body or {}).get("spec") or {}).get("replicas")
        elif request.method == "PATCH":
            content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
            current = to_scale(old)
            patched = patches.json_patch(current, body) if content_type == JSONPATCH else patches.merge_patch(
                current, body)
            replicas = (patched.get("spec") or {}).get("replicas")
        else:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on scale")
        if not isinstance(replicas, int) or replicas < 0:
            raise self._invalid(rtype, name, [{"reason": "FieldValueInvalid", "field": "spec.replicas",
                                               "message": "Invalid value: must be a non-negative integer"}])
        new = clone(old)
        new["spec"]["replicas"] = replicas
        obj, _ = self._write(rtype, old, new, manager=self._manager(request), operation="Update",
                             dry_run=self._dry_run(request),
                             subresource="scale")
        return json_response(to_scale(obj))

    # ------------------------------------------------------- read/delete

    async def list_objects(self, request, rtype, namespace):
        labels = parse_label_selector(request.query.get("labelSelector", ""))
        fields = parse_field_selector(request.query.get("fieldSelector", ""))
        if request.query.get("watch") in ("true", "1"):
            def matches(obj: dict) -> bool:
                meta = obj.get("metadata") or {}
                return ((namespace is None or meta.get("namespace") == namespace)
                        and (not labels or labels_match(labels, meta.get("labels") or {}))
                        and (not fields or fields_match(fields, obj)))

            key = (rtype.group, rtype.plural)
            initial = [o for o in self.store.list(key, namespace) if matches(o)]
            return await watch.serve(request, self.events, key, initial=initial, current_rv=self.store.rv,
                                     matches=matches, present=lambda obj: self._present(rtype, obj))
        items = []
        for obj in self.store.list((rtype.group, rtype.plural), namespace):
            if labels and not labels_match(labels, (obj.get("metadata") or {}).get("labels") or {}):
                continue
            if fields and not fields_match(fields, obj):
                continue
            items.append(self._present(rtype, obj))
        if "as=Table" in request.headers.get("Accept", ""):
            doc = tables.table(rtype, items, request.query.get("includeObject", "Object"))
            doc["metadata"] = {"resourceVersion": str(self.store.rv)}
            return json_response(doc)
        return json_response({"kind": "%sList" % rtype.kind, "apiVersion": rtype.api_version,
                              "metadata": {"resourceVersion": str(self.store.rv)}, "items": items})

    def _remove(self, rtype, obj: dict) -> None:
        meta = obj["metadata"]
        self.store.delete((rtype.group, rtype.plural), meta.get("namespace") or "", meta["name"])
        if rtype.kind == "Namespace" and rtype.group == "":
            for key, okey, _obj in list(self.store.all_items()):
                if okey[0] == meta["name"]:
                    self.store.delete(key, okey[0], okey[1])
        if rtype.kind == "CustomResourceDefinition" and rtype.group == "apiextensions.k8s.io":
            group = (obj.get("spec") or {}).get("group", "")
            plural = ((obj.get("spec") or {}).get("names") or {}).get("plural", "")
            self.store.drop_kind((group, plural))
            self.catalog.drop_crd(meta["name"])

    def _deleted_body(self, rtype, obj: dict) -> dict:
        if rtype.kind == "Namespace" and rtype.group == "":
            # The real server answers with the Terminating namespace; here
            # finalisation is instant and a follow-up GET returns 404.
            out = clone(obj)
            out["metadata"]["deletionTimestamp"] = now()
            out["status"] = {"phase": "Terminating"}
            return out
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": obj["metadata"]["name"], "group": rtype.group, "kind": rtype.plural,
                            "uid": obj["metadata"].get("uid")}}

    async def delete(self, request, rtype, namespace, name):
        obj = self._get_or_404(rtype, namespace, name)
        if rtype.kind == "Namespace" and rtype.group == "" and name in ("default", "kube-system", "kube-public"):
            raise ApiError(403, "Forbidden", 'namespaces "%s" is forbidden: this namespace may not be deleted' % name,
                           {"name": name, "kind": "namespaces"})
        body = await self._read_json(request)
        policy = request.query.get("propagationPolicy") or (body or {}).get("propagationPolicy")
        if policy and policy not in ("Foreground", "Background", "Orphan"):
            raise ApiError(400, "BadRequest", "propagationPolicy must be Foreground, Background or Orphan")
        preconditions = (body or {}).get("preconditions") or {}
        if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != obj["metadata"].get(
                "resourceVersion"):
            raise self._conflict(rtype, name)
        if preconditions.get("uid") and preconditions["uid"] != obj["metadata"].get("uid"):
            raise self._conflict(rtype, name)
        if not self._dry_run(request):
            self._remove(rtype, obj)
        return json_response(self._deleted_body(rtype, obj))

    async def delete_collection(self, request, rtype, namespace):
        labels = parse_label_selector(request.query.get("labelSelector", ""))
        fields = parse_field_selector(request.query.get("fieldSelector", ""))
        dry_run = self._dry_run(request)
        removed = []
        for obj in self.store.list((rtype.group, rtype.plural), namespace):
            if labels and not labels_match(labels, (obj.get("metadata") or {}).get("labels") or {}):
                continue
            if fields and not fields_match(fields, obj):
                continue
            removed.append(self._present(rtype, obj))
            if not dry_run:
                self._remove(rtype, obj)
        return json_response({"kind": "%sList" % rtype.kind, "apiVersion": rtype.api_version,
                              "metadata": {"resourceVersion": str(self.store.rv)}, "items": removed})

    # -------------------------------------------------------------- proxy

    async def service_proxy(self, request, namespace, ref, path):
        svc_type = self.catalog.find("", "v1", "services")
        name, port = proxy.split_service_ref(ref)
        service = self.store.get(("", "services"), namespace or "", name)
        if service is None:
            raise not_found(svc_type, name)
        resolved = proxy.resolve_port(service, port)
        backend = None
        if resolved is not None:
            backend = next((b for b in self.backends if b.matches(namespace, name, resolved)), None)
        if backend is None:
            raise ApiError(503, "ServiceUnavailable", 'no endpoints available for service "%s"' % ref)
        try:
            return await proxy.forward(request, self.session, backend.url, path)
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
            raise ApiError(503, "ServiceUnavailable", "error trying to reach service: %s" % exc) from exc


def path_pattern(path: str) -> str:
    """/api/v1/namespaces/x/pods/y/status -> /api/v1/namespaces/{namespace}/pods/{name}/status"""
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) > 2:
        head, rest = parts[:2], parts[2:]
    elif parts[0] == "apis" and len(parts) > 3:
        head, rest = parts[:3], parts[3:]
    else:
        return path
    if rest[0] == "namespaces" and len(rest) > 2 and rest[2] not in ("status", "finalize"):
        head += ["namespaces", "{namespace}"]
        rest = rest[2:]
    out = head + rest[:1]
    if len(rest) > 1:
        out.append("{name}")
    if len(rest) > 2:
        out.append(rest[2])
    if len(rest) > 3:
        out.append("{path}")
    return "/" + "/".join(out)


def _check_base64(data: Any) -> None:
    for key, value in (data or {}).items() if isinstance(data, dict) else ():
        try:
            base64.b64decode(value if isinstance(value, str) else "", validate=True)
        except (binascii.Error, ValueError) as exc:
            # The real server fails decoding before validation, hence 400 rather than 422.
            raise ApiError(400, "BadRequest", 'Secret in version "v1" cannot be handled as a Secret: illegal '
                           "base64 data in data[%s]" % key) from exc


_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def _label_errors(field: str, labels: Any) -> list[dict]:
    if not isinstance(labels, dict):
        return []
    causes = []
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        if (prefix and sch.name_errors("ConfigMap", prefix)) or len(name) > 63 or not _LABEL_NAME.match(name):
            causes.append({"reason": "FieldValueInvalid", "field": field,
                           "message": 'Invalid value: "%s": name part must consist of alphanumeric characters, '
                           "'-', '_' or '.', and must start and end with an alphanumeric character" % key})
        if isinstance(value, str) and value and (len(value) > 63 or not _LABEL_NAME.match(value)):
            causes.append({"reason": "FieldValueInvalid", "field": "%s[%s]" % (field, key),
                           "message": 'Invalid value: "%s": a valid label must be an empty string or consist of '
                           "alphanumeric characters, '-', '_' or '.' (at most 63)" % value})
    return causes


# (kind, dotted path) pairs the real API server refuses to change after creation.
_IMMUTABLE = {
    "Deployment": ["spec.selector"], "StatefulSet": ["spec.selector", "spec.serviceName"],
    "DaemonSet": ["spec.selector"], "ReplicaSet": ["spec.selector"],
    "Job": ["spec.selector", "spec.template", "spec.completionMode"],
    "RoleBinding": ["roleRef"], "ClusterRoleBinding": ["roleRef"],
    "StorageClass": ["provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"],
    "Service": ["spec.clusterIP"], "PersistentVolumeClaim": ["spec.storageClassName", "spec.accessModes",
                                                             "spec.volumeMode", "spec.selector"],
    "CSIDriver": ["spec.attachRequired", "spec.podInfoOnMount"],
}


def _dig(obj: dict, path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


def _immutable_checks(kind: str, old: dict, new: dict) -> list[dict]:
    paths = list(_IMMUTABLE.get(kind, []))
    if kind in ("ConfigMap", "Secret") and old.get("immutable"):
        paths += ["data", "binaryData", "immutable"]
    return [{"reason": "FieldValueInvalid", "field": path,
             "message": "Invalid value: %s: field is immutable" % json.dumps(_dig(new, path))}
            for path in paths if _dig(old, path) != _dig(new, path)]


def _spec_part(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _without_rv(obj: dict) -> dict:
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)
    meta["managedFields"] = [{k: v for k, v in e.items() if k != "time"} for e in meta.get("managedFields") or []]
    return dict(obj, metadata=meta)
