"""Object storage, the global resourceVersion counter and JSON persistence."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Iterator

Key = tuple[str, str]  # (group, plural)
ObjKey = tuple[str, str]  # (namespace or "", name)

STATE_FILE = "k8s-state.json"


class Store:
    def __init__(self, state_dir: str | None) -> None:
        self.state_dir = state_dir
        self.rv = 0
        self.objects: dict[Key, dict[ObjKey, dict]] = {}
        self.dirty = False
        # Called as on_change(rv, "ADDED"|"MODIFIED"|"DELETED", key, obj) for watches.
        self.on_change = None

    # ------------------------------------------------------------ access

    def get(self, key: Key, namespace: str, name: str) -> dict | None:
        return self.objects.get(key, {}).get((namespace or "", name))

    def list(self, key: Key, namespace: str | None = None) -> list[dict]:
        bucket = self.objects.get(key, {})
        items = list(bucket.items()) if namespace is None else [(k, v) for k, v in bucket.items() if k[0] == namespace]
        return [v for _, v in sorted(items, key=lambda kv: kv[0])]

    def all_items(self) -> Iterator[tuple[Key, ObjKey, dict]]:
        for key, bucket in self.objects.items():
            for okey, obj in bucket.items():
                yield key, okey, obj

    def next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def put(self, key: Key, obj: dict) -> dict:
        """Store obj, stamping a fresh resourceVersion (callers only put real changes)."""
        meta = obj["metadata"]
        meta["resourceVersion"] = self.next_rv()
        bucket = self.objects.setdefault(key, {})
        okey = (meta.get("namespace") or "", meta["name"])
        existed = okey in bucket
        bucket[okey] = obj
        self.dirty = True
        self._emit("MODIFIED" if existed else "ADDED", key, obj)
        return obj

    def _emit(self, etype: str, key: Key, obj: dict) -> None:
        if self.on_change is not None:
            self.on_change(self.rv, etype, key, obj)

    def _deleted(self, key: Key, obj: dict) -> None:
        self.rv += 1
        self.dirty = True
        gone = dict(obj, metadata=dict(obj["metadata"], resourceVersion=str(self.rv)))
        self._emit("DELETED", key, gone)

    def delete(self, key: Key, namespace: str, name: str) -> dict | None:
        obj = self.objects.get(key, {}).pop((namespace or "", name), None)
        if obj is not None:
            self._deleted(key, obj)
        return obj

    def drop_kind(self, key: Key) -> None:
        for obj in list(self.objects.pop(key, {}).values()):
            self._deleted(key, obj)

    # ------------------------------------------------------- persistence

    @property
    def path(self) -> str | None:
        return os.path.join(self.state_dir, STATE_FILE) if self.state_dir else None

    def load(self) -> bool:
        path = self.path
        if not path or not os.path.exists(path):
            return False
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        self.rv = int(data.get("resourceVersion", 0))
        for key_text, items in data.get("objects", {}).items():
            group, _, plural = key_text.partition("/")
            bucket = self.objects.setdefault((group, plural), {})
            for obj in items:
                meta = obj["metadata"]
                bucket[(meta.get("namespace") or "", meta["name"])] = obj
        return True

    def save(self) -> None:
        path = self.path
        if not path:
            self.dirty = False
            return
        os.makedirs(self.state_dir, exist_ok=True)
        data = {
            "resourceVersion": self.rv,
            "objects": {"%s/%s" % key: list(bucket.values()) for key, bucket in self.objects.items() if bucket},
        }
        # Write-then-rename so a crash mid-save never leaves a torn state file.
        fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".k8s-state.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, separators=(",", ":"))
        os.replace(tmp, path)
        self.dirty = False


def clone(value):
    """Deep copy for JSON-shaped data; several times faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value
