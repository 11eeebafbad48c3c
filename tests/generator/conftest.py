"""Fixtures of the generator's tests: the CLI in-process and copies of the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli
from tests.support import Invoke, frozen_repository, git_repository


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


@pytest.fixture
def tmp_repo(tmp_path: Path) -> Path:
    """A repository made of the frozen shipped spec, its rendered files and the chart."""
    return frozen_repository(tmp_path / "repo")


@pytest.fixture(scope="session")
def frozen_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One frozen repository for tests that only read it."""
    return frozen_repository(tmp_path_factory.mktemp("frozen") / "repo")


@pytest.fixture
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Git sees none of the developer's or the machine's configuration."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{var}_NAME", "Test Engineer")
        monkeypatch.setenv(f"GIT_{var}_EMAIL", "test@example.org")


@pytest.fixture
def origin(tmp_path: Path, isolated_git: None) -> Path:  # noqa: ARG001
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(bare)], check=True)
    return bare


@pytest.fixture
def clone(tmp_path: Path, origin: Path) -> Path:
    """A git repository of the frozen spec on main, with a bare `origin`."""
    return git_repository(frozen_repository(tmp_path / "clone"), origin)
