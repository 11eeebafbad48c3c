"""The rendered folders as gitopsgen may touch them: real folders and regular files only.

A symlink (or a FIFO, a device, a socket) in a rendered folder, or a rendered folder that is a
symlink, is never followed: its target is never read, printed or written through. Each one is
reported by its path.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gitopsgen.errors import UnsafeTreeError


@dataclass(frozen=True, order=True)
class UnsafePath:
    path: str  # relative to the repository root, POSIX
    what: str  # "a symbolic link", "a FIFO", ...

    def describe(self) -> str:
        return f"{self.path} is {self.what}; gitopsgen never follows or reads it"


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None


def find_unsafe(root: Path, folders: Iterable[str]) -> list[UnsafePath]:
    """Every symlink or special file at or below the rendered folders (and on the way to them)."""
    found: set[UnsafePath] = set()
    for folder in folders:
        found.update(_unsafe_below(root, folder))
    return sorted(found)


def _unsafe_below(root: Path, folder: str) -> Iterator[UnsafePath]:
    parts = PurePosixPath(folder).parts
    for depth in range(1, len(parts) + 1):
        rel = "/".join(parts[:depth])
        info = _lstat(root / rel)
        if info is None:
            return
        if stat.S_ISLNK(info.st_mode):
            yield UnsafePath(rel, _kind(info.st_mode))
            return
        if not stat.S_ISDIR(info.st_mode):
            return  # a file where a folder belongs: writing it fails, and says so
    for current, dirs, files in os.walk(root / folder, followlinks=False):
        for name in dirs + files:
            path = Path(current) / name
            info = _lstat(path)
            if info is None:
                continue
            if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
                yield UnsafePath(path.relative_to(root).as_posix(), _kind(info.st_mode))


def require_safe(root: Path, folders: Iterable[str]) -> None:
    found = find_unsafe(root, folders)
    if found:
        raise UnsafeTreeError(found)


MAX_INPUT_BYTES = 64 << 20  # a spec, a manifest or a CRD; the largest upstream CRD is ~2 MiB


def read_input(path: Path) -> str:
    """The text of a file given by the user (the spec, an extra PATH, a CRD), symlinks followed.

    A FIFO, a device or a socket is refused before anything is read from it, so nothing blocks
    and nothing endless is read; so is a file over MAX_INPUT_BYTES. Raises OSError whose
    strerror says why, and UnicodeDecodeError."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"{_kind(mode)}, not a regular file", str(path))
        data = handle.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MAX_INPUT_BYTES} bytes; refused", str(path))
    return data.decode("utf-8")


def read_regular(path: Path) -> str | None:
    """A regular file's text, opened without following a symlink; None when it is absent."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError):
        return None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(f"{path} is {_kind(mode)}")
        return handle.read().decode("utf-8")
