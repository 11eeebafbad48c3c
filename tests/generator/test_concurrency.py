"""Concurrent commands keep all-or-nothing: one lock for every command that writes or
recovers, the promotion journal created exclusively, and a stale or corrupt journal that
neither blocks nor crashes (issue 26, item 3).

Real processes on real repositories. Before the fix, a `render --check` beside a render
"recovered" the render's live transaction (3 of 40 renders exited 0 and left a mixed tree), and
two promotions could both hold the journal (1 of 20 pairs). The scale here (6 renders beside 6
checks, 20 promotion pairs of forked processes) keeps the test under a minute on two busy cores;
its assertions hold for every interleaving, so it cannot pass or fail by luck.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gitopsgen.promotion.worktree import JOURNAL
from gitopsgen.sync.journal import TXN_DIR
from gitopsgen.sync.lock import (
    HOLDER_ENV,
    LOCK_NAME,
    WAIT_ENV,
    lock_target,
    process_start,
    repository_lock,
)
from tests.support import SPEC, Invoke, frozen_repository, git, snapshot

RENDERS = 6
PAIRS = 20
OTHER_SPEC = "environments/other.yaml"


def _start(root: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """A gitopsgen process of its own: not one this test waits for while holding the lock
    (the holder's record, inherited, would make the lock its own too)."""
    inherited = {k: v for k, v in os.environ.items() if k != HOLDER_ENV}
    return subprocess.Popen(
        [sys.executable, "-m", "gitopsgen", *args, "--root", str(root)],
        env={**inherited, "PYTHONDONTWRITEBYTECODE": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(root: Path, *args: str) -> int:
    process = _start(root, *args)
    process.communicate(timeout=120)
    return process.returncode


def _rendered(root: Path) -> dict[str, bytes]:
    return {k: v for k, v in snapshot(root).items() if not k.startswith(("environments/", "."))}


def test_renders_beside_checks_never_leave_or_see_a_mixed_tree(tmp_path: Path) -> None:
    """Renders of two specs alternate beside checks of one: every render exits 0, the tree is
    always one spec's whole render, and every check sees one whole render (all stale or none)."""
    root = frozen_repository(tmp_path / "repo")
    spec = (root / SPEC).read_text()
    other = spec.replace("canaryPercent: 20}", "canaryPercent: 30}") + (
        "  qa:\n"
        "    cluster: {name: qa, server: https://qa.example.internal:6443}\n"
        "    namespace: fastapi-qa\n"
        "    mlflow: {trackingUri: http://mlflow-qa:5000}\n"
        "    serving: {defaultAlias: A}\n"
        "    ingress: {host: qa.example.internal, tlsSecretName: qa-tls, whitelist: [10.0.0.0/8]}\n"
        "    metallb: {pool: qa-pool, addresses: [10.30.0.0/28]}\n"
    )
    (root / OTHER_SPEC).write_text(other)
    trees = {}
    for name in (SPEC, OTHER_SPEC):
        copy = shutil.copytree(root, tmp_path / Path(name).stem)
        assert _run(copy, "render", "--spec", str(copy / name)) == 0
        trees[name] = _rendered(copy)
    every = trees[SPEC].keys() | trees[OTHER_SPEC].keys()
    differ = {p for p in every if trees[SPEC].get(p) != trees[OTHER_SPEC].get(p)}
    assert len(differ) >= 4

    renders = [
        _start(root, "render", "--spec", str(root / (SPEC if i % 2 else OTHER_SPEC)))
        for i in range(RENDERS)
    ]
    checks = [_start(root, "render", "--check") for _ in range(RENDERS)]
    for process in renders:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    for process in checks:
        out, err = process.communicate(timeout=300)
        assert process.returncode in (0, 1), err
        stale = re.search(r"(\d+) rendered file\(s\) are stale", err)
        assert stale is None or int(stale.group(1)) == len(differ), out + err
    assert _rendered(root) in (trees[SPEC], trees[OTHER_SPEC])
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp") or TXN_DIR in p.parts]


PAIR_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from gitopsgen.git import Repo
    from gitopsgen.promotion.worktree import scratch_worktree

    root, log, branch = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    def note(word):
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"{word} {branch}\\n".encode())
        os.close(fd)
    with scratch_worktree(Repo(root), branch, f"pair {branch}") as folder:
        note("enter")
        time.sleep(0.02)
        note("exit")
    """
)


@pytest.mark.usefixtures("isolated_git")
def test_two_promotions_never_both_hold_the_journal(clone: Path, tmp_path: Path) -> None:
    """20 pairs of processes start a promotion's worktree at the same moment: their holds of
    the journal never overlap, every one of them succeeds in turn, and nothing is left."""
    script = tmp_path / "pair.py"
    script.write_text(PAIR_SCRIPT)
    log = tmp_path / "holds.log"
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    for pair in range(PAIRS):
        started = [
            subprocess.Popen(
                [sys.executable, str(script), str(clone), str(log), f"p{pair}-{side}"],
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            for side in "ab"
        ]
        for process in started:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
    lines = log.read_text().splitlines()
    assert len(lines) == 4 * PAIRS
    for enter, leave in zip(lines[::2], lines[1::2], strict=True):
        assert enter.startswith("enter ") and leave == "exit " + enter.split()[1], lines
    assert not (clone / ".git" / JOURNAL).exists()
    assert len(git(clone, "worktree", "list", "--porcelain").split("\n\n")) == 1


def test_two_real_promotions_at_once_both_land(clone: Path) -> None:
    both = [
        _start(clone, "promote", "prod", "--to", "A"),
        _start(clone, "set", "dev", "replicas=3"),
    ]
    for process in both:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    branches = git(clone, "branch", "--list").split()
    assert "promote/prod-A" in branches and len(branches) == 4  # main, *, and the two


def test_a_writer_waits_for_the_lock_then_names_its_holder(tmp_repo: Path) -> None:
    with repository_lock(tmp_repo, exclusive=True, what="a test holding it"):
        process = _start(tmp_repo, "render", **{WAIT_ENV: "0.5"})
        _, err = process.communicate(timeout=120)
    assert process.returncode == 2, err
    assert "another gitopsgen holds the repository lock" in err and "waited 0.5s" in err
    assert _run(tmp_repo, "render") == 0  # free again


def test_the_lock_names_the_process_that_took_it_for_writing(clone: Path) -> None:
    with repository_lock(clone, exclusive=True, what="gitopsgen render"):
        reader = _start(clone, "validate", **{WAIT_ENV: "0.3"})
        _, err = reader.communicate(timeout=120)
    assert reader.returncode == 2, err
    assert f"{clone / '.git' / LOCK_NAME}" in err
    assert f"last taken for writing by pid {os.getpid()}: 'gitopsgen render'" in err


def _journal(clone: Path, record: object) -> Path:
    path = clone / ".git" / JOURNAL
    path.write_text(record if isinstance(record, str) else json.dumps(record))
    return path


def _leftover(clone: Path, branch: str, pid: int, start: str | None) -> dict[str, object]:
    """A journal as a killed promotion leaves it, with its branch created."""
    git(clone, "branch", branch)
    return {
        "pid": pid,
        "start": start,
        "what": "'prod: promote'",
        "branch": branch,
        "base": git(clone, "rev-parse", "HEAD"),
        "worktree": str(clone.parent / "gone"),
    }


def test_a_journal_whose_pid_was_reused_is_recovered(clone: Path, run_cli: Invoke) -> None:
    """pid 1 is alive, but did not start when the journal says its writer did."""
    start = process_start(1)
    assert start is not None, "needs /proc"
    _journal(clone, _leftover(clone, "promote/prod-A", 1, str(int(start) + 1)))
    result = run_cli("promote", "prod", "--to", "A", "--root", clone)
    assert "created branch promote/prod-A" in result.stderr
    assert not (clone / ".git" / JOURNAL).exists()


def test_a_journal_of_a_live_process_blocks_writers_only_and_says_how_to_clear_it(
    clone: Path, run_cli: Invoke
) -> None:
    """A journal naming a process that runs (this test's own parent) without holding the lock:
    writers refuse, naming the journal; readers are not blocked."""
    parent = os.getppid()
    journal = _journal(clone, _leftover(clone, "promote/x", parent, process_start(parent)))
    refused = run_cli("promote", "prod", "--to", "A", "--root", clone, expect=1)
    assert f"pid {parent}" in refused.stderr and f"delete {journal}" in refused.stderr
    assert "Traceback" not in refused.stderr
    run_cli("validate", "--root", clone)
    run_cli("render", "--check", "--root", clone)


@pytest.mark.parametrize("text", ["{not json", "[]", '{"pid": "7"}', ""])
def test_a_corrupt_journal_is_set_aside_and_named(clone: Path, run_cli: Invoke, text: str) -> None:
    _journal(clone, text)
    result = run_cli("render", "--root", clone)
    aside = next((clone / ".git").glob(f"{JOURNAL}.corrupt-*"))
    assert f"set aside a promotion journal that does not parse: {aside}" in result.stderr
    assert "git worktree list" in result.stderr
    assert not (clone / ".git" / JOURNAL).exists()
    run_cli("promote", "prod", "--to", "A", "--root", clone)


def test_a_hook_running_gitopsgen_inside_a_promotion_is_not_locked_out(clone: Path) -> None:
    """The repository's pre-commit hook runs `gitopsgen render --check`: inside a promotion's
    commit (the promotion holds the lock) it must run at once, not wait for its own parent."""
    hook = clone / ".git/hooks/pre-commit"
    checkout = Path.cwd()  # this checkout's code, for the hook's gitopsgen
    hook.write_text(
        f"#!/bin/sh\nPYTHONPATH={checkout} exec {sys.executable} -m gitopsgen render --check\n"
    )
    hook.chmod(0o755)
    process = _start(clone, "promote", "prod", "--to", "A", **{WAIT_ENV: "5"})
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert "created branch promote/prod-A" in err


def test_an_inherited_holder_record_of_no_ancestor_counts_for_nothing(tmp_repo: Path) -> None:
    """A record left in the environment by an unrelated process gives no one the lock; the
    holder's own child, waited for, finds the lock its own."""
    record = json.dumps([str(lock_target(tmp_repo)), os.getpid() + 100_000, "1"])
    with repository_lock(tmp_repo, exclusive=True, what="a test holding it"):
        process = _start(tmp_repo, "render", **{WAIT_ENV: "0.5", HOLDER_ENV: record})
        _, err = process.communicate(timeout=120)
    assert process.returncode == 2 and "another gitopsgen holds the repository lock" in err
    with repository_lock(tmp_repo, exclusive=True, what="a test holding it"):
        child = subprocess.run(  # os.environ holds this process's record now
            [sys.executable, "-m", "gitopsgen", "render", "--check", "--root", str(tmp_repo)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            env={**os.environ, WAIT_ENV: "0.5"},
        )
    assert child.returncode == 0, child.stderr
