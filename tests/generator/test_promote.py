"""Promotion through Git, on real repositories: a temporary clone and a bare `origin`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import SPEC, Invoke, git, state

PROD_LINE = "    serving: {defaultAlias: B}   # green is live\n"


def test_promotion_is_one_line_of_spec_plus_its_render(clone: Path, run_cli: Invoke) -> None:
    spec_before = (clone / SPEC).read_bytes()
    result = run_cli("promote", "prod", "--to", "blue", "--root", clone)
    assert git(clone, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(clone, "status", "--porcelain") == ""
    assert (clone / SPEC).read_bytes() == spec_before  # main untouched
    log = git(clone, "log", "--format=%s", "main..promote/prod-A").splitlines()
    assert log == ["Promote prod to A (blue): defaultAlias B -> A"]
    stat = git(clone, "diff", "--numstat", "main", "promote/prod-A").splitlines()
    assert sorted(stat) == sorted([f"1\t1\t{SPEC}", "1\t1\tapps/fastapi/values/prod.yaml"])
    diff = git(clone, "diff", "-U0", "main", "promote/prod-A", "--", SPEC)
    assert "-    serving: {defaultAlias: B}   # green is live" in diff
    assert "+    serving: {defaultAlias: A}   # blue is live" in diff  # the comment retold
    values = git(clone, "show", "promote/prod-A:apps/fastapi/values/prod.yaml")
    assert "DEFAULT_ALIAS: A" in values
    body = result.stdout
    assert body.count("Promote prod to A (blue)") == 1  # the title once, not again in the body
    for words in (
        "# Promote prod to A (blue)",
        "`prod`: serving.defaultAlias B -> A",
        "apps/fastapi/values/prod.yaml",
        "### Traffic",
        "| before (blue_green) | 0% | 100% |",
        "| after (blue_green) | 100% | 0% |",
        "`gitopsgen validate`: passed",
        "gitopsgen set prod serving.defaultAlias=B",
        "gitopsgen rollback prod",
    ):
        assert words in body, words
    kubernetes = body.split("### What Kubernetes will see", 1)[1].split("###", 1)[0]
    objects = [ln for ln in kubernetes.splitlines() if ln.startswith(("- ", "**"))]
    assert objects == [
        "**prod** (cluster `prod`, namespace `fastapi-prod`)",
        "- `Deployment fastapi-prod/fastapi: env DEFAULT_ALIAS B -> A`",
    ]


def test_push_lands_the_branch_in_origin(clone: Path, origin: Path, run_cli: Invoke) -> None:
    run_cli("promote", "prod", "--to", "A", "--push", "--root", clone)
    heads = git(origin, "for-each-ref", "--format=%(refname:short)", "refs/heads")
    assert "promote/prod-A" in heads.splitlines()
    assert git(origin, "rev-parse", "promote/prod-A") == git(clone, "rev-parse", "promote/prod-A")


# a mistake in the command line is a usage error (2); a refused change is a finding (1)
REFUSALS = [
    ("unknown env", ["promote", "staging", "--to", "A"], 2, "unknown environment 'staging'"),
    ("unknown alias", ["promote", "prod", "--to", "purple"], 2, "'purple' is not one of"),
    (
        "already live",
        ["promote", "prod", "--to", "green"],
        1,
        "prod already serves all traffic from B (green) (serving.mode blue_green, "
        "serving.defaultAlias B); nothing to promote",
    ),
    ("invalid value", ["set", "prod", "serving.canaryPercent=150"], 1, "greater than the maximum"),
    ("breaks a policy", ["set", "prod", "ingress.whitelist=[0.0.0.0/0]"], 1, "GG102"),
]


@pytest.mark.parametrize(
    ("args", "code", "words"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refusals_leave_the_repository_as_it_was(
    clone: Path, run_cli: Invoke, args: list[str], code: int, words: str
) -> None:
    before = state(clone)
    result = run_cli(*args, "--root", clone, expect=code)
    assert words in result.stderr
    assert "Traceback" not in result.output
    assert state(clone) == before


def test_detached_head_is_refused(clone: Path, run_cli: Invoke) -> None:
    git(clone, "checkout", "--quiet", "--detach", "HEAD")
    before = state(clone)
    result = run_cli("promote", "prod", "--to", "A", "--root", clone, expect=1)
    assert "HEAD is detached" in result.stderr
    assert state(clone) == before


def test_existing_branch_is_refused(clone: Path, run_cli: Invoke) -> None:
    git(clone, "branch", "promote/prod-A")
    before = state(clone)
    result = run_cli("promote", "prod", "--to", "A", "--root", clone, expect=1)
    assert "already exists" in result.stderr
    assert state(clone) == before


def test_rejected_push_leaves_no_branch(
    clone: Path, origin: Path, tmp_path: Path, run_cli: Invoke
) -> None:
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "--quiet", str(origin), str(other)], check=True)
    git(other, "checkout", "--quiet", "-b", "promote/prod-A")
    (other / "elsewhere.txt").write_text("someone else's work\n")
    git(other, "add", "elsewhere.txt")
    git(other, "commit", "--quiet", "-m", "someone else")
    git(other, "push", "--quiet", "origin", "promote/prod-A")
    before = state(clone)
    result = run_cli("promote", "prod", "--to", "A", "--push", "--root", clone, expect=1)
    assert "rejected" in result.stderr
    assert state(clone) == before
    assert git(origin, "log", "--format=%s", "-1", "promote/prod-A") == "someone else"


def test_set_progressive_canary_reports_the_traffic(clone: Path, run_cli: Invoke) -> None:
    result = run_cli(
        "set", "prod", "serving.mode=canary", "serving.canaryPercent=25", "--root", clone
    )
    branch = next(ln for ln in result.stderr.splitlines() if ln.startswith("created branch"))
    name = branch.split()[2]
    assert name.startswith("set/prod-")
    diff = git(clone, "diff", "--numstat", "main", name).splitlines()
    assert f"1\t1\t{SPEC}" in diff
    values = git(clone, "show", f"{name}:apps/fastapi/values/prod.yaml")
    assert "ALIAS_SELECTION_MODE: canary" in values and "CANARY_PERCENT: '25'" in values
    assert "| before (blue_green) | 0% | 100% |" in result.stdout
    assert "| after (canary) | 75% | 25% |" in result.stdout
    undo = "gitopsgen set prod serving.mode=blue_green serving.canaryPercent=10"
    assert undo in result.stdout  # the old values, canaryPercent from defaults


def test_commit_stages_exactly_the_spec_and_rendered_files(clone: Path, run_cli: Invoke) -> None:
    spec = clone / SPEC
    spec.write_text(spec.read_text().replace("canaryPercent: 20}", "canaryPercent: 30}"))
    (clone / "scratch.txt").write_text("not for this commit\n")
    result = run_cli("commit", "--root", clone)
    assert "dev: serving.canaryPercent 20 -> 30" in result.stdout
    files = git(clone, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert sorted(files) == sorted([SPEC, "apps/fastapi/values/dev.yaml"])
    assert git(clone, "status", "--porcelain") == "?? scratch.txt"
    message = git(clone, "log", "-1", "--format=%B")
    assert "- dev: serving.canaryPercent 20 -> 30" in message
    trailers = git(clone, "log", "-1", "--format=%(trailers:key=Gitopsgen-Change,valueonly)")
    assert trailers == "dev serving.canaryPercent 20 -> 30"


def test_commit_refuses_when_validation_fails(clone: Path, run_cli: Invoke) -> None:
    values = clone / "apps/fastapi/chart/values.yaml"
    values.write_text(values.read_text().replace("  port: 80\n", "  port: 0\n"))
    spec = clone / SPEC
    spec.write_text(spec.read_text().replace("canaryPercent: 20}", "canaryPercent: 30}"))
    head = git(clone, "rev-parse", "HEAD")
    rendered = (clone / "apps/fastapi/values/dev.yaml").read_bytes()
    result = run_cli("commit", "--root", clone, expect=1)
    assert "GG303" in result.stderr and "nothing was committed" in result.stderr
    assert git(clone, "rev-parse", "HEAD") == head
    assert (clone / "apps/fastapi/values/dev.yaml").read_bytes() == rendered


def test_simulate_agrees_with_the_serving_app(clone: Path, run_cli: Invoke) -> None:
    from app.routing import choose_alias

    run_cli("set", "prod", "serving.mode=ab_test", "serving.abSplitPercent=30", "--root", clone)
    git(
        clone,
        "merge",
        "--quiet",
        "--ff-only",
        next(b.strip() for b in git(clone, "branch", "--list", "set/*").splitlines()),
    )
    ids = [f"user-{i}" for i in range(1000)]
    args = [arg for cid in ids for arg in ("--client-id", cid)]
    out = run_cli("simulate", "prod", "--clients", "1000", *args, "--root", clone).stdout
    reported = dict(line.split(": ") for line in out.splitlines()[2:])
    assert reported == {cid: choose_alias("ab_test", "B", 10, 30, cid) for cid in ids}
    share_a = sum(a == "A" for a in reported.values()) / 10
    assert abs(share_a - 30) <= 4


def merged(root: Path, run_cli: Invoke, *args: str) -> None:
    """Run a branch-making command and merge its branch into main, as a reviewer would."""
    result = run_cli(*args, "--root", root)
    line = next(ln for ln in result.stderr.splitlines() if ln.startswith("created branch"))
    git(root, "merge", "--quiet", "--ff-only", line.split()[2])


@pytest.mark.parametrize(
    ("mode", "to", "before", "after", "spec_changes"),
    [
        (
            "canary",
            "green",
            "| before (canary) | 90% | 10% |",
            "| after (blue_green) | 0% | 100% |",
            ["serving.mode canary -> blue_green"],
        ),
        (
            "ab_test",
            "blue",
            "| before (ab_test) | 90% | 10% |",
            "| after (blue_green) | 100% | 0% |",
            ["serving.defaultAlias B -> A", "serving.mode ab_test -> blue_green"],
        ),
    ],
)
def test_promotion_in_a_split_mode_moves_all_traffic(
    clone: Path,
    run_cli: Invoke,
    mode: str,
    to: str,
    before: str,
    after: str,
    spec_changes: list[str],
) -> None:
    merged(clone, run_cli, "set", "prod", f"serving.mode={mode}")
    result = run_cli("promote", "prod", "--to", to, "--root", clone)
    assert before in result.stdout and after in result.stdout
    alias = "B" if to == "green" else "A"
    share = "10%" if to == "green" else "90%"
    note = f"{alias} ({to}) serves {share} of prod's clients now (serving.mode {mode})"
    assert note in result.stderr and note in result.stdout
    for change in spec_changes:
        assert f"`prod`: {change}" in result.stdout
    branch = f"promote/prod-{alias}"
    values = git(clone, "show", f"{branch}:apps/fastapi/values/prod.yaml")
    assert "ALIAS_SELECTION_MODE: blue_green" in values and f"DEFAULT_ALIAS: {alias}" in values
    git(clone, "merge", "--quiet", "--ff-only", branch)
    again = run_cli("promote", "prod", "--to", to, "--root", clone, expect=1)
    assert f"prod already serves all traffic from {alias} ({to})" in again.stderr


def test_promotion_to_an_alias_serving_every_client_in_canary_is_refused(
    clone: Path, run_cli: Invoke
) -> None:
    merged(clone, run_cli, "set", "prod", "serving.mode=canary", "serving.canaryPercent=100")
    before = state(clone)
    result = run_cli("promote", "prod", "--to", "B", "--root", clone, expect=1)
    assert result.stderr.strip() == (
        "error: prod already serves all traffic from B (green) (serving.mode canary, "
        "serving.defaultAlias B); nothing to promote"
    )
    assert state(clone) == before


def test_pr_body_lists_the_rendered_objects_that_change(clone: Path, run_cli: Invoke) -> None:
    """The chart rendered by Helm before and after: replicas and the allow-list annotation of
    prod's objects, the MetalLB pool, and nothing of dev's."""
    result = run_cli(
        "set",
        "prod",
        "replicas=3",
        "ingress.whitelist=[10.10.0.0/16, 10.20.0.0/16]",
        "metallb.addresses=[10.10.100.10-10.10.100.40]",
        "--root",
        clone,
    )
    kubernetes = result.stdout.split("### What Kubernetes will see", 1)[1].split("###", 1)[0]
    objects = [ln for ln in kubernetes.splitlines() if ln.startswith(("- ", "**"))]
    assert objects == [
        "**prod** (cluster `prod`, namespace `fastapi-prod`)",
        "- `Deployment fastapi-prod/fastapi: spec.replicas 2 -> 3`",
        "- `Ingress fastapi-prod/fastapi: metadata.annotations.nginx.ingress.kubernetes.io/"
        "whitelist-source-range 10.10.0.0/16 -> 10.10.0.0/16,10.20.0.0/16`",
        "- `IPAddressPool metallb-system/prod-pool: spec.addresses [10.10.100.10-10.10.100.30]"
        " -> [10.10.100.10-10.10.100.40]`",
    ]
