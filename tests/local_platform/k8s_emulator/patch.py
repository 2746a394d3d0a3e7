"""Patch semantics: RFC 7386 merge, RFC 6902 JSON, strategic merge and
server-side apply with per-manager field ownership (metadata.managedFields).

Field paths are tuples. A str element is a map key; ("k", json) selects a
list-map item by its key fields; ("v", json) a set member. The schema
(builtin OpenAPI or a CRD's openAPIV3Schema) decides which lists are maps,
sets or atomic, exactly as the x-kubernetes-list-* markers tell the server.
"""

from __future__ import annotations

import json
from typing import Any

import jsonpatch

from . import schema as sch
from .store import clone


class PatchError(Exception):
    def __init__(self, code: int, reason: str, message: str, causes: list | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.causes = causes or []


# Metadata fields owned by the server, never by a field manager.
_SYSTEM_META = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"}
_TOP_SKIP = {"apiVersion", "kind", "status"}


# ---------------------------------------------------------------- merge patch

def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return clone(patch)
    out = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def json_patch(target: dict, ops: Any) -> dict:
    if not isinstance(ops, list):
        raise PatchError(400, "BadRequest", "json patch must be a JSON array of operations")
    try:
        return jsonpatch.JsonPatch(ops).apply(clone(target))
    except (jsonpatch.JsonPatchConflict, jsonpatch.JsonPatchTestFailed) as exc:
        raise PatchError(422, "Invalid",
                         "the server rejected our request due to an error in our request: %s" % exc) from exc
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as exc:
        raise PatchError(400, "BadRequest", "invalid json patch: %s" % exc) from exc


# ------------------------------------------------------------ strategic merge

def strategic_merge(target: Any, patch: Any, node: dict | None) -> Any:
    if not isinstance(patch, dict):
        return clone(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: clone(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    out = clone(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(out.get(field), list):
                out[field] = [x for x in out[field] if x not in value]
            continue
        if key.startswith("$"):
            continue
        child = sch.child_schema(node, key)
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(out.get(key), value, child)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
        elif isinstance(value, list):
            out[key] = _smp_list(out.get(key), value, child)
        else:
            out[key] = clone(value)
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _smp_list(current: Any, patch: list, node: dict | None) -> list:
    _ltype, _keys, strategy, merge_key = sch.list_info(node)
    if not strategy or "merge" not in strategy or not isinstance(current, list):
        return [x for x in clone(patch) if not (isinstance(x, dict) and "$patch" in x)]
    if not merge_key:
        out = list(current)
        for item in patch:
            if item not in out:
                out.append(clone(item))
        return out
    item_node = sch.items_schema(node)
    out = clone(current)
    for item in patch:
        if not isinstance(item, dict):
            continue
        idx = next((i for i, cur in enumerate(out)
                    if isinstance(cur, dict) and cur.get(merge_key) == item.get(merge_key)), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append({k: v for k, v in clone(item).items() if not k.startswith("$")})
        else:
            out[idx] = strategic_merge(out[idx], item, item_node)
    return out


# -------------------------------------------------------- field sets (SSA)

# List-map key fields the server defaults before matching items, so an applied
# port without `protocol` still matches the stored (defaulted) TCP port.
_KEY_DEFAULTS = {"protocol": "TCP"}


def _key_value(item: dict, key: str) -> Any:
    return item.get(key, _KEY_DEFAULTS.get(key))


def _item_key(item: dict, keys: list[str]) -> str:
    return json.dumps({k: _key_value(item, k) for k in keys if _key_value(item, k) is not None},
                      sort_keys=True, separators=(",", ":"))


def _map_keys(node: dict | None) -> list[str] | None:
    ltype, keys, strategy, merge_key = sch.list_info(node)
    if ltype == "map" and keys:
        return keys
    if ltype == "atomic" and strategy and "merge" in strategy and merge_key and "x-kubernetes-list-type" not in (
            sch.resolve(node) or {}):
        return [merge_key]
    return None


def _is_set(node: dict | None) -> bool:
    return sch.list_info(node)[0] == "set"


def field_set(obj: dict, root: dict | None) -> set[tuple]:
    out: set[tuple] = set()
    for key, value in obj.items():
        if key in _TOP_SKIP:
            continue
        if key == "metadata" and isinstance(value, dict):
            meta_node = sch.child_schema(root, "metadata")
            for mkey, mval in value.items():
                if mkey not in _SYSTEM_META:
                    _collect(mval, sch.child_schema(meta_node, mkey), ("metadata", mkey), out)
            continue
        _collect(value, sch.child_schema(root, key), (key,), out)
    return out


def _collect(value: Any, node: dict | None, prefix: tuple, out: set) -> None:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _collect(child, sch.child_schema(node, key), (*prefix, key), out)
    elif isinstance(value, list) and value:
        keys = _map_keys(node)
        if keys and all(isinstance(i, dict) for i in value):
            item_node = sch.items_schema(node)
            for item in value:
                ipath = (*prefix, ("k", _item_key(item, keys)))
                out.add(ipath)
                for key, child in item.items():
                    _collect(child, sch.child_schema(item_node, key), (*ipath, key), out)
        elif _is_set(node):
            for item in value:
                out.add((*prefix, ("v", json.dumps(item, sort_keys=True))))
        else:
            out.add(prefix)
    else:
        out.add(prefix)


_MISSING = object()


def get_path(obj: Any, path: tuple) -> Any:
    cur = obj
    for part in path:
        if isinstance(part, tuple):
            if not isinstance(cur, list):
                return _MISSING
            if part[0] == "k":
                want = json.loads(part[1])
                cur = next((i for i in cur if isinstance(i, dict)
                            and all(_key_value(i, k) == v for k, v in want.items())), _MISSING)
            else:
                want = json.loads(part[1])
                cur = want if want in cur else _MISSING
        else:
            if not isinstance(cur, dict) or part not in cur:
                return _MISSING
            cur = cur[part]
        if cur is _MISSING:
            return cur
    return cur


def remove_path(obj: dict, path: tuple, keep: set[tuple]) -> None:
    """Remove path; prune parents it leaves empty unless someone still owns them."""
    parents = []
    cur: Any = obj
    for part in path[:-1]:
        parents.append(cur)
        nxt = get_path(cur, (part,))
        if nxt is _MISSING:
            return
        cur = nxt
    last = path[-1]
    if isinstance(last, tuple):
        if not isinstance(cur, list):
            return
        target = get_path(cur, (last,))
        if target is _MISSING:
            return
        cur.remove(target)
    elif isinstance(cur, dict):
        cur.pop(last, None)
    else:
        return
    for depth in range(len(path) - 1, 0, -1):
        container = get_path(obj, path[:depth])
        if container in ({}, []) and path[:depth] not in keep and len(path[:depth]) > 1:
            remove_path(obj, path[:depth], keep)
        break


def apply_merge(live: Any, config: Any, node: dict | None) -> Any:
    """Merge an applied configuration into the live object (both left untouched)."""
    return _merge_into(clone(live), clone(config), node)


def _merge_into(target: Any, config: Any, node: dict | None) -> Any:
    # Works in place on private copies: copying per level would be quadratic in depth.
    if isinstance(config, dict):
        out = target if isinstance(target, dict) else {}
        for key, value in config.items():
            if value is not None:
                out[key] = _merge_into(out.get(key), value, sch.child_schema(node, key))
        return out
    if isinstance(config, list) and isinstance(target, list):
        keys = _map_keys(node)
        if keys and all(isinstance(i, dict) for i in config):
            item_node = sch.items_schema(node)
            index = {_item_key(cur, keys): n for n, cur in enumerate(target) if isinstance(cur, dict)}
            for item in config:
                idx = index.get(_item_key(item, keys))
                if idx is None:
                    target.append(_merge_into(None, item, item_node))
                else:
                    target[idx] = _merge_into(target[idx], item, item_node)
            return target
        if _is_set(node):
            for item in config:
                if item not in target:
                    target.append(item)
            return target
    return config


# ------------------------------------------------------- managedFields codec

def _encode_part(part) -> str:
    if isinstance(part, tuple):
        return "%s:%s" % part
    return "f:%s" % part


def _decode_part(text: str):
    kind, _, rest = text.partition(":")
    return rest if kind == "f" else (kind, rest)


def to_fields_v1(paths: set[tuple]) -> dict:
    tree: dict = {}
    for path in sorted(paths, key=lambda p: [json.dumps(x) for x in p]):
        node = tree
        for part in path:
            node = node.setdefault(_encode_part(part), {})
        if isinstance(path[-1], tuple) and path[-1][0] == "k":
            node["."] = {}
    return tree


def from_fields_v1(tree: dict, prefix: tuple = ()) -> set[tuple]:
    out: set[tuple] = set()
    if not tree:
        if prefix:
            out.add(prefix)
        return out
    for key, child in tree.items():
        if key == ".":
            out.add(prefix)
            continue
        out |= from_fields_v1(child or {}, (*prefix, _decode_part(key)))
    return out


def _owners(obj: dict) -> list[dict]:
    return list((obj.get("metadata") or {}).get("managedFields") or [])


def _entry_key(entry: dict) -> tuple:
    return entry.get("manager"), entry.get("operation"), entry.get("subresource", "")


def _format_path(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, tuple) and part[0] == "v":
            out += "[=%s]" % part[1]
        elif isinstance(part, tuple):
            out += "[%s]" % ",".join("%s=%s" % (k, json.dumps(v)) for k, v in json.loads(part[1]).items())
        else:
            out += "." + part
    return out


def server_side_apply(live: dict | None, config: dict, root: dict | None, *, manager: str, force: bool,
                      api_version: str, now: str) -> dict:
    """Return the object after `manager` applies `config` (managedFields included)."""
    live = clone(live) if live else {}
    new_set = field_set(config, root)
    entries = _owners(live)
    sets = {_entry_key(e): from_fields_v1(e.get("fieldsV1") or {}) for e in entries}
    mine = (manager, "Apply", "")
    previous = sets.get(mine, set())

    conflicts = []
    for key, owned in sets.items():
        if key == mine:
            continue
        for path in new_set & owned:
            if isinstance(path[-1], tuple):
                continue
            if get_path(live, path) != get_path(config, path):
                conflicts.append((key, path))
    if conflicts and not force:
        causes = [{"reason": "FieldManagerConflict",
                   "message": 'conflict with "%s"%s' % (k[0], "" if k[1] == "Apply" else " using %s" % api_version),
                   "field": _format_path(p)} for k, p in sorted(conflicts, key=lambda c: (c[0], repr(c[1])))]
        raise PatchError(409, "Conflict", "Apply failed with %d conflict%s: %s" % (
            len(causes), "" if len(causes) == 1 else "s",
            "; ".join("%s: %s" % (c["message"], c["field"]) for c in causes)), causes)
    for key, path in conflicts:
        sets[key].discard(path)

    merged = apply_merge(live, {k: v for k, v in config.items() if k != "status"}, root)
    others_union = set()
    for key, owned in sets.items():
        if key != mine:
            others_union |= owned
    keep = others_union | new_set
    # Shortest first: dropping a whole list item makes its leaves no-ops.
    for path in sorted(previous - new_set, key=len):
        if path in others_union:
            continue
        if len(path) > 1 and isinstance(path[-2], tuple) and path[-2][0] == "k" and \
                path[-1] in json.loads(path[-2][1]):
            # Key fields live as long as their item does.
            continue
        if any(p[:len(path)] == path for p in others_union if len(p) > len(path)):
            continue
        remove_path(merged, path, keep)
    sets[mine] = new_set
    return _write_managed(merged, entries, sets, mine, api_version=api_version, now=now)


def record_update(old: dict | None, new: dict, root: dict | None, *, manager: str, api_version: str, now: str,
                  subresource: str = "") -> dict:
    """Give `manager` (an Update operation) ownership of the fields it changed."""
    old = old or {}
    before = field_set(old, root) if old else set()
    after = field_set(new, root)
    changed = {p for p in after if p not in before or get_path(old, p) != get_path(new, p)}
    entries = _owners(old)
    sets = {_entry_key(e): from_fields_v1(e.get("fieldsV1") or {}) for e in entries}
    mine = (manager, "Update", subresource)
    for key in sets:
        if key != mine:
            sets[key] -= changed
    sets[mine] = sets.get(mine, set()) | changed
    return _write_managed(new, entries, sets, mine, api_version=api_version, now=now)


def _write_managed(obj: dict, entries: list[dict], sets: dict, mine: tuple, *, api_version: str, now: str) -> dict:
    obj = clone(obj)
    out = []
    seen = set()
    for entry in entries:
        key = _entry_key(entry)
        seen.add(key)
        owned = sets.get(key, set())
        owned = {p for p in owned if get_path(obj, p) is not _MISSING}
        if not owned:
            continue
        new_entry = dict(entry)
        new_entry["fieldsV1"] = to_fields_v1(owned)
        out.append(new_entry)
    if mine not in seen:
        owned = {p for p in sets.get(mine, set()) if get_path(obj, p) is not _MISSING}
        if owned:
            entry = {"manager": mine[0], "operation": mine[1], "apiVersion": api_version, "time": now,
                     "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(owned)}
            if mine[2]:
                entry["subresource"] = mine[2]
            out.append(entry)
    meta = obj.setdefault("metadata", {})
    if out:
        meta["managedFields"] = out
    else:
        meta.pop("managedFields", None)
    return obj


def touch_manager(obj: dict, manager: str, operation: str, now: str, subresource: str = "") -> None:
    """Stamp the acting manager's entry; called only when the object really changed."""
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if _entry_key(entry) == (manager, operation, subresource):
            entry["time"] = now
