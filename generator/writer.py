"""Sync a rendered tree to disk: all of it or none of it.

Files are staged beside their targets first; only when every file is staged are they moved into
place, and if a move fails, everything already moved is put back.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from generator.errors import WriteError
from generator.render import OUTPUT_DIRS
from generator.render.jinja import HEADER_MARK
from generator.tree import read_regular, require_safe


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    IDENTICAL = "identical"
    DELETE = "delete"


@dataclass(frozen=True)
class FileChange:
    path: str
    action: Action
    old: str | None
    new: str | None


def generated_files(root: Path) -> set[str]:
    """Regular files below the output folders that carry gitopsgen's header: ours to update or
    delete. Symlinks are neither followed nor read (`find_unsafe` reports them)."""
    found: set[str] = set()
    for folder in OUTPUT_DIRS:
        for current, _dirs, names in os.walk(root / folder, followlinks=False):
            for name in names:
                path = Path(current) / name
                if name.endswith(".yaml") and _has_header(path):
                    found.add(path.relative_to(root).as_posix())
    return found


def _has_header(path: Path) -> bool:
    try:
        text = read_regular(path)
    except (OSError, UnicodeDecodeError):
        return False
    return text is not None and text.startswith(HEADER_MARK)


def _read(path: Path) -> str | None:
    try:
        return read_regular(path)  # None: not there yet; a folder in the way fails when written
    except (OSError, UnicodeDecodeError) as exc:
        raise WriteError(f"cannot read {path}: {exc}") from exc


def plan_changes(root: Path, rendered: dict[str, str]) -> list[FileChange]:
    """What syncing `rendered` to `root` would do, file by file, sorted by path. Refuses
    (UnsafeTreeError) when a rendered folder holds a symlink or a special file."""
    require_safe(root, OUTPUT_DIRS)
    changes = []
    for rel, text in rendered.items():
        old = _read(root / rel)
        if old is None:
            changes.append(FileChange(rel, Action.CREATE, None, text))
        else:
            action = Action.IDENTICAL if old == text else Action.UPDATE
            changes.append(FileChange(rel, action, old, text))
    for rel in generated_files(root) - set(rendered):
        changes.append(FileChange(rel, Action.DELETE, _read(root / rel), None))
    return sorted(changes, key=lambda c: c.path)


def pending(changes: Iterable[FileChange]) -> list[FileChange]:
    return [c for c in changes if c.action is not Action.IDENTICAL]


def unified_diff(changes: Iterable[FileChange]) -> str:
    chunks: list[str] = []
    for change in pending(changes):
        chunks.extend(
            difflib.unified_diff(
                (change.old or "").splitlines(keepends=True),
                (change.new or "").splitlines(keepends=True),
                fromfile=f"a/{change.path}" if change.old is not None else "/dev/null",
                tofile=f"b/{change.path}" if change.new is not None else "/dev/null",
            )
        )
    return "".join(chunks)


def apply_changes(root: Path, changes: list[FileChange]) -> None:
    """Write every pending change, or none: on any error the tree is left as it was."""
    todo = pending(changes)
    if not todo:
        return
    require_safe(root, OUTPUT_DIRS)
    created_dirs: list[Path] = []
    staging = _stage(root, todo, created_dirs)
    try:
        _swap_in(root, todo, staging, created_dirs)
    finally:
        for staged in staging.values():
            staged.unlink(missing_ok=True)
    _remove_empty_dirs(root, [root / c.path for c in todo if c.action is Action.DELETE])


def _swap_in(
    root: Path, todo: list[FileChange], staging: dict[str, Path], created_dirs: list[Path]
) -> None:
    backups: dict[Path, Path] = {}
    moved: list[Path] = []
    try:
        backup_dir = Path(tempfile.mkdtemp(prefix=".gitopsgen-backup-", dir=root))
    except OSError as exc:
        _remove_dirs(created_dirs)
        raise _write_error(exc, root) from exc
    try:
        for change in todo:
            target = root / change.path
            if target.exists():
                backups[target] = backup_dir / str(len(backups))
                shutil.copy2(target, backups[target])
            if change.action is Action.DELETE:
                target.unlink()
            else:
                staging[change.path].replace(target)
            moved.append(target)
    except OSError as exc:
        _roll_back(moved, backups, created_dirs)
        raise _write_error(exc, root) from exc
    finally:
        shutil.rmtree(backup_dir, ignore_errors=True)


def _write_error(exc: OSError, root: Path) -> WriteError:
    return WriteError(f"cannot write {exc.filename or root}: {exc.strerror}; nothing was changed")


def _stage(root: Path, todo: list[FileChange], created_dirs: list[Path]) -> dict[str, Path]:
    staging: dict[str, Path] = {}
    try:
        for change in todo:
            if change.new is None:
                continue
            target = root / change.path
            _make_dirs(target.parent, created_dirs)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(change.new)
            staging[change.path] = Path(tmp)
    except OSError as exc:
        for staged in staging.values():
            staged.unlink(missing_ok=True)
        _remove_dirs(created_dirs)
        raise _write_error(exc, root) from exc
    return staging


def _make_dirs(folder: Path, created: list[Path]) -> None:
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for path in reversed(missing):
        path.mkdir()
        created.append(path)


def _roll_back(moved: list[Path], backups: dict[Path, Path], created_dirs: list[Path]) -> None:
    for target in reversed(moved):
        if target in backups:
            shutil.copy2(backups[target], target)
        else:
            target.unlink(missing_ok=True)
    _remove_dirs(created_dirs)


def _remove_dirs(created: list[Path]) -> None:
    for path in reversed(created):
        with contextlib.suppress(OSError):
            path.rmdir()


def _remove_empty_dirs(root: Path, deleted: list[Path]) -> None:
    """A deleted environment leaves no empty metallb/<env>/ behind."""
    for path in deleted:
        folder = path.parent
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
