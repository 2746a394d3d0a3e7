"""Preflight refuses bad inventories before anything changes, naming the host, the variable and the fix.

Each case copies the local inventory, breaks one thing and runs playbooks/preflight.yml; the recap
must show changed=0. The preflight play talks to no service, so these tests need no local platform.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from platform_helpers import REPO, recap, run_playbook


def _inventory(tmp_path: Path) -> Path:
    inv = tmp_path / "inventory"
    shutil.copytree(REPO / "inventories" / "local", inv)
    return inv


def _set(path: Path, **values) -> None:
    data = yaml.safe_load(path.read_text()) if path.exists() else {}
    data = data or {}
    data.update(values)
    path.write_text(yaml.safe_dump(data))


def _add_host(inv: Path, group: str, host: str) -> None:
    hosts = yaml.safe_load((inv / "hosts.yml").read_text())
    groups = hosts["llm_saas"]["children"]["tenants"]["children"]
    groups.setdefault(group, {"hosts": {}})["hosts"][host] = None
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts))
    _set(inv / "host_vars" / f"{host}.yml", tenant_admin_group=f"{host}-admins")


def _break_tenant(**values):
    def apply(inv: Path) -> None:
        _set(inv / "host_vars" / "acme.yml", **values)

    return apply


def _break_platform(**values):
    def apply(inv: Path) -> None:
        _set(inv / "group_vars" / "llm_saas.yml", **values)

    return apply


def _unknown_tier(inv: Path) -> None:
    _add_host(inv, "tier_gold", "hooli")


def _two_tiers(inv: Path) -> None:
    _add_host(inv, "tier_premium", "acme")


def _duplicate_name(inv: Path) -> None:
    _set(inv / "host_vars" / "globex.yml", tenant_name="acme")


CASES = {
    # id: (breaker, host named in the message, text that must appear)
    "tenant name with upper case": (_break_tenant(tenant_name="Acme"), "acme", "tenant_name"),
    "tenant name with underscore": (_break_tenant(tenant_name="acme_corp"), "acme", "DNS-1123"),
    "tenant name too long": (_break_tenant(tenant_name="a" * 41), "acme", "40 characters"),
    "tenant name YAML injection": (_break_tenant(tenant_name="acme\nkind: ClusterRole"), "acme", "tenant_name"),
    "tenant name SQL injection": (_break_tenant(tenant_name="acme; DROP TABLE users"), "acme", "tenant_name"),
    "tenant name with a quote": (_break_tenant(tenant_name='a"b'), "acme", "tenant_name"),
    # Inventory values are templated: whatever the expression yields must still be a valid name.
    "tenant name template": (
        _break_tenant(tenant_name="{{ lookup('ansible.builtin.env', 'HOME') }}"), "acme", "tenant_name"
    ),
    "unknown tier": (_unknown_tier, "hooli", "tier"),
    "two tier groups": (_two_tiers, "acme", "exactly one tier group"),
    "unknown model": (_break_tenant(tenant_models=["llama3:8b", "gpt-4o"]), "acme", "gpt-4o"),
    "GPU model on a CPU tier": (_break_tenant(tenant_models=["llama3:70b"]), "acme", "GPU-only"),
    "models not a list": (_break_tenant(tenant_models={"a": 1}), "acme", "tenant_models"),
    "quota below tier needs": (_break_tenant(tenant_overrides={"quota": {"cpu": "1"}}), "acme", "raise the quota"),
    "quota not a quantity": (_break_tenant(tenant_overrides={"quota": {"memory": "lots"}}), "acme", "lots"),
    "bad tenant state": (_break_tenant(tenant_state="deleted"), "acme", "tenant_state"),
    "offboard without confirmation": (_break_tenant(tenant_state="absent"), "acme", "confirm_tenant=acme"),
    "OIDC without https issuer": (
        _break_tenant(tenant_idp={"type": "oidc", "issuer_url": "http://idp", "client_id": "x"}),
        "acme",
        "issuer_url",
    ),
    "unknown IdP type": (_break_tenant(tenant_idp={"type": "ldap"}), "acme", "tenant_idp"),
    "missing admin group": (
        lambda inv: (inv / "host_vars" / "acme.yml").write_text("tenant_display_name: ACME\n"),
        "acme",
        "tenant_admin_group",
    ),
    "duplicate tenant names": (_duplicate_name, "controller", "acme"),
    "bad region": (_break_platform(aws_region="us-east"), "controller", "aws_region"),
    "DR region equals primary": (_break_platform(aws_dr_region="us-east-1"), "controller", "aws_dr_region"),
    "bad domain": (_break_platform(platform_domain="not a domain"), "controller", "platform_domain"),
    "bad platform name": (_break_platform(platform_name="LLM SaaS"), "controller", "platform_name"),
    "subnet outside the VPC": (
        _break_platform(network_vpc_cidr="10.0.0.0/16", network_public_subnets=[{"cidr": "10.1.1.0/24", "az": "a"}]),
        "controller",
        "outside network_vpc_cidr",
    ),
    "overlapping subnets": (
        _break_platform(
            network_public_subnets=[{"cidr": "10.0.1.0/24", "az": "a"}, {"cidr": "10.0.1.128/25", "az": "b"}]
        ),
        "controller",
        "overlap",
    ),
    "malformed CIDR": (_break_platform(network_public_subnets=["10.0.1.300/24"]), "controller", "10.0.1.300/24"),
}


@pytest.mark.refused
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_preflight_refuses(tmp_path: Path, case: str) -> None:
    breaker, host, text = CASES[case]
    inv = _inventory(tmp_path)
    breaker(inv)
    # Only the host the case breaks: its checks still see every host's variables (hostvars).
    proc = run_playbook(REPO / "playbooks" / "preflight.yml", "--limit", host, inventory=inv)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert text in out, out
    assert f"host {host}" in out or f"[{host}]" in out, out
    # Preflight only asserts: nothing may report a change before the failure.
    hosts = recap(proc.stdout)
    assert hosts and all(counts["changed"] == 0 for counts in hosts.values()), hosts


def test_preflight_accepts_the_local_inventory() -> None:
    proc = run_playbook(REPO / "playbooks" / "preflight.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hosts = recap(proc.stdout)
    assert set(hosts) == {"controller", "acme", "globex", "initech"}
    assert all(counts["failed"] == 0 and counts["changed"] == 0 for counts in hosts.values())
