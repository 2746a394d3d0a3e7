"""Patch and server-side-apply semantics of the emulator, exercised in process
(fast, no server) against the pinned Kubernetes schema."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from k8s_emulator import patch as p
from k8s_emulator import schema as sch

DEPLOY = sch.builtin_root_schema("apps", "v1", "Deployment")
NOW = "2026-01-01T00:00:00Z"


def dep(containers=None, labels=None, finalizers=None, replicas=None) -> dict:
    meta = {"name": "w", "namespace": "n", "labels": labels if labels is not None else {"app": "w"}}
    if finalizers is not None:
        meta["finalizers"] = finalizers
    spec = {"selector": {"matchLabels": {"app": "w"}},
            "template": {"metadata": {"labels": {"app": "w"}},
                         "spec": {"containers": containers or [{"name": "main", "image": "nginx:1.27"}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def apply(live, config, manager, force=False):
    return p.server_side_apply(live, config, DEPLOY, manager=manager, force=force, api_version="apps/v1", now=NOW)


def owners(obj) -> dict:
    return {m["manager"]: p.from_fields_v1(m["fieldsV1"]) for m in obj["metadata"].get("managedFields", [])}


def test_field_set_uses_list_map_keys_and_sets():
    paths = p.field_set(dep(containers=[{"name": "main", "image": "x:1", "ports": [{"containerPort": 80}]}],
                            finalizers=["a"]), DEPLOY)
    item = ("spec", "template", "spec", "containers", ("k", '{"name":"main"}'))
    assert item in paths
    assert (*item, "image") in paths
    # The port key includes the defaulted protocol, so it matches the stored port.
    assert (*item, "ports", ("k", '{"containerPort":80,"protocol":"TCP"}'), "containerPort") in paths
    assert ("metadata", "finalizers", ("v", '"a"')) in paths
    assert not any(path[:2] == ("metadata", "name") for path in paths)


def test_fields_v1_round_trip():
    paths = p.field_set(dep(finalizers=["a"]), DEPLOY)
    encoded = p.to_fields_v1(paths)
    assert encoded["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"main"}']["."] == {}
    assert p.from_fields_v1(encoded) == paths


def test_set_lists_are_unioned_between_managers_and_pruned_per_manager():
    obj = apply(None, dep(finalizers=["a"]), "one")
    obj = apply(obj, dep(finalizers=["b"]), "two")
    assert obj["metadata"]["finalizers"] == ["a", "b"]
    obj = apply(obj, dep(finalizers=[]), "one")
    assert obj["metadata"]["finalizers"] == ["b"]


def test_labels_owned_by_another_manager_survive_removal():
    obj = apply(None, dep(labels={"app": "w", "x": "1"}), "one")
    obj = apply(obj, dep(labels={"app": "w", "y": "2"}), "two")
    obj = apply(obj, dep(labels={"app": "w"}), "one")
    assert obj["metadata"]["labels"] == {"app": "w", "y": "2"}
    # "app" is shared: dropping it from one manager keeps it for the other.
    obj = apply(obj, dep(labels={}), "one")
    assert obj["metadata"]["labels"] == {"app": "w", "y": "2"}


def test_atomic_lists_are_replaced_and_conflict_as_a_whole():
    first = dep(containers=[{"name": "main", "image": "x:1", "args": ["--a", "--b"]}])
    obj = apply(None, first, "one")
    second = dep(containers=[{"name": "main", "image": "x:1", "args": ["--c"]}])
    with pytest.raises(p.PatchError) as conflict:
        apply(obj, second, "two")
    assert conflict.value.code == 409
    assert conflict.value.causes[0]["field"] == '.spec.template.spec.containers[name="main"].args'
    obj = apply(obj, second, "two", force=True)
    assert obj["spec"]["template"]["spec"]["containers"][0]["args"] == ["--c"]
    assert not any(path[-1] == "args" for path in owners(obj)["one"])


def test_env_entries_merge_by_name():
    obj = apply(None, dep(containers=[{"name": "main", "image": "x:1", "env": [{"name": "A", "value": "1"}]}]), "one")
    obj = apply(obj, dep(containers=[{"name": "main", "image": "x:1", "env": [{"name": "B", "value": "2"}]}]), "two")
    env = obj["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]


def test_update_managers_own_what_they_changed():
    created = p.record_update(None, dep(replicas=2), DEPLOY, manager="creator", api_version="apps/v1", now=NOW)
    changed = dict(created, spec=dict(created["spec"], replicas=3))
    updated = p.record_update(created, changed, DEPLOY, manager="scaler", api_version="apps/v1", now=NOW)
    assert owners(updated)["scaler"] == {("spec", "replicas")}
    assert ("spec", "replicas") not in owners(updated)["creator"]


def test_strategic_merge_directives():
    live = dep(containers=[{"name": "a", "image": "x:1", "env": [{"name": "E", "value": "1"}]},
                           {"name": "b", "image": "y:1"}])
    patched = p.strategic_merge(live, {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "env": [{"name": "E", "$patch": "delete"}]},
        {"name": "b", "$patch": "delete"}]}}}}, DEPLOY)
    assert patched["spec"]["template"]["spec"]["containers"] == [{"name": "a", "image": "x:1", "env": []}]
    replaced = p.strategic_merge(live, {"metadata": {"labels": {"$patch": "replace", "only": "this"}}}, DEPLOY)
    assert replaced["metadata"]["labels"] == {"only": "this"}
    trimmed = p.strategic_merge(dep(finalizers=["a", "b"]),
                                {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}, DEPLOY)
    assert trimmed["metadata"]["finalizers"] == ["b"]


def test_merge_patch_follows_rfc7386():
    assert p.merge_patch({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"b": None}, "l": [2]}) == {"a": {"c": 2}, "l": [2]}


def test_json_patch_errors():
    with pytest.raises(p.PatchError) as failed:
        p.json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])
    assert failed.value.code == 422
    with pytest.raises(p.PatchError) as malformed:
        p.json_patch({"a": 1}, {"op": "add"})
    assert malformed.value.code == 400
