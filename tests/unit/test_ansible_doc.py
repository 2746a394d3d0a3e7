"""`ansible-doc` renders every module, filter and role of the collection (docs/README.md promises it).

Each plugin and role is listed from the repository, not from a hand-kept list, so a new one is
covered the day it lands. Rendering goes through the collection as users install it (ansible.cfg's
collections path, where `make setup` links this repository).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DOC = str(Path(sys.executable).parent / "ansible-doc")
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


def _render(*args: str) -> dict:
    proc = subprocess.run([ANSIBLE_DOC, "--json", *args], cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "[WARNING]" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def test_every_role_is_in_the_repository_listing():
    # A role without an argument spec would be neither validated nor documented.
    assert sorted(p.name for p in (REPO / "roles").iterdir() if p.is_dir()) == ROLES


def test_every_module_renders_with_its_options_examples_and_return_values():
    docs = _render(*(f"llm_saas.platform.{name}" for name in MODULES))
    assert sorted(docs) == [f"llm_saas.platform.{name}" for name in MODULES]
    for name, entry in docs.items():
        doc = entry["doc"]
        assert doc["module"] == name.rsplit(".", 1)[1], name
        assert doc["short_description"] and doc["description"], name
        assert doc.get("options"), f"{name} documents no options"
        for option, spec in doc["options"].items():
            assert spec.get("description"), f"{name}: option {option} has no description"
        assert entry["examples"] and name in entry["examples"], f"{name}: examples do not use the module's FQCN"
        assert entry["return"] is not None, name


def test_every_filter_renders():
    listing = subprocess.run([ANSIBLE_DOC, "-t", "filter", "-l", "llm_saas.platform"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
    names = sorted(line.split()[0] for line in listing.splitlines() if line.startswith("llm_saas.platform."))
    assert names, listing
    docs = _render("-t", "filter", *names)
    for name in names:
        assert docs[name]["doc"]["short_description"], name
        assert docs[name]["examples"], name


@pytest.mark.parametrize("role", ROLES)
def test_role_renders_every_entry_point_with_described_options(role):
    entry_points = _render("-t", "role", f"llm_saas.platform.{role}")[f"llm_saas.platform.{role}"]["entry_points"]
    assert entry_points, f"{role} has no entry point"
    for entry_point, spec in entry_points.items():
        assert spec.get("short_description"), f"{role}:{entry_point} has no short_description"
        for option, option_spec in (spec.get("options") or {}).items():
            assert option_spec.get("description"), f"{role}:{entry_point}: {option} has no description"
