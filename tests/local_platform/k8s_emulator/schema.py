"""Resource catalogue, discovery documents and OpenAPI validation.

Schemas come from the kubernetes-validate package (strict variants, so unknown
fields are refused) for one pinned Kubernetes version. Validators are built
lazily and cached per (apiVersion, kind) because building one resolves a
1.3 MB definitions document; later benchmarks apply thousands of objects.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import importlib_resources
import jsonschema
from referencing import Registry, Resource

from .store import clone

# The single place where the emulated Kubernetes version is pinned.
K8S_VERSION = "1.32"
K8S_GIT_VERSION = "v1.32.0"

_SCHEMA_DIR = "v%s.0-local-strict" % K8S_VERSION

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: list[str] = field(default_factory=list)
    subresources: tuple[str, ...] = ()
    categories: list[str] = field(default_factory=list)
    # Create-only review kinds answered on the fly, never stored.
    review: bool = False
    # Set for kinds served because a CustomResourceDefinition exists.
    crd_schema: dict | None = None
    crd_name: str | None = None

    @property
    def api_version(self) -> str:
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    def api_resources(self) -> list[dict]:
        main = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": ["create"] if self.review else list(VERBS),
        }
        if self.short_names:
            main["shortNames"] = list(self.short_names)
        if self.categories:
            main["categories"] = list(self.categories)
        out = [main]
        for sub in self.subresources:
            entry = {
                "name": "%s/%s" % (self.plural, sub),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": ["get", "patch", "update"],
            }
            if sub == "scale":
                entry.update(group="autoscaling", version="v1", kind="Scale")
            out.append(entry)
        return out


# Scope, plural and short names are not part of the OpenAPI definitions, so
# they are listed here; group and version are checked against the pinned
# schema at import time so a typo cannot silently serve an unknown kind.
_BUILTIN = [
    # group, version, kind, plural, namespaced, shortNames, subresources
    ("", "v1", "Namespace", "namespaces", False, ["ns"], ("status",)),
    ("", "v1", "Pod", "pods", True, ["po"], ("status",)),
    ("", "v1", "Service", "services", True, ["svc"], ("status", "proxy")),
    ("", "v1", "ConfigMap", "configmaps", True, ["cm"], ()),
    ("", "v1", "Secret", "secrets", True, [], ()),
    ("", "v1", "ServiceAccount", "serviceaccounts", True, ["sa"], ()),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ["pvc"], ("status",)),
    ("", "v1", "PersistentVolume", "persistentvolumes", False, ["pv"], ("status",)),
    ("", "v1", "ResourceQuota", "resourcequotas", True, ["quota"], ("status",)),
    ("", "v1", "LimitRange", "limitranges", True, ["limits"], ()),
    ("", "v1", "Endpoints", "endpoints", True, ["ep"], ()),
    ("", "v1", "Node", "nodes", False, ["no"], ("status",)),
    ("", "v1", "Event", "events", True, ["ev"], ()),
    ("apps", "v1", "Deployment", "deployments", True, ["deploy"], ("status", "scale")),
    ("apps", "v1", "StatefulSet", "statefulsets", True, ["sts"], ("status", "scale")),
    ("apps", "v1", "DaemonSet", "daemonsets", True, ["ds"], ("status",)),
    ("apps", "v1", "ReplicaSet", "replicasets", True, ["rs"], ("status", "scale")),
    ("batch", "v1", "Job", "jobs", True, [], ("status",)),
    ("batch", "v1", "CronJob", "cronjobs", True, ["cj"], ("status",)),
    ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ["netpol"], ()),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", True, ["ing"], ("status",)),
    ("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False, [], ()),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ["pdb"], ("status",)),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", True, [], ()),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True, [], ()),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, [], ()),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False, [], ()),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, ["hpa"], ("status",)),
    ("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, ["sc"], ()),
    ("storage.k8s.io", "v1", "CSIDriver", "csidrivers", False, [], ()),
    ("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, ["pc"], ()),
    ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy",
     "validatingadmissionpolicies", False, [], ("status",)),
    ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding",
     "validatingadmissionpolicybindings", False, [], ()),
    ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
     "validatingwebhookconfigurations", False, [], ()),
    ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration",
     "mutatingwebhookconfigurations", False, [], ()),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False,
     ["crd", "crds"], ("status",)),
    ("apiregistration.k8s.io", "v1", "APIService", "apiservices", False, [], ("status",)),
    ("coordination.k8s.io", "v1", "Lease", "leases", True, [], ()),
]

# Kinds whose names are DNS-1123 labels rather than subdomains (the real
# server's ValidateNamespaceName / ValidateServiceName), and kinds that allow
# any path segment (RBAC names such as "system:controller:x").
DNS_LABEL_KINDS = {"Namespace"}
DNS_1035_KINDS = {"Service"}
PATH_SEGMENT_KINDS = {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def name_errors(kind: str, name: str) -> str | None:
    """Return the real server's message for an invalid name, or None."""
    if kind in PATH_SEGMENT_KINDS:
        if name in (".", "..") or "/" in name or "%" in name:
            return 'may not contain "/" or "%%" and may not be "." or ".."'
        return None
    if kind in DNS_1035_KINDS:
        if len(name) > 63 or not _DNS1035_LABEL.match(name):
            return ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                    "start with an alphabetic character, and end with an alphanumeric character "
                    "(regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
        return None
    if kind in DNS_LABEL_KINDS:
        if len(name) > 63 or not _DNS1123_LABEL.match(name):
            return ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                    "or '-', and must start and end with an alphanumeric character (regex used for "
                    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
        return None
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        return ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                "'-' or '.', and must start and end with an alphanumeric character (regex used for "
                "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    return None


def _schema_file(name: str) -> Any:
    ref = importlib_resources.files("kubernetes_validate").joinpath(
        "kubernetes-json-schema/%s/%s" % (_SCHEMA_DIR, name))
    with importlib_resources.as_file(ref) as path, open(path, encoding="utf-8") as handle:
        return json.load(handle)


@functools.lru_cache(maxsize=1)
def definitions() -> dict:
    return _schema_file("_definitions.json")


@functools.lru_cache(maxsize=1)
def _registry() -> Registry:
    return Resource.from_contents(definitions()) @ Registry()


@functools.lru_cache(maxsize=1)
def _gvk_index() -> dict[tuple[str, str, str], str]:
    out = {}
    for def_name, body in definitions()["$defs"].items():
        for gvk in body.get("x-kubernetes-group-version-kind", []):
            out[(gvk["group"], gvk["version"], gvk["kind"])] = def_name
    return out


def definition_name(group: str, version: str, kind: str) -> str | None:
    return _gvk_index().get((group, version, kind))


# Kinds `kubectl get all` lists, as on the real server.
_ALL_CATEGORY = {"Pod", "Service", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
                 "HorizontalPodAutoscaler"}

# Authorization is not emulated: every review is answered "allowed" so that
# `kubectl auth can-i` and preflight checks pass.
_REVIEWS = [
    ("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews"),
    ("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews"),
]


def builtin_types() -> list[ResourceType]:
    out = []
    for group, version, kind, plural, namespaced, short, subs in _BUILTIN:
        if definition_name(group, version, kind) is None:
            raise RuntimeError("pinned schema %s lacks %s/%s %s" % (K8S_VERSION, group, version, kind))
        categories = ["all"] if kind in _ALL_CATEGORY else []
        out.append(ResourceType(group, version, kind, plural, namespaced, list(short), subs, categories))
    for group, version, kind, plural in _REVIEWS:
        out.append(ResourceType(group, version, kind, plural, False, review=True))
    return out


@functools.lru_cache(maxsize=None)
def builtin_validator(group: str, version: str, kind: str):
    api_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", "%s/%s" % (group, version) if group else version)
    schema = _schema_file("%s-%s.json" % (kind.lower(), api_version))
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def resolve(node: dict | None) -> dict | None:
    """Follow $ref (and single-branch allOf) in the pinned definitions."""
    seen = 0
    while isinstance(node, dict) and seen < 20:
        seen += 1
        ref = node.get("$ref")
        if ref:
            node = definitions()["$defs"].get(ref.rsplit("/", 1)[-1])
            continue
        if "allOf" in node and len(node["allOf"]) == 1:
            node = node["allOf"][0]
            continue
        break
    return node


def builtin_root_schema(group: str, version: str, kind: str) -> dict | None:
    name = definition_name(group, version, kind)
    return definitions()["$defs"].get(name) if name else None


def child_schema(node: dict | None, key: str) -> dict | None:
    node = resolve(node)
    if not isinstance(node, dict):
        return None
    props = node.get("properties") or {}
    if key in props:
        return resolve(props[key])
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        return resolve(extra)
    return None


def items_schema(node: dict | None) -> dict | None:
    node = resolve(node)
    if not isinstance(node, dict):
        return None
    return resolve(node.get("items"))


def list_info(node: dict | None) -> tuple[str, list[str], str | None, str | None]:
    """(list-type, list-map-keys, patch-strategy, patch-merge-key) of a list schema."""
    node = resolve(node) or {}
    return (node.get("x-kubernetes-list-type", "atomic"), node.get("x-kubernetes-list-map-keys") or [],
            node.get("x-kubernetes-patch-strategy"), node.get("x-kubernetes-patch-merge-key"))


# ---------------------------------------------------------------- CRD support

def _crd_to_jsonschema(node: Any, top: bool = False) -> Any:
    """Turn a CRD structural schema into JSON Schema the way the server reads it.

    Unknown fields are refused (strict field validation) unless the schema says
    x-kubernetes-preserve-unknown-fields.
    """
    if isinstance(node, list):
        return [_crd_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: _crd_to_jsonschema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not") or key in ("allOf", "anyOf", "oneOf"):
            out[key] = _crd_to_jsonschema(value)
        elif key == "nullable" or key.startswith("x-kubernetes-"):
            continue
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else out["type"] + ["null"]
    if top:
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props["metadata"] = {"type": "object"}
        out.setdefault("type", "object")
    if (out.get("type") in ("object", ["object", "null"]) and "properties" in out
            and "additionalProperties" not in out and not node.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def crd_types(crd: dict) -> list[ResourceType]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    for ver in spec.get("versions") or []:
        if not ver.get("served", True):
            continue
        subs = tuple(k for k in ("status", "scale") if k in (ver.get("subresources") or {}))
        schema = ((ver.get("schema") or {}).get("openAPIV3Schema")) or {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True}
        out.append(ResourceType(
            spec.get("group", ""), ver["name"], names.get("kind", ""), names.get("plural", ""),
            spec.get("scope", "Namespaced") == "Namespaced", list(names.get("shortNames") or []), subs,
            list(names.get("categories") or []), crd_schema=schema, crd_name=crd["metadata"]["name"]))
    return out


_crd_validators: dict[str, tuple[str, Any]] = {}
_retired_validators: list[Any] = []


def crd_validator(rtype: ResourceType):
    key = "%s/%s/%s" % (rtype.crd_name, rtype.version, rtype.kind)
    raw = json.dumps(rtype.crd_schema, sort_keys=True)
    cached = _crd_validators.get(key)
    if cached and cached[0] == raw:
        return cached[1]
    validator = jsonschema.Draft7Validator(_crd_to_jsonschema(clone(rtype.crd_schema), top=True))
    if cached:
        # Kept alive so its id() is never reused by a newer validator (see validation_causes).
        _retired_validators.append(cached[1])
    _crd_validators[key] = (raw, validator)
    return validator


_validation_cache: dict[str, list[dict]] = {}


def validation_causes(rtype: ResourceType, obj: dict) -> list[dict]:
    """Validate obj against its schema; return Status causes (empty when valid).

    Results are memoised by content: re-applying unchanged manifests (the
    idempotence runs) is the common case and schema traversal dominates a write.
    """
    if rtype.crd_schema is not None:
        validator = crd_validator(rtype)
    else:
        validator = builtin_validator(rtype.group, rtype.version, rtype.kind)
    # Validators are cached, so id() changes exactly when a CRD's schema does.
    key = "%d|%s" % (id(validator), json.dumps(obj, sort_keys=True, separators=(",", ":")))
    if key not in _validation_cache:
        if len(_validation_cache) > 4096:
            _validation_cache.clear()
        _validation_cache[key] = _validate(validator, obj)
    return clone(_validation_cache[key])


def _validate(validator, obj: dict) -> list[dict]:
    causes = []
    for err in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
        causes.extend(_error_causes(err))
        if len(causes) >= 20:
            break
    return causes


def _field_path(path) -> str:
    out = ""
    for part in path:
        out += "[%d]" % part if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _error_causes(err: jsonschema.ValidationError) -> list[dict]:
    # oneOf/anyOf errors hide the useful message in their context.
    if err.validator == "additionalProperties" and err.validator_value is False:
        known = set((err.schema or {}).get("properties") or {})
        extras = [k for k in (err.instance or {}) if k not in known]
        base = list(err.absolute_path)
        return [{"reason": "FieldValueInvalid",
                 "message": 'unknown field "%s"' % _field_path([*base, k]),
                 "field": _field_path([*base, k])} for k in extras]
    path = _field_path(err.absolute_path) or "<root>"
    value = json.dumps(err.instance)[:200]
    if err.validator == "type":
        expected = err.validator_value
        if isinstance(expected, list):
            expected = [t for t in expected if t != "null"]
            expected = expected[0] if len(expected) == 1 else " or ".join(expected)
        msg = "Invalid value: %s: %s in body must be of type %s: %s" % (
            value, path, expected, value)
    elif err.validator == "enum":
        msg = "Unsupported value: %s: supported values: %s" % (
            value, ", ".join(json.dumps(v) for v in err.validator_value if v is not None))
    elif err.validator == "required":
        msg = "Required value: %s" % err.message
    else:
        msg = "Invalid value: %s: %s" % (value, err.message)
    return [{"reason": "FieldValueInvalid", "message": msg, "field": path}]
