"""site.yml end to end on the local platform: it converges, a re-run changes nothing, and
`--check --diff` on the converged platform shows nothing to do (what `make demo` shows)."""

from __future__ import annotations

from platform_helpers import REPO, recap, run_playbook


def test_site_converges_then_changes_nothing(local_platform):
    first = run_playbook(REPO / "site.yml", env=local_platform)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    hosts = recap(first.stdout)
    assert {"controller", "acme", "globex", "initech"} <= set(hosts)

    second = run_playbook(REPO / "site.yml", env=local_platform)
    assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-3000:]
    changed = {host: counts["changed"] for host, counts in recap(second.stdout).items()}
    assert changed and all(count == 0 for count in changed.values()), changed

    check = run_playbook(REPO / "site.yml", "--check", "--diff", env=local_platform)
    assert check.returncode == 0, check.stdout[-6000:] + check.stderr[-3000:]
    changed = {host: counts["changed"] for host, counts in recap(check.stdout).items()}
    assert all(count == 0 for count in changed.values()), changed
