"""Repositories for verify, canary and rollback tests: the frozen spec with prod in a given
serving state and an analysis section, rendered and committed in a real git repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

from gitopsgen.sync.writer import apply_changes
from gitopsgen.validate.checked_render import render_repository
from tests.support import SPEC, frozen_repository

PROD_SERVING = "    serving: {defaultAlias: B}   # green is live\n"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def isolate_git(env: dict[str, str], home: Path) -> dict[str, str]:
    """Environment variables that keep git away from the user's configuration."""
    env = {**env, "GIT_CONFIG_GLOBAL": str(home / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1"}
    for who in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{who}_NAME"] = "Test Engineer"
        env[f"GIT_{who}_EMAIL"] = "test@example.org"
    return env


def set_prod(root: Path, serving: str, analysis: str) -> None:
    """Replace prod's serving line and add its analysis section, then render."""
    spec = root / SPEC
    text = spec.read_text()
    assert PROD_SERVING in text
    text = text.replace(PROD_SERVING, f"    serving: {serving}\n    analysis: {analysis}\n")
    spec.write_text(text)
    result = render_repository(spec, root)
    apply_changes(root, result.changes, result.folders)


def verify_repository(dest: Path, serving: str, analysis: str) -> Path:
    """A committed git repository (branch main) whose prod has `serving` and `analysis`."""
    root = frozen_repository(dest)
    set_prod(root, serving, analysis)
    git(root, "init", "--quiet", "-b", "main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "initial")
    return root
