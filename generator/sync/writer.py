"""Sync a rendered tree to disk: all of it or none of it (the journal in gitopsgen.sync.journal)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from gitopsgen.errors import WriteError
from gitopsgen.render.jinja import HEADER_MARK
from gitopsgen.safepaths import read_regular, require_safe
from gitopsgen.sync.journal import Entry, write_all


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


def generated_files(root: Path, folders: Iterable[str]) -> set[str]:
    """Regular files below the output folders that carry gitopsgen's header: ours to update or
    delete. Symlinks are neither followed nor read (`find_unsafe` reports them)."""
    found: set[str] = set()
    for folder in folders:
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


def plan_changes(
    root: Path, rendered: dict[str, str], folders: tuple[str, ...]
) -> list[FileChange]:
    """What syncing `rendered` to `root` would do, file by file, sorted by path; `folders` are
    the spec's rendered folders (`catalog(spec).folders`). Refuses (UnsafeTreeError) when a
    rendered folder holds a symlink or a special file. Reads the tree as it is: a writer
    recovers an interrupted render first (journal.recover), a reader never."""
    require_safe(root, folders)
    changes = []
    for rel, text in rendered.items():
        old = _read(root / rel)
        if old is None:
            changes.append(FileChange(rel, Action.CREATE, None, text))
        else:
            action = Action.IDENTICAL if old == text else Action.UPDATE
            changes.append(FileChange(rel, action, old, text))
    for rel in generated_files(root, folders) - set(rendered):
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


def apply_changes(root: Path, changes: list[FileChange], folders: tuple[str, ...]) -> None:
    """Write every pending change (all inside the rendered `folders`), or none: on any error, or
    after a kill -9 and the next command's recovery, the tree is either as it was or as rendered
    (see gitopsgen.sync.journal)."""
    write_all(root, [Entry(c.path, c.new) for c in pending(changes)], folders)
