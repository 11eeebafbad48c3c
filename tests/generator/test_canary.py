"""`gitopsgen canary` steps forward only on a Successful verify, and `verify --rollback-on-failure`
rolls back through Git; real git repositories, Prometheus answers replayed from recordings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitopsgen.errors import GitopsgenError
from gitopsgen.promotion.canary import next_step
from gitopsgen.spec.load import parse_spec
from tests.generator.test_verify import Replay, replay, repo_for
from tests.support import FROZEN, SPEC, Invoke
from tests.verify_support import PROD_SERVING, git, isolate_git

__all__ = ["replay"]  # the fixture, used by name


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in isolate_git({}, tmp_path).items():
        monkeypatch.setenv(key, value)


def committed(root: Path) -> Path:
    git(root, "init", "--quiet", "-b", "main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "initial")
    return root


def test_a_successful_verify_takes_the_next_step(
    replay: Replay, run_cli: Invoke, tmp_path: Path
) -> None:
    replay.load("good")
    root = committed(repo_for(tmp_path, "good", replay.url))
    result = run_cli("canary", "prod", "--root", root)
    assert "created branch canary/prod-100" in result.stderr
    assert "Verdict: Successful" in result.stderr
    out = result.stdout
    assert out.startswith("# Canary prod: B (green) from 50% to 100%\n")
    assert "- `prod`: serving.canaryPercent 50 -> 100" in out
    assert "### Verification" in out and "**Successful**" in out
    assert "| error rate | 0.00% | <= 1.00% | 176 | passed |" in out
    assert "canaryPercent: 100" in git(root, "show", f"canary/prod-100:{SPEC}")
    assert git(root, "rev-parse", "--abbrev-ref", "HEAD") == "main"


def test_an_inconclusive_verify_takes_no_step(
    replay: Replay, run_cli: Invoke, tmp_path: Path
) -> None:
    replay.load("scarce")
    root = committed(repo_for(tmp_path, "good", replay.url))
    head = git(root, "rev-parse", "HEAD")
    result = run_cli("canary", "prod", "--root", root, expect=1)
    assert "verify prod is Inconclusive, not Successful" in result.stderr
    assert "--skip-verify overrides" in result.stderr
    assert git(root, "branch", "--list").split() == ["*", "main"]
    assert (git(root, "rev-parse", "HEAD"), git(root, "status", "--porcelain")) == (head, "")


def test_skip_verify_says_so_and_asks_nothing(
    replay: Replay, run_cli: Invoke, tmp_path: Path
) -> None:
    root = committed(repo_for(tmp_path, "good", replay.url))
    result = run_cli("canary", "prod", "--root", root, "--skip-verify")
    assert "**Skipped** (`--skip-verify`)" in result.stdout
    assert replay.asked == []


def spec_with(serving: str) -> str:
    text = (FROZEN / "spec.yaml").read_text()
    return text.replace(PROD_SERVING, f"    serving: {serving}\n")


@pytest.mark.parametrize(
    ("serving", "changes", "slug"),
    [
        ("{mode: blue_green, defaultAlias: A}", {"mode": "canary", "canaryPercent": 10}, "10"),
        ("{mode: canary, defaultAlias: A, canaryPercent: 10}", {"canaryPercent": 25}, "25"),
        ("{mode: canary, defaultAlias: A, canaryPercent: 30}", {"canaryPercent": 50}, "50"),
        (
            "{mode: canary, defaultAlias: A, canaryPercent: 20, canarySteps: [5, 20]}",
            {"mode": "blue_green", "defaultAlias": "B"},
            "done",
        ),
        (
            "{mode: canary, defaultAlias: A, canaryPercent: 100}",
            {"mode": "blue_green", "defaultAlias": "B"},
            "done",
        ),
    ],
)
def test_next_step(serving: str, changes: dict[str, object], slug: str) -> None:
    spec, _ = parse_spec(spec_with(serving), "spec.yaml")
    step = next_step(spec.environment("prod"))
    assert {path[-1]: value for path, value in step.assignments} == changes
    assert step.slug == slug


@pytest.mark.parametrize(
    ("serving", "words"),
    [
        ("{mode: blue_green, defaultAlias: B}", "promote prod to A first"),
        ("{mode: ab_test, defaultAlias: A}", "prod is in ab_test"),
    ],
)
def test_no_canary_from_here(serving: str, words: str) -> None:
    spec, _ = parse_spec(spec_with(serving), "spec.yaml")
    with pytest.raises(GitopsgenError, match=words):
        next_step(spec.environment("prod"))


def test_a_live_alias_failing_after_a_switch_is_rolled_back_by_history(
    replay: Replay, run_cli: Invoke, tmp_path: Path
) -> None:
    """blue_green just switched to B; verify judges B (--candidate B) on the recorded broken
    answers and rolls back to the alias before the last promotion."""
    replay.load("broken")
    analysis = (
        f"{{prometheus: {{url: '{replay.url}'}}, selector: 'job=\"verify-broken\"', window: 5m, "
        "minSamples: 60}"
    )
    from tests.support import frozen_repository
    from tests.verify_support import set_prod

    root = frozen_repository(tmp_path / "repo")
    set_prod(root, "{mode: blue_green, defaultAlias: A}", analysis)
    committed(root)
    run_cli("promote", "prod", "--to", "B", "--root", root)
    git(root, "merge", "--quiet", "--ff-only", "promote/prod-B")
    switch = git(root, "rev-parse", "HEAD")
    result = run_cli(
        "verify", "prod", "--root", root, "--candidate", "B", "--rollback-on-failure", expect=1
    )
    branch = f"rollback/prod-{switch[:8]}"  # the promotion it undoes, found by its trailers
    assert f"created branch {branch}" in result.stderr
    assert f"# Roll back prod: undo {switch[:10]}" in result.stdout
    assert "- error rate: beyond the threshold" in result.stdout
    assert "defaultAlias: A" in git(root, "show", f"{branch}:{SPEC}")
    git(root, "branch", "-D", branch)
    result = run_cli(
        "verify", "prod", "--root", root, "--candidate", "B", "--rollback-on-failure",
        "--format", "json", expect=1,
    )  # fmt: skip
    assert json.loads(result.stdout)["verdict"] == "Failed"  # stdout stays JSON
    assert f"# Roll back prod: undo {switch[:10]}" in result.stderr


def test_a_failing_candidate_that_serves_nothing_is_not_rolled_back(
    replay: Replay, run_cli: Invoke, tmp_path: Path
) -> None:
    replay.load("broken")
    analysis = (
        f"{{prometheus: {{url: '{replay.url}'}}, selector: 'job=\"verify-broken\"', window: 5m, "
        "minSamples: 60}"
    )
    from tests.support import frozen_repository
    from tests.verify_support import set_prod

    root = frozen_repository(tmp_path / "repo")
    set_prod(root, "{mode: blue_green, defaultAlias: A}", analysis)
    committed(root)
    result = run_cli("verify", "prod", "--root", root, "--rollback-on-failure", expect=1)
    assert "the failing candidate B serves no traffic" in result.stderr
    assert git(root, "branch", "--list").split() == ["*", "main"]
