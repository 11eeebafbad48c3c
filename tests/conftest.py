"""Fixtures both suites use. The generator's live in tests/generator/conftest.py, the serving
app's in tests/serving/conftest.py; each suite runs on its own (`pytest tests/generator`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import REPO, SHARED_CRDS


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_crds() -> Path:
    if not (SHARED_CRDS / "argo-cd").is_dir():
        pytest.skip(
            f"upstream CRDs not found at {SHARED_CRDS} (only CI and developers have ../shared)"
        )
    return SHARED_CRDS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers by what a test needs, so `pytest -m "not serve"` is the generator's suite alone."""
    serving = REPO / "tests" / "serving"
    for item in items:
        if serving in item.path.parents:
            item.add_marker(pytest.mark.serve)
        fixtures = getattr(item, "fixturenames", ())
        if "shared_crds" in fixtures:
            item.add_marker(pytest.mark.crds)
        if "repo_root" in fixtures:  # the repository itself, live spec included
            item.add_marker(pytest.mark.live_spec)
