"""`gitopsgen init DIR`: the scaffold written into a folder that holds none of its files."""

from __future__ import annotations

from pathlib import Path

from gitopsgen.errors import ScaffoldConflict, WriteError
from gitopsgen.scaffold.lock import Lock, digest
from gitopsgen.scaffold.plan import LOCK, SEEDS, ScaffoldOptions, scaffold_files
from gitopsgen.scaffold.tree import symlinked, write_files


def init_repository(dest: Path, options: ScaffoldOptions, version: str) -> list[str]:
    """Write the scaffold and its lock into `dest` (created when missing); the paths written.
    Refuses, writing nothing, when `dest` already holds any of them."""
    files = scaffold_files(options, version)
    paths = [*files, LOCK]
    if dest.exists() and not dest.is_dir():
        raise WriteError(f"{dest} is not a folder")
    present = [p for p in paths if (dest / p).exists() or (dest / p).is_symlink()]
    if present:
        raise ScaffoldConflict(present, f"{dest} already holds files `gitopsgen init` would write")
    dest.mkdir(parents=True, exist_ok=True)
    unsafe = symlinked(dest, paths)
    if unsafe:
        raise ScaffoldConflict(
            unsafe, "a symlink is in the way of files `gitopsgen init` would write"
        )
    lock = Lock(version, options, {p: digest(t) for p, t in files.items()}, SEEDS)
    write_files(dest, {**files, LOCK: lock.text()})
    return sorted(paths)
