from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli

REPO = Path(__file__).resolve().parents[1]
SHARED_CRDS = REPO.parent / "shared" / "crds"
SPEC = "environments/environments.yaml"


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


Invoke = Callable[..., Result]


@pytest.fixture
def run_cli() -> Invoke:
    """Run the CLI in-process; a failure message shows what it printed."""

    def invoke(*args: str | Path, expect: int | None = 0) -> Result:
        result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (
                f"exit {result.exit_code} != {expect}\nstdout:\n{result.stdout}\n"
                f"stderr:\n{result.stderr}"
            )
        return result

    return invoke


def copy_repository(dest: Path) -> Path:
    """The parts of this repository a render and a validate read, and what they write."""
    for part in (
        "environments",
        "apps/fastapi/chart",
        "apps/fastapi/values",
        "applicationsets",
        "bootstrap",
        "metallb",
    ):
        shutil.copytree(REPO / part, dest / part)
    return dest


@pytest.fixture
def tmp_repo(tmp_path: Path) -> Path:
    return copy_repository(tmp_path / "repo")


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below root, for checking that nothing changed."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
