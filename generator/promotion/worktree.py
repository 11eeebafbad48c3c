"""A promotion is built away from the user's work: in a temporary git worktree on its new
branch, recorded in a small journal under .git/ so that an interrupted one can be undone.

The user's branch, HEAD, index and files are never touched. SIGINT and SIGTERM undo the
promotion before the process ends; after kill -9 the next gitopsgen command finds the journal
and removes what the promotion left (its branch and its worktree).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from gitopsgen.errors import GitError, Interrupted
from gitopsgen.git import Repo

JOURNAL = "gitopsgen-promotion.json"


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """SIGINT and SIGTERM become Interrupted inside the block, so cleanups run."""
    previous = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """A cleanup is not itself interrupted."""
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def journal_path(repo: Repo) -> Path:
    return Path(repo.out("rev-parse", "--path-format=absolute", "--git-common-dir")) / JOURNAL


@contextlib.contextmanager
def scratch_worktree(repo: Repo, branch: str, what: str) -> Iterator[Path]:
    """A temporary worktree with `branch` created at HEAD. On success the branch stays and
    the worktree goes; on any failure or signal both go. The journal lives meanwhile."""
    journal = journal_path(repo)
    if journal.exists():
        recover(repo)
    base = repo.head()
    folder = Path(tempfile.mkdtemp(prefix="gitopsgen-"))
    record = {"pid": os.getpid(), "what": what, "branch": branch, "base": base}
    journal.write_text(json.dumps({**record, "worktree": str(folder)}) + "\n")
    try:
        repo.run("worktree", "add", "--quiet", "-b", branch, str(folder), base)
        yield folder
    except BaseException:
        with signals_held():
            _undo(repo, branch, folder, base)
            journal.unlink(missing_ok=True)
        raise
    with signals_held():
        _remove_worktree(repo, folder)
        journal.unlink(missing_ok=True)


def _remove_worktree(repo: Repo, folder: Path) -> None:
    repo.run("worktree", "remove", "--force", "--force", str(folder), check=False)
    shutil.rmtree(folder, ignore_errors=True)
    repo.run("worktree", "prune", check=False)


def _undo(repo: Repo, branch: str, folder: Path, base: str) -> None:
    """Remove the worktree, then the branch if it is ours: at `base` or one commit on it."""
    _remove_worktree(repo, folder)
    tip = repo.run("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
    if tip.returncode:
        return
    parent = repo.run("rev-parse", "--verify", "--quiet", f"{branch}^", check=False)
    if base in (tip.stdout.strip(), parent.stdout.strip()):
        repo.run("branch", "--quiet", "-D", branch, check=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid() and not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed gitopsgen its parent has not reaped yet still answers kill(pid, 0): it is dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (macOS): kill(pid, 0) is all we know
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]


def recover(repo: Repo) -> str | None:
    """Undo a promotion a killed gitopsgen left behind; say what was done (None: nothing)."""
    try:
        journal = journal_path(repo)
        record = json.loads(journal.read_text())
    except (GitError, OSError, ValueError):
        return None
    if _alive(int(record.get("pid", 0))):
        raise GitError(
            f"another gitopsgen ({record.get('what')}, pid {record.get('pid')}) is changing "
            "this repository; wait for it to finish"
        )
    with signals_held():
        _undo(repo, str(record["branch"]), Path(record["worktree"]), str(record["base"]))
        journal.unlink(missing_ok=True)
    return (
        f"recovered an interrupted {record.get('what')} (pid {record.get('pid')}): removed its "
        f"branch {record['branch']} and its temporary worktree; the repository is as it was "
        "before it started"
    )


def recover_at(root: Path) -> str | None:
    """What the CLI calls first: a journal beside the repository's .git folder means a killed
    promotion; undo it (no git call at all when there is none)."""
    for folder in (root, *root.parents):
        if (folder / ".git").exists():
            if not (folder / ".git" / JOURNAL).is_file():
                return None
            return recover(Repo(folder))
    return None
