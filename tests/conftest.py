"""Fixtures both suites use. The generator's live in tests/generator/conftest.py, the serving
app's in tests/serving/conftest.py; each suite runs on its own (`pytest tests/generator`)."""

from __future__ import annotations

import os
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


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (in addopts): the generator's suite runs across the cores (at most four), so a
    promotion's check of it stays well under a minute on two; the serving suite, whose tests
    start servers and drive load through them, runs in one process (0: not distributed)."""
    generator = REPO / "tests" / "generator"
    paths = [Path(str(a).split("::")[0]).resolve() for a in config.args]
    generator_only = (
        "not serve" in (config.option.markexpr or "")
        or bool(paths)
        and all(p == generator or generator in p.parents for p in paths)
    )
    return min(4, os.cpu_count() or 1) if generator_only else 0
