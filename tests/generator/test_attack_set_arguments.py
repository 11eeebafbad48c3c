"""Hostile `gitopsgen set` arguments: a malformed FIELD=VALUE is a usage error (2), and a value
that makes no valid branch name still reaches validation, which names the field (1); git's own
error about a branch name never shows, and the repository is left as it was."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitopsgen.promotion.decisions import set_edit
from gitopsgen.spec.load import load_spec
from tests.support import SPEC, Invoke, state


@pytest.mark.parametrize("argument", ["replicas", "=3", "serving..mode=x", "replicas=[1"])
def test_a_malformed_assignment_is_a_usage_error(
    clone: Path, run_cli: Invoke, argument: str
) -> None:
    before = state(clone)
    result = run_cli("set", "dev", argument, "--root", clone, expect=2)
    assert argument.split("=")[0] in result.stderr or "FIELD=VALUE" in result.stderr
    assert state(clone) == before


@pytest.mark.parametrize(
    "value",
    [
        "../../etc",
        "a..b",
        "x.lock",
        "x.lock.lock-.lock",
        "x.",
        ".x",
        "a@{b",
        "a~b^c:d?e*f[g\\h",
        "-",
    ],
)
def test_every_set_branch_name_is_one_git_accepts(clone: Path, value: str) -> None:
    spec, _ = load_spec(clone / SPEC, clone)
    branch = set_edit(spec, "dev", [(("image", "tag"), value)], None).branch
    check = subprocess.run(["git", "check-ref-format", "--branch", branch], capture_output=True)
    assert check.returncode == 0, branch


def test_a_value_that_is_no_branch_name_is_refused_by_validation(
    clone: Path, run_cli: Invoke
) -> None:
    before = state(clone)
    result = run_cli("set", "dev", "namespace=../../etc", "--root", clone, expect=1)
    assert "environments.dev.namespace" in result.stderr
    assert "not a valid branch name" not in result.stderr
    assert "git worktree" not in result.stderr
    assert state(clone) == before
