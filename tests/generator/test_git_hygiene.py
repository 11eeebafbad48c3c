"""Promote and commit touch nothing of the user's: other staged work stays staged, hooks run,
and a failing hook, a held index.lock, a failing git, SIGINT, SIGTERM or kill -9 leave the
repository exactly as it was. Real repositories, a real hook, the installed console script."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import SPEC, Invoke, git, state

THIS_CODE = [sys.executable, "-m", "gitopsgen"]  # from the test's folder: this checkout's code
JOURNAL = ".git/gitopsgen-promotion.json"


def hook(root: Path, body: str, name: str = "pre-commit") -> None:
    path = root / ".git/hooks" / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def worktrees(root: Path) -> list[str]:
    return git(root, "worktree", "list", "--porcelain").split("\n\n")


def user_work(root: Path) -> None:
    """Work in progress that is none of gitopsgen's business: staged, and untracked."""
    (root / "notes.txt").write_text("staged, not for the promotion\n")
    git(root, "add", "notes.txt")
    (root / "scratch.txt").write_text("untracked\n")


def test_promotion_leaves_other_staged_work_staged(clone: Path, run_cli: Invoke) -> None:
    user_work(clone)
    before = state(clone)
    run_cli("promote", "prod", "--to", "A", "--root", clone)
    after = state(clone)
    assert after[1] != before[1]  # the new branch
    assert (after[0], after[2], after[3], after[4]) == (before[0], before[2], before[3], before[4])
    files = git(clone, "show", "--name-only", "--format=", "promote/prod-A").splitlines()
    assert sorted(files) == sorted([SPEC, "apps/fastapi/values/prod.yaml"])
    assert len(worktrees(clone)) == 1


def test_promotion_refuses_an_uncommitted_spec(clone: Path, run_cli: Invoke) -> None:
    (clone / SPEC).write_text((clone / SPEC).read_text() + "# wip\n")
    before = state(clone)
    result = run_cli("promote", "prod", "--to", "A", "--root", clone, expect=1)
    assert result.stderr == (
        f"error: prod serving.defaultAlias not changed: {SPEC} has uncommitted changes and the "
        "promotion starts from HEAD; commit or stash them first\n"
    )
    assert state(clone) == before


def test_commit_leaves_other_staged_work_staged(clone: Path, run_cli: Invoke) -> None:
    user_work(clone)
    spec = clone / SPEC
    spec.write_text(spec.read_text().replace("canaryPercent: 20}", "canaryPercent: 30}"))
    run_cli("commit", "--root", clone)
    files = git(clone, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert sorted(files) == sorted([SPEC, "apps/fastapi/values/dev.yaml"])
    assert git(clone, "status", "--porcelain").splitlines() == ["A  notes.txt", "?? scratch.txt"]


def test_hooks_run(clone: Path, run_cli: Invoke) -> None:
    hook(clone, 'echo ran >> "$(git rev-parse --git-common-dir)/hook-ran"\n')
    run_cli("promote", "prod", "--to", "A", "--root", clone)
    assert (clone / ".git/hook-ran").read_text() == "ran\n"
    spec = clone / SPEC
    spec.write_text(spec.read_text().replace("canaryPercent: 20}", "canaryPercent: 30}"))
    run_cli("commit", "--root", clone)
    assert (clone / ".git/hook-ran").read_text() == "ran\nran\n"


@pytest.mark.parametrize("command", ["promote", "commit"])
def test_a_failing_hook_refuses_and_changes_nothing(
    clone: Path, run_cli: Invoke, command: str
) -> None:
    hook(clone, "echo 'policy says no' >&2\nexit 1\n")
    user_work(clone)
    if command == "commit":
        spec = clone / SPEC
        spec.write_text(spec.read_text().replace("canaryPercent: 20}", "canaryPercent: 30}"))
    before = state(clone)
    args = ["promote", "prod", "--to", "A"] if command == "promote" else ["commit"]
    result = run_cli(*args, "--root", clone, expect=1)
    assert "policy says no" in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    if command == "promote":
        assert result.stderr.startswith("error: prod serving.defaultAlias not changed:")
    assert state(clone) == before
    assert len(worktrees(clone)) == 1 and not (clone / JOURNAL).exists()


def test_held_index_lock(clone: Path, run_cli: Invoke) -> None:
    """commit needs the index: refused, nothing changed. promote never touches the user's
    index, so another git process holding it does not stop a promotion."""
    spec = clone / SPEC
    spec.write_text(spec.read_text().replace("canaryPercent: 20}", "canaryPercent: 30}"))
    (clone / ".git/index.lock").write_text("")
    before = state(clone)
    result = run_cli("commit", "--root", clone, expect=1)
    assert "index lock" in result.stderr and "nothing was committed" in result.stderr
    assert state(clone) == before
    spec.write_text(spec.read_text().replace("canaryPercent: 30}", "canaryPercent: 20}"))
    before = state(clone)
    run_cli("promote", "prod", "--to", "A", "--root", clone)
    assert state(clone)[2:] == before[2:]  # HEAD, index, files
    assert (clone / ".git/index.lock").exists()


def test_a_failing_git_add_changes_nothing(
    clone: Path, run_cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real git, except that `git add` fails, as it does on a full disk."""
    real = subprocess.run(["which", "git"], capture_output=True, text=True).stdout.strip()
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "git").write_text(
        f'#!/bin/sh\nif [ "$1" = add ]; then echo "fatal: disk full" >&2; exit 128; fi\n'
        f'exec {real} "$@"\n'
    )
    (fake / "git").chmod(0o755)
    user_work(clone)
    before = state(clone)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    result = run_cli("promote", "prod", "--to", "A", "--root", clone, expect=1)
    assert "git add failed: fatal: disk full" in result.stderr
    monkeypatch.undo()
    assert state(clone) == before
    assert len(worktrees(clone)) == 1


def start_promotion_held_in_a_hook(root: Path) -> subprocess.Popen[str]:
    """`gitopsgen promote` in its own process group, waiting inside the pre-commit hook."""
    marker = root / ".git/in-hook"
    hook(root, f"touch {marker}\nsleep 30\n")
    process = subprocess.Popen(
        [*THIS_CODE, "promote", "prod", "--to", "A", "--root", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the hook never ran"
        time.sleep(0.05)
    return process


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_promotion_undoes_it(clone: Path, sig: signal.Signals, code: int) -> None:
    user_work(clone)
    before = state(clone)
    process = start_promotion_held_in_a_hook(clone)
    process.send_signal(sig)
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the hook's sleep
    assert process.returncode == code, stderr
    assert f"interrupted by {sig.name}: nothing was changed" in stderr
    assert "Traceback" not in stderr
    (clone / ".git/in-hook").unlink()
    assert state(clone) == before
    assert len(worktrees(clone)) == 1 and not (clone / JOURNAL).exists()


def test_after_kill_9_the_next_writing_command_restores_the_start(clone: Path) -> None:
    user_work(clone)
    before = state(clone)
    process = start_promotion_held_in_a_hook(clone)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    (clone / ".git/in-hook").unlink()
    assert (clone / JOURNAL).exists()
    assert "promote/prod-A" in git(clone, "branch", "--list")
    check = subprocess.run(
        [*THIS_CODE, "render", "--check", "--root", str(clone)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0 and "recovered" not in check.stderr  # readers never recover
    assert (clone / JOURNAL).exists()
    result = subprocess.run(
        [*THIS_CODE, "render", "--root", str(clone)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "recovered an interrupted" in result.stderr
    assert "removed its branch promote/prod-A" in result.stderr
    assert state(clone) == before
    assert len(worktrees(clone)) == 1 and not (clone / JOURNAL).exists()


def test_a_killed_but_unreaped_gitopsgen_counts_as_gone() -> None:
    """After kill -9 the process lingers as a zombie until its parent reaps it; the journal's
    owner must not be taken for a live gitopsgen meanwhile."""
    from gitopsgen.promotion.worktree import _alive
    from gitopsgen.sync.lock import process_start

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = process_start(child.pid)
        assert _alive(child.pid, start)
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child never became a zombie"
            time.sleep(0.01)
        assert not _alive(child.pid, start)
    finally:
        child.kill()
        child.wait()
