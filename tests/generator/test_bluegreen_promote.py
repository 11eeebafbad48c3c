"""Promotion of a blueGreen environment on real git repositories: a switch is one line of spec
and one line of values, the PR body shows both colours, and `rollback` reverses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import SPEC, Invoke, git, git_repository, golden_repository, state

VALUES = "apps/fastapi/values/prod.yaml"


@pytest.fixture
def bg_clone(tmp_path: Path, origin: Path) -> Path:
    """The `blue-green` golden case committed on main, with a bare `origin`."""
    return git_repository(golden_repository(tmp_path / "clone", "blue-green"), origin)


def merge(root: Path, branch: str) -> None:
    git(root, "merge", "--quiet", "--ff-only", branch)


def test_promote_to_green_switches_one_line_of_spec_and_of_values(
    bg_clone: Path, run_cli: Invoke
) -> None:
    result = run_cli("promote", "prod", "--to", "green", "--root", bg_clone)
    stat = git(bg_clone, "diff", "--numstat", "main", "promote/prod-green").splitlines()
    assert sorted(stat) == sorted([f"1\t1\t{SPEC}", f"1\t1\t{VALUES}"])
    values_diff = git(bg_clone, "diff", "-U0", "main", "promote/prod-green", "--", VALUES)
    assert "-  active: blue" in values_diff and "+  active: green" in values_diff
    message = git(bg_clone, "log", "-1", "--format=%B", "promote/prod-green")
    assert "Gitopsgen-Change: prod rollout.active blue -> green" in message
    body = result.stdout
    for words in (
        "# Promote prod to green (1.5.0, alias B): rollout.active blue -> green",
        "| blue | `docker.io/example-org/model-api:1.4.0` | A | 3 | 3 | preview |",
        "| green | `docker.io/example-org/model-api:1.5.0` | B | 3 | 3 | live (Service) |",
        "After the merge 6 pods run: 3 green, 3 blue.",
        "The idle colour costs 3 pod(s) of cpu 250m, memory 512Mi each",
        "gitopsgen set prod rollout.active=blue",
    ):
        assert words in body, words
    kubernetes = body.split("### What Kubernetes will see", 1)[1].split("###", 1)[0]
    assert [ln for ln in kubernetes.splitlines() if ln.startswith("- ")] == [
        "- `Service fastapi-prod/fastapi: spec.selector.gitopsgen.io/color blue -> green`",
        "- `Service fastapi-prod/fastapi-preview: spec.selector.gitopsgen.io/color green -> blue`",
    ]
    assert "### Traffic" not in body  # no model alias moved inside a colour


def test_switch_with_an_idle_colour_at_zero_moves_the_pods_too(
    bg_clone: Path, run_cli: Invoke
) -> None:
    result = run_cli("promote", "dev", "--to", "blue", "--root", bg_clone)
    body = result.stdout
    assert "| blue | `docker.io/example-org/model-api:1.4.0` | A | 0 | 2 | live (Service) |" in body
    assert "| green | `docker.io/example-org/model-api:1.5.0` | A | 2 | 0 | preview |" in body
    assert "gives up the instant rollback" in body
    assert "- `Deployment fastapi-dev/fastapi-blue: spec.replicas 0 -> 2`" in body
    assert "- `Deployment fastapi-dev/fastapi-green: spec.replicas 2 -> 0`" in body


def test_rollback_reverses_the_switch(bg_clone: Path, run_cli: Invoke) -> None:
    run_cli("promote", "prod", "--to", "green", "--root", bg_clone)
    merge(bg_clone, "promote/prod-green")
    assert "  active: green" in (bg_clone / VALUES).read_text()
    result = run_cli("rollback", "prod", "--root", bg_clone)
    branch = next(b.strip() for b in git(bg_clone, "branch", "--list", "rollback/*").splitlines())
    merge(bg_clone, branch)
    assert "  active: blue" in (bg_clone / VALUES).read_text()
    assert git(bg_clone, "diff", "--stat", "HEAD~2", "HEAD") == ""  # exactly as before
    assert "Gitopsgen-Change: prod rollout.active green -> blue" in git(
        bg_clone, "log", "-1", "--format=%B"
    )
    assert "spec.selector.gitopsgen.io/color green -> blue" in result.stdout


@pytest.mark.parametrize(
    ("to", "words"),
    [("blue", "already sends all traffic to blue"), ("B", "promote to a colour, blue or green")],
)
def test_refusals_leave_the_repository_as_it_was(
    bg_clone: Path, run_cli: Invoke, to: str, words: str
) -> None:
    before = state(bg_clone)
    result = run_cli("promote", "prod", "--to", to, "--root", bg_clone, expect=1)
    assert words in result.stderr
    assert state(bg_clone) == before
