"""Fixtures of the generator's tests: the CLI in-process and copies of the repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli
from tests.support import Invoke, copy_repository


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
    return copy_repository(tmp_path / "repo")
