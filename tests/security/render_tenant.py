"""Render the tenant role's Kubernetes objects offline, through ansible, for the admission-policy tests.

The tenant role derives its facts (tier spec, labels, images) in tasks/main.yml; we run that file with
`tenant_state: render`, which matches neither present nor absent, so only the derivation runs and no
database, Secrets Manager or cluster is touched. The playbook lives in a scratch directory whose
`group_vars` and `templates` link to the repository's, so the role's nested template lookups
(envoy.yaml.j2) and the product-wide group_vars resolve exactly as in site.yml.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]

PLAYBOOK = """\
- name: Render tenant objects
  hosts: "{{ render_tenants }}"
  gather_facts: false
  tasks:
    - name: Derive the tenant facts exactly as the role does
      ansible.builtin.include_role:
        name: llm_saas.platform.tenant
        tasks_from: main
        public: true
        rolespec_validate: false
      vars:
        tenant_state: render

    - name: Write the rendered objects
      ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', 'all.yaml.j2') }}"
        dest: "{{ render_dir }}/{{ inventory_hostname }}.yaml"
        mode: "0644"
      vars:
        # Normally a digest of the tenant's secret environment: any fixed value renders the same shape.
        _tenant_env_checksum: "0000000000000000"
"""


POLICY_PLAYBOOK = """\
- name: Render the admission policy
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Render through the role's own entry point
      ansible.builtin.include_role:
        name: llm_saas.platform.admission_policy
        tasks_from: render
"""


def scratch_playbook(out_dir: Path, playbook: str) -> Path:
    """Write playbook into a scratch directory beside links to the product group_vars and the tenant
    role's templates (so its nested template lookups resolve as in site.yml); return its path."""
    work = Path(out_dir) / "play"
    work.mkdir(parents=True, exist_ok=True)
    for name, target in (("group_vars", REPO / "group_vars"), ("templates", REPO / "roles" / "tenant" / "templates")):
        link = work / name
        if not link.exists():
            link.symlink_to(target)
    path = work / ("render-%08x.yml" % (hash(playbook) & 0xFFFFFFFF))
    path.write_text(playbook)
    return path


def _run(playbook: Path, variables: dict, inventory: str | None = None) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook), "-e", json.dumps(variables)]
    if inventory:
        cmd[1:1] = ["-i", inventory]
    proc = subprocess.run(
        cmd,
        cwd=REPO,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
        capture_output=True,
        text=True,
        check=False,
    )
    return proc


def render_admission_policy(out_dir: Path, extra_vars: dict | None = None) -> list[dict]:
    """Return [policy, binding] as roles/admission_policy renders them with the product group_vars."""
    out_dir = Path(out_dir)
    variables = {"platform_render_dir": str(out_dir)}
    variables.update(extra_vars or {})
    proc = _run(scratch_playbook(out_dir, POLICY_PLAYBOOK), variables, inventory="localhost,")
    if proc.returncode != 0:
        raise AssertionError(
            "rendering the admission policy failed:\n%s\n%s" % (proc.stdout[-4000:], proc.stderr[-4000:])
        )
    return [d for d in yaml.safe_load_all((out_dir / "admission-policy.yaml").read_text()) if d]


def render_tenants(
    out_dir: Path, tenants: tuple[str, ...] = ("acme", "initech"), extra_vars: dict | None = None
) -> dict:
    """Return {tenant: [objects]} rendered from roles/tenant/templates/all.yaml.j2 with the local inventory."""
    out_dir = Path(out_dir)
    variables = {"render_tenants": ":".join(tenants), "render_dir": str(out_dir)}
    variables.update(extra_vars or {})
    proc = _run(scratch_playbook(out_dir, PLAYBOOK), variables, inventory=str(REPO / "inventories" / "local"))
    if proc.returncode != 0:
        raise AssertionError("rendering the tenant role failed:\n%s\n%s" % (proc.stdout[-4000:], proc.stderr[-4000:]))
    return {t: [d for d in yaml.safe_load_all((out_dir / f"{t}.yaml").read_text()) if d] for t in tenants}


if __name__ == "__main__":
    print(yaml.safe_dump_all(render_admission_policy(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tenant-render"))))
    for tenant, docs in render_tenants(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tenant-render")).items():
        print(tenant, sorted({d["kind"] for d in docs}))
