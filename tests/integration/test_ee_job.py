"""The in-cluster execution path: playbooks/templates/ee-job.yaml.j2 renders objects the Kubernetes
API accepts (server-side dry run against a private instance of our API server emulator, which
validates against the real OpenAPI schemas), and runs the requested playbook in our EE image."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TEMPLATE = "playbooks/templates/ee-job.yaml.j2"
IMAGE = "registry.example.com/llm-saas-ee:0.1.0"


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory):
    """A private emulator: dry runs here cannot disturb the shared local platform."""
    work = tmp_path_factory.mktemp("k8s")
    log = work / "emulator.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "k8s_emulator", "--host", "127.0.0.1", "--port", "0",
             "--kubeconfig-out", str(work / "kubeconfig")],
            stdout=out, stderr=out, env={**os.environ, "PYTHONPATH": str(REPO / "tests" / "local_platform")},
        )
    try:
        # Readiness, not timing: wait until the server says it listens (or dies).
        deadline = time.monotonic() + 60
        while "k8s-emulator listening on " not in log.read_text(errors="replace"):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.05)
        yield work / "kubeconfig"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def render(tmp_path: Path, **variables) -> subprocess.CompletedProcess:
    dest = tmp_path / "ee-job.yaml"
    return subprocess.run(
        [BIN / "ansible", "localhost", "-m", "ansible.builtin.template",
         "-a", f"src={TEMPLATE} dest={dest}", "-e", json.dumps(variables)],
        cwd=REPO, capture_output=True, text=True, check=False,
    )


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *args],
                          input=stdin, capture_output=True, text=True, check=False)


BASE = {"ee_job_image": IMAGE, "ee_job_playbook": "playbooks/tenants.yml",
        "ee_job_inventory": "inventories/production", "ee_job_name": "ansible-tenants-test"}


def _objects(tmp_path: Path) -> dict[str, dict]:
    return {o["kind"]: o for o in yaml.safe_load_all((tmp_path / "ee-job.yaml").read_text()) if o}


def _dry_run(kubeconfig: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    # A dry run cannot create the namespace the other objects go into; create it for real first.
    namespace = yaml.safe_dump(_objects(tmp_path)["Namespace"])
    assert kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=namespace).returncode == 0
    return kubectl(kubeconfig, "apply", "--server-side", "--field-manager", "llm-saas-platform",
                   "--dry-run=server", "-f", str(tmp_path / "ee-job.yaml"))


def test_baked_in_project_job_passes_a_server_side_dry_run(kubeconfig: Path, tmp_path: Path) -> None:
    proc = render(tmp_path, **BASE, ee_job_args=["--limit", "acme", "--diff"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    objects = _objects(tmp_path)
    assert set(objects) == {"Namespace", "ServiceAccount", "ClusterRoleBinding", "Job"}
    container = objects["Job"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == IMAGE
    assert container["command"] == ["ansible-playbook", "-i", "inventories/production", "playbooks/tenants.yml",
                                    "--limit", "acme", "--diff"]
    # The collection installed by execution-environment.yml holds the playbooks and inventories.
    assert container["workingDir"] == "/usr/share/ansible/collections/ansible_collections/llm_saas/platform"
    assert objects["Job"]["spec"]["backoffLimit"] == 0

    proc = _dry_run(kubeconfig, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "job.batch/ansible-tenants-test serverside-applied (server dry run)" in proc.stdout
    # A dry run persists nothing.
    assert kubectl(kubeconfig, "-n", "llm-saas-ops", "get", "job", "ansible-tenants-test").returncode != 0


def test_git_checkout_irsa_and_secret_variant_passes_a_dry_run(kubeconfig: Path, tmp_path: Path) -> None:
    proc = render(tmp_path, **BASE, ee_job_git_repo="https://git.example.com/llm_saas/platform.git",
                  ee_job_git_ref="release-1.2", ee_job_role_arn="arn:aws:iam::123456789012:role/llm-saas-runner",
                  ee_job_secret="llm-saas-runner-env", ee_job_namespace="platform-ops")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    objects = _objects(tmp_path)
    pod = objects["Job"]["spec"]["template"]["spec"]
    (checkout,) = pod["initContainers"]
    assert "--branch=release-1.2" in checkout["command"]
    assert pod["containers"][0]["workingDir"] == "/runner/project"
    assert pod["containers"][0]["envFrom"] == [{"secretRef": {"name": "llm-saas-runner-env"}}]
    annotations = objects["ServiceAccount"]["metadata"]["annotations"]
    assert annotations["eks.amazonaws.com/role-arn"].endswith(":role/llm-saas-runner")
    assert objects["ClusterRoleBinding"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "llm-saas-runner", "namespace": "platform-ops"}]

    proc = _dry_run(kubeconfig, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_api_server_refuses_an_invalid_rendering(kubeconfig: Path, tmp_path: Path) -> None:
    # Proves the dry run validates: an upper-case Job name is not a DNS-1123 subdomain.
    assert render(tmp_path, **{**BASE, "ee_job_name": "Ansible_Tenants"}).returncode == 0
    proc = _dry_run(kubeconfig, tmp_path)
    assert proc.returncode != 0
    assert "Ansible_Tenants" in proc.stderr


@pytest.mark.parametrize("missing", ["ee_job_image", "ee_job_playbook", "ee_job_inventory"])
def test_rendering_names_a_missing_input(tmp_path: Path, missing: str) -> None:
    proc = render(tmp_path, **{k: v for k, v in BASE.items() if k != missing})
    assert proc.returncode != 0
    assert missing in proc.stdout + proc.stderr
    assert not (tmp_path / "ee-job.yaml").exists()
