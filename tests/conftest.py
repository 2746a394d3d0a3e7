"""Shared pytest fixtures: the local platform, and ansible runs from the repository root."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from platform_helpers import REPO, ensure_tenant_buckets, platform_env


@pytest.fixture(scope="session")
def local_platform() -> dict[str, str]:
    """Ensure every local-platform service runs; return its environment (KUBECONFIG, PGHOST, ...).

    The services are left running: `make test` stops them at the end, and a developer's
    already-running platform is reused as is.
    """
    env = platform_env([])
    os.environ.update(env)
    ensure_tenant_buckets(env)
    return env


# Tests that converge against the one shared local platform (the `local_platform` fixture, the
# integration tests, playbooks run on inventories/local) assert whole-platform facts such as
# "a second site.yml run changes nothing", so they run one after another (`-m shared_platform`);
# `make pytest` runs everything else (private servers or none) beside them (`-m "not shared_platform"`).
_SHARED_PLATFORM_DIRS = {"integration"}
_SHARED_PLATFORM_FILES = {"test_roles.py", "test_modules.py", "test_no_secret_in_verbose_output.py"}


def pytest_configure(config):
    config.addinivalue_line("markers", "shared_platform: converges against the one shared local platform")
    config.addinivalue_line(
        "markers", "tears_down_foundation: removes the shared platform's AWS foundation, so runs after every other test"
    )


def pytest_collection_modifyitems(config, items):
    # Tearing down the foundation site.yml built (instead of building a second one just to remove
    # it) saves ~5 minutes, as long as nothing that needs that foundation runs afterwards.
    items.sort(key=lambda item: item.get_closest_marker("tears_down_foundation") is not None)


def pytest_itemcollected(item):
    path = Path(str(item.fspath))
    if ("local_platform" in getattr(item, "fixturenames", ()) or path.parent.name in _SHARED_PLATFORM_DIRS
            or path.name in _SHARED_PLATFORM_FILES):
        item.add_marker(pytest.mark.shared_platform)


# Unit tests run in-process (moto's mock_aws, botocore's Stubber), never against the local
# platform: `make pytest` exports its AWS_ENDPOINT_URL, which would route boto3 past mock_aws to
# the shared moto server, where tests see each other's resources.
_PLATFORM_AWS_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "AWS_SESSION_TOKEN")


@pytest.fixture(autouse=True)
def _unit_tests_use_in_process_aws(request, monkeypatch):
    if "unit" not in Path(str(request.node.fspath)).relative_to(REPO / "tests").parts[:1]:
        return
    for name in [*_PLATFORM_AWS_VARIABLES, *(n for n in os.environ if n.startswith("AWS_ENDPOINT_URL_"))]:
        monkeypatch.delenv(name, raising=False)
