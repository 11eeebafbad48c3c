"""Write a set of file changes all or nothing, even under kill -9 or a full disk.

1. Stage: every new text goes to `<txn>/new/<i>` (fsynced, with the mode of the file it
   replaces, or the umask's mode for a new file); every file to replace or delete is
   hard-linked to `<txn>/old/<i>`. The tree is untouched.
2. Commit: the journal (what goes where, and the identity of the transaction's `owner` file)
   is written and fsynced, then renamed into place.
3. Apply: staged files are renamed over their targets, deleted files unlinked.
4. Clean up: the transaction folder is removed.

`<txn>` is `gitopsgen-render/` in the worktree's git folder (`git rev-parse --git-path`), which
Git never tracks, so no commit can carry a journal; outside Git (or where that folder is on
another file system, and renames across would fail) it is `.gitopsgen-render/` in the root.
`recover` runs, under the repository's lock, before every command that writes: without a
journal (interrupted while staging) it throws the staging away, leaving the old tree; with one,
it applies it again (each step is idempotent), leaving the new tree; if that fails it puts the
old files back. A journal is applied only when its `owner` file is the very inode, with the
very modification time, that this checkout's writer recorded: one that came out of Git, an
archive or a copy is never applied (ForeignJournal). A journal's paths are trusted only inside
the rendered folders it records (plain relative folders; the spec decides one of them, the Helm
values beside its chart). Readers (`render --check`, `validate`) never recover: they read the tree
as it is and say that a render is pending.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gitopsgen.errors import ForeignJournal, WriteError
from gitopsgen.render.registry import OUTPUT_DIRS
from gitopsgen.safepaths import require_safe
from gitopsgen.sync.lock import git_dirs, repository_lock

TXN_DIR = ".gitopsgen-render"  # in the root: only outside Git
GIT_TXN = "gitopsgen-render"  # in the worktree's git folder
JOURNAL = "journal.json"
OWNER = "owner"
KILL_HOOK = "GITOPSGEN_TEST_KILL_AT_STEP"  # tests: SIGKILL this process at the Nth step
# A folder a journal may name: relative, no `..`, nothing hidden (so never .git), as app.chart
_PLAIN_FOLDER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")


@dataclass(frozen=True)
class Entry:
    path: str
    text: str | None  # None: delete


class _Steps:
    """Counts the writer's durable steps; the test hook kills the process at one of them."""

    def __init__(self) -> None:
        self.count = 0
        hook = os.environ.get(KILL_HOOK, "")
        self.kill_at = int(hook) if hook.isdigit() else -1

    def done(self) -> None:
        self.count += 1
        if self.count == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


def write_all(root: Path, entries: list[Entry], folders: tuple[str, ...]) -> None:
    """Apply every entry (each inside one of the rendered `folders`) or none; a WriteError says
    nothing was changed."""
    with repository_lock(root, exclusive=True, what="render"):
        recover(root)
        if entries:
            _write_locked(root, entries, folders)


def _write_locked(root: Path, entries: list[Entry], folders: tuple[str, ...]) -> None:
    require_safe(root, folders)
    txn = txn_folder(root)
    steps = _Steps()
    try:
        txn.mkdir()
        _write_durably(txn / OWNER, b"", None)
        _stage(root, txn, entries, steps)
        _commit(txn, [e.path for e in entries], folders, steps)
    except OSError as exc:
        shutil.rmtree(txn, ignore_errors=True)
        raise _error(exc, root) from exc
    paths = [e.path for e in entries]
    try:
        _apply(root, txn, paths, steps)
    except OSError as exc:
        _undo(root, txn, paths)
        raise _error(exc, root) from exc
    _finish(root, txn, paths)


def recover(root: Path) -> bool:
    """Finish or undo an interrupted write, and remove its strays. True when there was one."""
    with repository_lock(root, exclusive=True, what="recovery of an interrupted render"):
        return _recover_locked(root)


def _recover_locked(root: Path) -> bool:
    txn = txn_folder(root)
    try:
        info = txn.lstat()
    except FileNotFoundError:
        return _remove_old_strays(root)
    if not stat.S_ISDIR(info.st_mode):
        raise WriteError(f"{txn} is not a folder gitopsgen made; remove it")
    _remove_old_strays(root)
    if not (txn / JOURNAL).exists():  # interrupted before the commit point: the old tree
        shutil.rmtree(txn)
        return True
    try:
        paths, folders = _read_journal(txn)
    except (OSError, ValueError) as exc:
        raise ForeignJournal(
            f"{txn} holds a render journal that was not written in this checkout ({exc}); "
            "gitopsgen never applies such a journal. Delete that folder (`git rm -r` it if it "
            "is tracked), then run `gitopsgen render`, which rewrites every rendered file"
        ) from exc
    require_safe(root, folders)
    try:
        _apply(root, txn, paths, _Steps())
    except OSError as exc:
        _undo(root, txn, paths)
        raise _error(exc, root) from exc
    _finish(root, txn, paths)
    return True


def _remove_old_strays(root: Path) -> bool:
    """What writers before the journal left after a kill: backup folders and `.<name>.*.tmp`."""
    strays = [p for p in root.glob(".gitopsgen-backup-*") if p.is_dir() and not p.is_symlink()]
    for folder in OUTPUT_DIRS:
        for current, _dirs, names in os.walk(root / folder, followlinks=False):
            strays += [Path(current) / n for n in names if n.startswith(".") and n.endswith(".tmp")]
    for path in strays:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    return bool(strays)


def txn_folder(root: Path) -> Path:
    """Where `root`'s render transaction lives: in its git folder when that is on the same
    file system as the tree (staged files are renamed into place), else in the root."""
    dirs = git_dirs(root)
    if dirs is not None and _same_device(dirs.private, root):
        return dirs.private / GIT_TXN
    return root / TXN_DIR


def _same_device(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_dev == b.stat().st_dev
    except OSError:
        return False


def pending_journal(root: Path) -> Path | None:
    """The folder of an interrupted render, for readers to mention (they never recover)."""
    txn = txn_folder(root)
    return txn if txn.is_dir() and not txn.is_symlink() else None


def _identity(path: Path) -> list[int]:
    """What a copy or a checkout cannot reproduce: the inode and its modification time (ns)."""
    info = path.lstat()
    return [info.st_dev, info.st_ino, info.st_mtime_ns]


def _error(exc: OSError, root: Path) -> WriteError:
    return WriteError(f"cannot write {exc.filename or root}: {exc.strerror}; nothing was changed")


def _stage(root: Path, txn: Path, entries: list[Entry], steps: _Steps) -> None:
    (txn / "new").mkdir()
    (txn / "old").mkdir()
    for index, entry in enumerate(entries):
        target = root / entry.path
        old_mode: int | None = None
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            old_mode = stat.S_IMODE(target.stat().st_mode)
            _keep(target, txn / "old" / str(index))
        if entry.text is not None:
            _write_durably(txn / "new" / str(index), entry.text.encode("utf-8"), old_mode)
        steps.done()


def _keep(target: Path, backup: Path) -> None:
    """The old file, kept by a hard link (its inode survives the rename over it), else a copy."""
    try:
        os.link(target, backup)
    except OSError:
        shutil.copy2(target, backup)


def _write_durably(path: Path, data: bytes, mode: int | None) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)  # umask applies
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _commit(txn: Path, paths: list[str], folders: tuple[str, ...], steps: _Steps) -> None:
    _fsync_dir(txn / "new")
    record = {"paths": paths, "folders": list(folders), "owner": _identity(txn / OWNER)}
    _write_durably(txn / "journal.tmp", json.dumps(record).encode(), None)
    os.replace(txn / "journal.tmp", txn / JOURNAL)  # noqa: PTH105  the commit point
    _fsync_dir(txn)
    steps.done()


def _read_journal(txn: Path) -> tuple[list[str], tuple[str, ...]]:
    """The journal's paths and folders, once it is proved this checkout's writer made it
    (ValueError otherwise)."""
    data = json.loads((txn / JOURNAL).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not a journal")
    try:
        ours = data.get("owner") == _identity(txn / OWNER)
    except OSError:
        ours = False
    if not ours:
        raise ValueError("its owner file is not the one recorded")
    paths = data.get("paths")
    folders = data.get("folders", list(OUTPUT_DIRS))
    if not isinstance(folders, list) or not all(
        isinstance(f, str) and _PLAIN_FOLDER.match(f) for f in folders
    ):
        raise ValueError("it names a folder that is not a plain one")
    if not isinstance(paths, list) or not all(
        isinstance(p, str) and any(_inside(p, f) for f in folders) for p in paths
    ):
        raise ValueError("it names a path outside the rendered folders")
    return paths, tuple(folders)


def _inside(path: str, folder: str) -> bool:
    parts, base = PurePosixPath(path).parts, PurePosixPath(folder).parts
    return len(parts) > len(base) and parts[: len(base)] == base and ".." not in parts


def _make_parents(root: Path, target: Path) -> None:
    missing = []
    probe = target.parent
    while probe != root and not probe.is_dir():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        folder.mkdir()


def _apply(root: Path, txn: Path, paths: list[str], steps: _Steps) -> None:
    for index, rel in enumerate(paths):
        target = root / rel
        staged = txn / "new" / str(index)
        if staged.exists():
            _make_parents(root, target)
            staged.replace(target)
        elif not (txn / "old" / str(index)).exists() or not target.exists():
            pass  # created earlier in this run, or already deleted
        elif _is_delete(txn, index, target):
            target.unlink()
        steps.done()


def _is_delete(txn: Path, index: int, target: Path) -> bool:
    """A delete has no staged file and its target is still the old file (same inode)."""
    return (txn / "old" / str(index)).samefile(target)


def _undo(root: Path, txn: Path, paths: list[str]) -> None:
    """Put every old file back and remove created ones; the transaction folder goes."""
    for index, rel in enumerate(paths):
        target = root / rel
        backup = txn / "old" / str(index)
        with contextlib.suppress(OSError):
            if backup.exists():
                _make_parents(root, target)
                backup.replace(target)
            elif not (txn / "new" / str(index)).exists():
                target.unlink(missing_ok=True)  # a file this write created
    _remove_empty_dirs(root, [root / p for p in paths])
    shutil.rmtree(txn, ignore_errors=True)


def _finish(root: Path, txn: Path, paths: list[str]) -> None:
    for folder in {(root / p).parent for p in paths if (root / p).parent.is_dir()}:
        _fsync_dir(folder)
    _remove_empty_dirs(root, [root / p for p in paths if not (root / p).exists()])
    shutil.rmtree(txn)


def _remove_empty_dirs(root: Path, gone: Iterable[Path]) -> None:
    """A deleted environment leaves no empty metallb/<env>/ behind."""
    for path in gone:
        folder = path.parent
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
