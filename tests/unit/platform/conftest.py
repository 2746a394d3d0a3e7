"""Session fixtures: the cluster-platform roles are rendered once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from platform_render import load_documents, render


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp("platform-render"))


@pytest.fixture(scope="session")
def rendered_documents(rendered) -> dict[str, list[dict]]:
    return {p.stem: load_documents(p) for p in sorted(rendered.glob("*.yaml"))}
