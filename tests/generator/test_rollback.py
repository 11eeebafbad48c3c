"""Rollback follows the promotion history (Gitopsgen-Change trailers), on real repositories."""

from __future__ import annotations

from pathlib import Path

from tests.support import SPEC, Invoke, git, state

PROD_LINE = "    serving: {defaultAlias: B}   # green is live\n"


def trailers(root: Path, rev: str) -> list[str]:
    """As git itself parses them."""
    out = git(root, "log", "-1", "--format=%(trailers:key=Gitopsgen-Change,valueonly)", rev)
    return out.splitlines()


def merge_created(root: Path, stderr: str) -> str:
    line = next(ln for ln in stderr.splitlines() if ln.startswith("created branch"))
    branch = line.split()[2]
    git(root, "merge", "--quiet", "--ff-only", branch)
    return branch


def hand_edit(root: Path, old: str, new: str, message: str) -> None:
    """A plain commit of the spec, as someone editing by hand would make (no trailers)."""
    spec = root / SPEC
    spec.write_text(spec.read_text().replace(old, new))
    git(root, "commit", "--quiet", "-am", message)


def test_every_command_records_its_changes_as_trailers(clone: Path, run_cli: Invoke) -> None:
    run_cli("promote", "prod", "--to", "A", "--root", clone)
    assert trailers(clone, "promote/prod-A") == ["prod serving.defaultAlias B -> A"]
    run_cli("set", "dev", "serving.mode=canary", "serving.canaryPercent=30", "--root", clone)
    branch = git(clone, "branch", "--list", "set/*", "--format=%(refname:short)")
    assert trailers(clone, branch) == [
        "dev serving.mode blue_green -> canary",
        "dev serving.canaryPercent 20 -> 30",
    ]


def test_rollback_undoes_the_merged_promotion_and_a_second_undoes_the_first(
    clone: Path, run_cli: Invoke
) -> None:
    promoted = run_cli("promote", "prod", "--to", "A", "--root", clone)
    merge_created(clone, promoted.stderr)
    sha = git(clone, "rev-parse", "HEAD")
    first = run_cli("rollback", "prod", "--root", clone)
    assert f"# Roll back prod: undo {sha[:10]} (Promote prod to A (blue)" in first.stdout
    assert "`prod`: serving.defaultAlias A -> B" in first.stdout
    branch = merge_created(clone, first.stderr)
    assert trailers(clone, branch) == ["prod serving.defaultAlias A -> B"]
    assert PROD_LINE in (clone / SPEC).read_text()
    assert "DEFAULT_ALIAS: B" in (clone / "apps/fastapi/values/prod.yaml").read_text()
    second = run_cli("rollback", "prod", "--root", clone)
    assert "undo " + git(clone, "rev-parse", "--short=10", "HEAD") in second.stdout
    assert "`prod`: serving.defaultAlias B -> A" in second.stdout  # undoes the rollback


def test_rollback_of_a_split_mode_promotion_restores_every_field(
    clone: Path, run_cli: Invoke
) -> None:
    merge_created(clone, run_cli("set", "prod", "serving.mode=ab_test", "--root", clone).stderr)
    merge_created(clone, run_cli("promote", "prod", "--to", "A", "--root", clone).stderr)
    result = run_cli("rollback", "prod", "--root", clone)
    assert "`prod`: serving.defaultAlias A -> B" in result.stdout
    assert "`prod`: serving.mode blue_green -> ab_test" in result.stdout
    assert "| after (ab_test) | 90% | 10% |" in result.stdout
    branch = merge_created(clone, result.stderr)
    values = git(clone, "show", f"{branch}:apps/fastapi/values/prod.yaml")
    assert "ALIAS_SELECTION_MODE: ab_test" in values and "DEFAULT_ALIAS: B" in values


def test_unmerged_promotion_and_hand_edits_are_not_rolled_back(
    clone: Path, run_cli: Invoke
) -> None:
    """The promotion branch is not reachable from main; a bulk hand edit has no trailers."""
    run_cli("promote", "prod", "--to", "A", "--root", clone)
    hand_edit(clone, "whitelist: [10.10.0.0/16]", "whitelist: [10.10.0.0/16, 10.20.0.0/16]", "bulk")
    run_cli("render", "--root", clone)
    git(clone, "commit", "--quiet", "-am", "render")
    before = state(clone)
    result = run_cli("rollback", "prod", "--root", clone, expect=1)
    assert result.stderr.startswith("error: nothing to roll back: no commit reachable from HEAD")
    assert "prod" in result.stderr and "Traceback" not in result.output
    assert state(clone) == before


def test_rollback_refuses_when_the_spec_moved_on(clone: Path, run_cli: Invoke) -> None:
    merge_created(clone, run_cli("promote", "prod", "--to", "A", "--root", clone).stderr)
    sha = git(clone, "rev-parse", "--short=10", "HEAD")
    hand_edit(clone, "serving: {defaultAlias: A}", "serving: {defaultAlias: B}", "by hand")
    run_cli("render", "--root", clone)
    git(clone, "commit", "--quiet", "-am", "render")
    before = state(clone)
    result = run_cli("rollback", "prod", "--root", clone, expect=1)
    assert result.stderr == (
        f"error: cannot roll back prod: serving.defaultAlias is B, not A as commit {sha} "
        "(Promote prod to A (blue): defaultAlias B -> A) set it; it changed since\n"
    )
    assert state(clone) == before
