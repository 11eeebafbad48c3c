"""The CLI behaves the same everywhere: found from any folder, one exit-code table, examples
and exit codes in every --help, shell completion of environment names. Through the installed
console script, as a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from gitopsgen.cli import cli
from gitopsgen.cli.common import EXIT_CODES
from gitopsgen.errors import EXIT_CODE_MEANINGS
from tests.support import REPO, frozen_repository

SCRIPT = Path(sys.executable).parent / "gitopsgen"


def gitopsgen(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def frozen(tmp_path: Path) -> Path:
    root = frozen_repository(tmp_path / "repo")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_commands_find_the_root_from_a_subfolder(frozen: Path) -> None:
    deep = frozen / "apps" / "fastapi" / "chart" / "templates"
    result = gitopsgen("render", "--check", cwd=deep)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    simulated = gitopsgen("simulate", "dev", "--clients", "100", cwd=frozen / "metallb")
    assert simulated.returncode == 0, simulated.stderr
    assert "over 100 client ids" in simulated.stdout


def test_outside_any_repository_the_spec_is_missing_and_named(tmp_path: Path) -> None:
    result = gitopsgen("render", "--check", cwd=tmp_path)
    assert result.returncode == 2
    assert "environments/environments.yaml" in result.stderr
    assert "Traceback" not in result.stderr


UNKNOWN_ENVIRONMENT = [
    ["simulate", "nope"],
    ["preview", "nope"],
    ["promote", "nope", "--to", "A"],
    ["set", "nope", "replicas=3"],
    ["rollback", "nope"],
    ["status", "nope"],
    ["wait", "nope", "--timeout", "1"],
]


@pytest.mark.parametrize("args", UNKNOWN_ENVIRONMENT, ids=[a[0] for a in UNKNOWN_ENVIRONMENT])
def test_an_unknown_environment_is_the_same_usage_error_everywhere(
    frozen: Path, args: list[str]
) -> None:
    result = gitopsgen(*args, cwd=frozen)
    assert result.returncode == 2, result.stderr
    assert "unknown environment 'nope'; known: dev, prod" in result.stderr
    assert "Traceback" not in result.stderr


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{prefix}{name} "))
        else:
            found.append((prefix + name, command))
    return found


COMMAND_NAMES = [name for name, _ in _commands(cli)]


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_every_help_shows_an_example_and_the_exit_codes(name: str) -> None:
    result = subprocess.run(
        [str(SCRIPT), *name.split(), "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert f"gitopsgen {name}" in result.stdout.split("Examples:")[1]
    for code, text in EXIT_CODES:
        assert f"  {code}  {text}" in result.stdout


def _groups(group: click.Group, prefix: str = "") -> list[str]:
    found = [prefix.strip()] if prefix else []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.extend(_groups(command, f"{prefix}{name} "))
    return found


@pytest.mark.parametrize("name", _groups(cli))
def test_every_command_group_help_shows_an_example_and_the_exit_codes(name: str) -> None:
    result = subprocess.run(
        [str(SCRIPT), *name.split(), "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert f"gitopsgen {name}" in result.stdout.split("Examples:")[1]
    for code, text in EXIT_CODES:
        assert f"  {code}  {text}" in result.stdout


def test_docs_exit_code_table_is_the_one_table() -> None:
    """docs/cli.md's exit-code table is gitopsgen.errors' EXIT_CODE_MEANINGS, row for row."""
    reference = (REPO / "docs/cli.md").read_text()
    rows = re.findall(r"^\| `(\d+)` \| (.+?) \|$", reference, re.MULTILINE)
    assert [(int(code), text) for code, text in rows] == list(EXIT_CODE_MEANINGS)


def test_completion_offers_environment_names_and_aliases(frozen: Path) -> None:
    def complete(line: str) -> list[str]:
        words = line.split(" ")
        result = gitopsgen(
            cwd=frozen,
            env={
                "_GITOPSGEN_COMPLETE": "bash_complete",
                "COMP_WORDS": line,
                "COMP_CWORD": str(len(words) - 1),
            },
        )
        assert result.returncode == 0, result.stderr
        return [row.split(",", 1)[1] for row in result.stdout.splitlines()]

    assert complete("gitopsgen promote ") == ["dev", "prod"]
    assert complete("gitopsgen simulate p") == ["prod"]
    # click completes a case-insensitive choice in lower case; `--to a` is accepted
    assert complete("gitopsgen promote prod --to ") == ["a", "b", "blue", "green"]
