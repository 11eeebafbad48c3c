"""`gitopsgen upgrade [--check]`: the scaffold replayed with this gitopsgen, keeping the team's
edits. Each scaffolded file is compared three ways: as gitopsgen wrote it (its hash in the lock),
as it is now, and as this gitopsgen writes it. Untouched and behind: replaced. Edited: kept, with
the difference shown and this gitopsgen's version written beside it as `<file>.new`, as copier's
update keeps local changes. Seeds (the spec, the README) are the team's and never compared."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from gitopsgen.errors import ScaffoldConflict
from gitopsgen.scaffold.lock import Lock, digest, read_lock
from gitopsgen.scaffold.plan import LOCK, scaffold_files
from gitopsgen.scaffold.tree import symlinked, write_files

NEW_SUFFIX = ".new"


class State(StrEnum):
    CURRENT = "up to date"
    BEHIND = "behind"  # untouched since written, and this gitopsgen writes it differently
    ADDED = "new"  # this gitopsgen scaffolds it, the lock does not know it
    EDITED = "edited"  # changed here since gitopsgen wrote it
    DELETED = "deleted"  # removed here since gitopsgen wrote it
    RETIRED = "retired"  # no longer scaffolded by this gitopsgen


@dataclass(frozen=True)
class FileStatus:
    path: str
    state: State
    on_disk: str | None
    tool: str | None  # this gitopsgen's text (None: no longer scaffolded)

    @property
    def pending(self) -> bool:
        return self.state is not State.CURRENT

    def diff(self) -> str:
        """From the file here to this gitopsgen's version."""
        return "".join(
            difflib.unified_diff(
                (self.on_disk or "").splitlines(keepends=True),
                (self.tool or "").splitlines(keepends=True),
                fromfile=f"a/{self.path}",
                tofile=f"b/{self.path} (gitopsgen)",
            )
        )


@dataclass(frozen=True)
class UpgradePlan:
    lock: Lock
    version: str
    files: list[FileStatus]

    @property
    def pending(self) -> list[FileStatus]:
        return [f for f in self.files if f.pending]


def plan_upgrade(root: Path, version: str) -> UpgradePlan:
    """Every scaffolded file's state; reads only."""
    lock = read_lock(root)
    tool = scaffold_files(lock.options, version)
    paths = sorted((set(tool) | set(lock.files)) - set(lock.seeds))
    return UpgradePlan(lock, version, [_status(root, p, lock, tool.get(p)) for p in paths])


def _status(root: Path, path: str, lock: Lock, tool: str | None) -> FileStatus:
    on_disk = _read(root / path)
    locked = lock.files.get(path)
    untouched = on_disk is not None and locked is not None and digest(on_disk) == locked
    if on_disk is not None and on_disk == tool:
        state = State.CURRENT
    elif tool is None:
        state = State.RETIRED
    elif on_disk is None:
        state = State.DELETED if locked is not None else State.ADDED
    else:
        state = State.BEHIND if untouched else State.EDITED
    return FileStatus(path, state, on_disk, tool)


def _read(path: Path) -> str | None:
    if path.is_symlink() or not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class Applied:
    replaced: list[str]
    kept: list[FileStatus]  # edited or deleted here: left alone
    written_beside: list[str]  # the `.new` files
    removed: list[str]


def apply_upgrade(root: Path, plan: UpgradePlan) -> Applied:
    """Replace what is behind, create what is new, remove what is retired and untouched, write
    `.new` beside edited files; then the lock records this gitopsgen. All or nothing."""
    writes: dict[str, str | None] = {}
    hashes = dict(plan.lock.files)
    replaced, kept, beside, removed = [], [], [], []
    for status in plan.files:
        path = status.path
        if status.state in (State.BEHIND, State.ADDED) and status.tool is not None:
            writes[path] = status.tool
            hashes[path] = digest(status.tool)
            replaced.append(path)
        elif status.state is State.CURRENT and status.tool is not None:
            hashes[path] = digest(status.tool)
        elif status.state is State.RETIRED:
            if status.on_disk is not None and digest(status.on_disk) == hashes.get(path):
                writes[path] = None
                removed.append(path)
                hashes.pop(path, None)
            else:
                kept.append(status)
        else:  # edited or deleted here
            kept.append(status)
            if status.tool is not None and digest(status.tool) != hashes.get(path):
                writes[path + NEW_SUFFIX] = status.tool
                beside.append(path + NEW_SUFFIX)
    unsafe = symlinked(root, list(writes))
    if unsafe:
        raise ScaffoldConflict(
            unsafe, "a symlink is in the way of files `gitopsgen upgrade` would write"
        )
    lock = replace(plan.lock, version=plan.version, files=hashes)
    writes[LOCK] = lock.text()
    write_files(root, writes)
    return Applied(replaced, kept, beside, removed)
