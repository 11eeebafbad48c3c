"""Fixtures of the generator's tests: the CLI in-process and copies of the repository, and the
guard that keeps them off the live spec."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from gitopsgen.cli import cli
from tests.support import REPO, SPEC, Invoke, frozen_repository, git_repository


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


# Promotions change the live spec every day: a test that read it would turn the promotion's CI
# red. Only tests marked `live_spec` (those asking for `repo_root`, which check what holds for
# any valid spec) may open it; any other test that does fails, naming the test.
LIVE_SPEC = str((REPO / SPEC).resolve())
_live_spec_reads: list[str] = []
_watching = [False]


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if (
        event == "open"
        and _watching[0]
        and isinstance(args[0], str | bytes | os.PathLike)
        # abspath, not resolve: no file-system call on every open
        and os.path.abspath(os.fsdecode(args[0])) == LIVE_SPEC  # noqa: PTH100
    ):
        _live_spec_reads.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def _live_spec_untouched(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("live_spec"):
        yield
        return
    _live_spec_reads.clear()
    _watching[0] = True
    try:
        yield
    finally:
        _watching[0] = False
    assert not _live_spec_reads, (
        f"{request.node.nodeid} read the live spec {LIVE_SPEC}: use frozen_repository (or "
        "ask for repo_root only to check what holds for any valid spec)"
    )


@pytest.fixture
def shared_pins(shared_crds: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """`schemas fetch` pinned to the CRDs ../shared/crds holds. The GitOps Promoter CRDs are
    pinned upstream (render/promoter.py) but not in that cache, and never copied into the
    repository, so a mirror made of it cannot serve their pinned bytes."""
    from gitopsgen.validate import crd_fetch

    held = {n: c for n, c in crd_fetch.PINNED.items() if (shared_crds / n).is_file()}
    assert len(held) == 12, sorted(set(crd_fetch.PINNED) - set(held))
    monkeypatch.setattr(crd_fetch, "PINNED", held)
    return held
