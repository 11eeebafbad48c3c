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
from typing import Any

from gitopsgen.errors import GitError, Interrupted
from gitopsgen.git import Repo
from gitopsgen.sync.lock import git_dirs, process_start, repository_lock

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
    the worktree goes; on any failure or signal both go. The journal lives meanwhile, and the
    repository's lock is held throughout."""
    with (
        repository_lock(repo.root, exclusive=True, what=what),
        _journal(repo, branch, what) as folder,
    ):
        yield folder


@contextlib.contextmanager
def _journal(repo: Repo, branch: str, what: str) -> Iterator[Path]:
    journal = journal_path(repo)
    if journal.exists():
        recover(repo)
    base = repo.head()
    folder = Path(tempfile.mkdtemp(prefix="gitopsgen-"))
    record = {"pid": os.getpid(), "start": process_start(os.getpid()), "what": what}
    try:
        _create_exclusively(
            journal, {**record, "branch": branch, "base": base, "worktree": str(folder)}
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
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


def _create_exclusively(journal: Path, record: dict[str, object]) -> None:
    """Written whole to a temporary file, then linked to its name: link(2) fails when the name
    exists, so two promotions can never both hold the journal, and nobody ever reads half
    of one."""
    fd, tmp = tempfile.mkstemp(dir=journal.parent, prefix=f".{journal.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, journal)
        except FileExistsError:
            raise GitError(
                f"another gitopsgen started a promotion in this repository ({journal} exists); "
                "wait for it to finish"
            ) from None
    finally:
        Path(tmp).unlink(missing_ok=True)


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


def _alive(pid: int, start: object) -> bool:
    """Whether the process that wrote the journal still runs: its pid answers, is not us, is
    no zombie, and (where /proc says) started when the journal says, so a reused pid is not
    taken for it."""
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if _zombie(pid):
        return False
    now = process_start(pid)
    return start is None or now is None or str(start) == now


def _zombie(pid: int) -> bool:
    """A killed gitopsgen its parent has not reaped yet still answers kill(pid, 0): it is dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (macOS): kill(pid, 0) is all we know
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]


_FIELDS = ("pid", "what", "branch", "base", "worktree")


def recover(repo: Repo) -> str | None:
    """Undo a promotion a killed gitopsgen left behind; say what was done (None: nothing).
    The caller holds the repository's lock, so the journal's writer is gone unless it is an
    older gitopsgen that took no lock. A journal that does not parse is set aside, named."""
    try:
        journal = journal_path(repo)
        text = journal.read_text()
    except (GitError, OSError):
        return None
    record = _parse(text)
    if record is None:
        return _set_aside(journal)
    pid = int(record["pid"])
    if _alive(pid, record.get("start")):
        raise GitError(
            f"another gitopsgen ({record['what']}, pid {pid}) is changing this repository; wait "
            f"for it to finish. If pid {pid} is no gitopsgen, delete {journal} and check "
            f"`git worktree list` and branch {record['branch']}"
        )
    with signals_held():
        _undo(repo, str(record["branch"]), Path(record["worktree"]), str(record["base"]))
        journal.unlink(missing_ok=True)
    return (
        f"recovered an interrupted {record['what']} (pid {pid}): removed its "
        f"branch {record['branch']} and its temporary worktree; the repository is as it was "
        "before it started"
    )


def _parse(text: str) -> dict[str, Any] | None:
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict) or not all(isinstance(record.get(k), str) for k in _FIELDS[1:]):
        return None
    pid = record.get("pid")
    return record if isinstance(pid, int) and not isinstance(pid, bool) else None


def _set_aside(journal: Path) -> str:
    aside = journal.with_name(f"{journal.name}.corrupt-{os.getpid()}")
    journal.replace(aside)
    return (
        f"set aside a promotion journal that does not parse: {aside}. The promotion it "
        "recorded may have left a branch and a worktree: check `git worktree list` and "
        f"`git branch`, remove what is left, then delete {aside}"
    )


def recover_at(root: Path) -> str | None:
    """What a writing command calls first: a journal in the repository's git folder means a
    killed promotion; undo it (one `git rev-parse`, nothing more, when there is none)."""
    dirs = git_dirs(root)
    if dirs is None or not (dirs.common / JOURNAL).is_file():
        return None
    repo = Repo(root)
    with repository_lock(root, exclusive=True, what="recovery of an interrupted promotion"):
        return recover(repo)
