"""The execution environment definition: `ansible-builder create` offline, and what its context holds.

No image is built (no container runtime here); the generated build context is what `podman build`
would consume, so asserting on it proves what the image would contain.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EE_FILE = REPO / "execution-environment.yml"

EXPECTED_COLLECTIONS = {
    "amazon.aws",
    "community.aws",
    "kubernetes.core",
    "community.postgresql",
    "community.general",
    "ansible.utils",
    "awx.awx",
}


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build our collection tarball, lay out the EE sources beside it, run `ansible-builder create`."""
    work = tmp_path_factory.mktemp("ee")
    src = work / "src"
    src.mkdir()
    # ansible-builder resolves requirements.txt, bindep.txt and additional_build_files relative to
    # the definition file; a copy keeps the build's tarball out of the checkout.
    for name in ("execution-environment.yml", "requirements.txt", "bindep.txt"):
        shutil.copy(REPO / name, src / name)
    (src / "context-files").mkdir()
    # Build from what a fresh clone holds (tracked and not-ignored files): a developer's local
    # virtualenvs and caches are not part of the collection whatever galaxy.yml's build_ignore says.
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    clone = work / "clone"
    for rel in filter(None, files):
        source = REPO / rel
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            (clone / rel).symlink_to(source.readlink())
        elif source.is_file():
            shutil.copy2(source, clone / rel)
    subprocess.run(
        [BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", str(work / "dist"), str(clone)],
        check=True,
        capture_output=True,
        text=True,
    )
    (tarball,) = (work / "dist").glob("llm_saas-platform-*.tar.gz")
    shutil.copy(tarball, src / "context-files" / "llm_saas-platform.tar.gz")
    ctx = work / "context"
    proc = subprocess.run(
        [
            BIN / "ansible-builder", "create", "--file", "execution-environment.yml",
            "--context", str(ctx), "--output-filename", "Containerfile",
        ],
        cwd=src,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return ctx


def test_definition_is_schema_v3_with_pinned_base() -> None:
    ee = yaml.safe_load(EE_FILE.read_text())
    assert ee["version"] == 3
    base = ee["images"]["base_image"]["name"]
    assert ":" in base.rsplit("/", 1)[-1] and not base.endswith(":latest"), f"base image {base} must be pinned"
    assert ee["dependencies"]["python"] == "requirements.txt"
    assert ee["dependencies"]["system"] == "bindep.txt"


def test_containerfile_installs_the_collections_and_keeps_the_base_overridable(context: Path) -> None:
    containerfile = (context / "Containerfile").read_text()
    base = yaml.safe_load(EE_FILE.read_text())["images"]["base_image"]["name"]
    # A build argument, so mirrors override it with --build-arg EE_BASE_IMAGE=...
    assert f'ARG EE_BASE_IMAGE="{base}"' in containerfile
    assert 'ANSIBLE_INSTALL_REFS="ansible-core==2.19.14 ansible-runner==2.4.1"' in containerfile
    assert "ansible-galaxy collection install" in containerfile
    assert "-r requirements.yml" in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile
    assert "WORKDIR /usr/share/ansible/collections/ansible_collections/llm_saas/platform" in containerfile


def test_galaxy_requirements_list_our_collection_and_its_dependencies(context: Path) -> None:
    reqs = yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"]
    names = {r["name"] for r in reqs}
    assert names >= EXPECTED_COLLECTIONS
    (ours,) = [r for r in reqs if r.get("type") == "file"]
    # The galaxy stage runs in /build, where _build/ is copied: the relative name must resolve there.
    assert (context / "_build" / ours["name"]).is_file()
    with_tar = subprocess.run(
        ["tar", "-xzOf", str(context / "_build" / ours["name"]), "MANIFEST.json"],
        capture_output=True, text=True, check=True,
    ).stdout
    manifest = yaml.safe_load(with_tar)["collection_info"]
    assert (manifest["namespace"], manifest["name"]) == ("llm_saas", "platform")
    # The tarball must not drag the local platform state or virtualenvs into the image.
    listing = subprocess.run(
        ["tar", "-tzf", str(context / "_build" / ours["name"])], capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [p for p in listing if p.startswith((".venv", ".local-platform", ".collections"))]
    assert "site.yml" in listing
    assert "playbooks/tenants.yml" in listing
    # Playbooks find the product-wide group_vars through this link; the image must keep it.
    assert "playbooks/group_vars" in listing


def test_python_and_system_requirements_reach_the_context(context: Path) -> None:
    pip = (context / "_build" / "requirements.txt").read_text().lower()
    for lib in ("boto3", "kubernetes", "psycopg"):
        assert lib in pip, f"{lib} missing from the EE's requirements.txt"
    bindep = (context / "_build" / "bindep.txt").read_text()
    assert "libpq" in bindep
    assert "[platform:rpm]" in bindep, "the awx-ee base is RPM based; bindep needs rpm entries"


def _ranges(path: Path) -> dict[str, str]:
    return {c["name"]: c["version"] for c in yaml.safe_load(path.read_text())["collections"]}


def test_collection_ranges_cannot_drift() -> None:
    root = _ranges(REPO / "requirements.yml")
    awx_project = _ranges(REPO / "collections" / "requirements.yml")
    ee = {
        c["name"]: c["version"]
        for c in yaml.safe_load(EE_FILE.read_text())["dependencies"]["galaxy"]["collections"]
        if c.get("type") != "file"
    }
    galaxy_deps = yaml.safe_load((REPO / "galaxy.yml").read_text())["dependencies"]
    assert root == galaxy_deps
    for name, version in root.items():
        assert awx_project.get(name) == version, f"collections/requirements.yml: {name}"
        assert ee.get(name) == version, f"execution-environment.yml: {name}"
    assert awx_project == ee, "the AWX project and the EE must install the same collections"
