"""docs/inventory-reference.md is generated from the argument specs and cannot go stale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "gen-inventory-reference"


def test_committed_page_equals_the_generated_one(tmp_path: Path) -> None:
    out = tmp_path / "inventory-reference.md"
    subprocess.run([sys.executable, str(SCRIPT), "--output", str(out)], check=True)
    committed = (REPO / "docs" / "inventory-reference.md").read_text()
    assert committed == out.read_text(), "docs/inventory-reference.md is stale: run scripts/gen-inventory-reference"


def test_check_mode_detects_a_stale_page(tmp_path: Path) -> None:
    stale = tmp_path / "stale.md"
    stale.write_text("# Inventory reference\n")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check", "--output", str(stale)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "run scripts/gen-inventory-reference" in proc.stderr
    assert stale.read_text() == "# Inventory reference\n", "--check must not write"


def test_every_role_input_is_documented() -> None:
    page = (REPO / "docs" / "inventory-reference.md").read_text()
    for path in sorted(REPO.glob("roles/*/meta/argument_specs.yml")):
        role = path.parent.parent.name
        assert f"\n## {role}\n" in page
        for entry in yaml.safe_load(path.read_text())["argument_specs"].values():
            for option, spec in (entry.get("options") or {}).items():
                assert f"| `{option}` |" in page, f"{role}: {option}"
                for sub in (spec or {}).get("options") or {}:
                    assert f"| `{option}.{sub}` |" in page, f"{role}: {option}.{sub}"
    # Required inputs say so, and Ansible markup became Markdown.
    assert "| `tenant_admin_group` | str | yes |" in page
    assert "C(" not in page
