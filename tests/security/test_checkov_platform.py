"""Security gate: checkov's Kubernetes checks on the rendered cluster-platform manifests.

checkov pins many packages, so it lives in its own virtualenv:
    python3 -m venv .venv-scan && .venv-scan/bin/pip install checkov
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHECKOV = REPO / ".venv-scan" / "bin" / "checkov"
SKIPS = yaml.safe_load((Path(__file__).with_name("checkov_skips.yml")).read_text())["skips"]

sys.path.insert(0, str(REPO / "tests" / "unit" / "platform"))
from platform_render import render  # noqa: E402

pytestmark = pytest.mark.skipif(
    not CHECKOV.exists(),
    reason="checkov venv missing: python3 -m venv .venv-scan && .venv-scan/bin/pip install checkov",
)


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    out = render(tmp_path_factory.mktemp("checkov-render"))
    scan = tmp_path_factory.mktemp("checkov-scan")
    for path in out.glob("*.yaml"):
        (scan / path.name).write_text(path.read_text())
    proc = subprocess.run(
        [str(CHECKOV), "-d", str(scan), "--framework", "kubernetes", "--quiet", "--compact", "-o", "json"],
        capture_output=True, text=True, check=False,
    )
    assert proc.stdout.strip(), proc.stderr[-2000:]
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    passed = sum(r["summary"]["passed"] for r in reports)
    failed = [(f["check_id"], f["resource"]) for r in reports for f in r["results"]["failed_checks"]]
    return passed, failed


def _allowed(check, resource):
    return any(s["check"] == check and any(fnmatch.fnmatchcase(resource, p) for p in s["resources"]) for s in SKIPS)


def test_every_skip_has_a_reason():
    for skip in SKIPS:
        assert skip["check"].startswith("CKV") and skip["resources"] and len(skip["reason"].strip()) > 20, skip


def test_no_unexplained_failed_check(findings):
    passed, failed = findings
    assert passed > 300, "checkov ran too few checks; did it scan the manifests?"
    unexplained = sorted({"%s %s" % item for item in failed if not _allowed(*item)})
    hint = "add a fix or a reasoned entry to tests/security/checkov_skips.yml:\n"
    assert not unexplained, hint + "\n".join(unexplained)


def test_no_stale_skip(findings):
    _, failed = findings
    for skip in SKIPS:
        for pattern in skip["resources"]:
            assert any(c == skip["check"] and fnmatch.fnmatchcase(r, pattern) for c, r in failed), (
                "stale allow-list entry %s %s" % (skip["check"], pattern))
