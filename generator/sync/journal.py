"""Write a set of file changes all or nothing, even under kill -9 or a full disk.

1. Stage: every new text goes to `.gitopsgen-render/new/<i>` (fsynced, with the mode of the file
   it replaces, or the umask's mode for a new file); every file to replace or delete is
   hard-linked to `.gitopsgen-render/old/<i>`. The tree is untouched.
2. Commit: the journal (what goes where) is written and fsynced, then renamed into place.
3. Apply: staged files are renamed over their targets, deleted files unlinked.
4. Clean up: the transaction folder is removed.

`recover` runs before every command that reads the tree: without a journal (interrupted while
staging) it throws the staging away, leaving the old tree; with one, it applies it again (each
step is idempotent), leaving the new tree; if that fails it puts the old files back. A journal's
paths are trusted only inside the rendered folders.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gitopsgen.errors import WriteError
from gitopsgen.render.registry import OUTPUT_DIRS, output_of
from gitopsgen.safepaths import require_safe

TXN_DIR = ".gitopsgen-render"
JOURNAL = "journal.json"
KILL_HOOK = "GITOPSGEN_TEST_KILL_AT_STEP"  # tests: SIGKILL this process at the Nth step


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


def write_all(root: Path, entries: list[Entry]) -> None:
    """Apply every entry or none; a WriteError says nothing was changed."""
    recover(root)
    if not entries:
        return
    require_safe(root, OUTPUT_DIRS)
    txn = _txn(root)
    steps = _Steps()
    try:
        txn.mkdir()
        _stage(root, txn, entries, steps)
        _commit(txn, [e.path for e in entries], steps)
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
    txn = _txn(root)
    try:
        info = txn.lstat()
    except FileNotFoundError:
        return _remove_old_strays(root)
    if not stat.S_ISDIR(info.st_mode):
        raise WriteError(f"{TXN_DIR} is not a folder gitopsgen made; remove it")
    _remove_old_strays(root)
    try:
        paths = _read_journal(txn)
    except (OSError, ValueError):
        paths = None  # interrupted before the commit point: the tree is still the old one
    if paths is None:
        shutil.rmtree(txn)
        return True
    require_safe(root, OUTPUT_DIRS)
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


def _txn(root: Path) -> Path:
    return root / TXN_DIR


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


def _commit(txn: Path, paths: list[str], steps: _Steps) -> None:
    _fsync_dir(txn / "new")
    _write_durably(txn / "journal.tmp", json.dumps({"paths": paths}).encode(), None)
    os.replace(txn / "journal.tmp", txn / JOURNAL)  # noqa: PTH105  the commit point
    _fsync_dir(txn)
    steps.done()


def _read_journal(txn: Path) -> list[str]:
    data = json.loads((txn / JOURNAL).read_text(encoding="utf-8"))
    paths = data["paths"]
    if not isinstance(paths, list) or not all(
        isinstance(p, str) and output_of(p) is not None for p in paths
    ):
        raise ValueError(f"{TXN_DIR}/{JOURNAL} names a path outside the rendered folders")
    return paths


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
