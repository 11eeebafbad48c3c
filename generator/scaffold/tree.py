"""Write a scaffold's files all or nothing: stage every text beside the tree, then rename each
into place; on any error the files replaced are put back and the ones created removed."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from gitopsgen.errors import WriteError


def symlinked(root: Path, paths: list[str]) -> list[str]:
    """The paths with a symlink at or above them inside `root`: writing there could land
    outside the repository, so a scaffold never does."""
    found = []
    for rel in paths:
        probe = root
        for part in Path(rel).parts:
            probe = probe / part
            if probe.is_symlink():
                found.append(rel)
                break
    return found


def write_files(root: Path, files: dict[str, str | None]) -> None:
    """Every file (None: delete it) or none; WriteError when the tree is left as it was."""
    stage = Path(tempfile.mkdtemp(prefix=".gitopsgen-scaffold-", dir=root))
    done: list[tuple[str, Path | None]] = []  # path, the old file kept (None: created)
    made: list[Path] = []
    try:
        for index, text in enumerate(files.values()):
            if text is not None:
                (stage / str(index)).write_text(text, encoding="utf-8")
        for index, (rel, text) in enumerate(files.items()):
            target = root / rel
            kept = None
            if target.exists():
                kept = stage / f"old-{index}"
                os.link(target, kept)
            if text is None:
                target.unlink(missing_ok=True)
            else:
                made += _make_parents(root, target)
                (stage / str(index)).replace(target)
            done.append((rel, kept))
    except OSError as exc:
        _undo(root, done, made)
        raise WriteError(
            f"cannot write {exc.filename or root}: {exc.strerror}; nothing was changed"
        ) from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _make_parents(root: Path, target: Path) -> list[Path]:
    missing = []
    probe = target.parent
    while probe != root and not probe.is_dir():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        folder.mkdir()
    return list(reversed(missing))


def _undo(root: Path, done: list[tuple[str, Path | None]], made: list[Path]) -> None:
    for rel, kept in reversed(done):
        target = root / rel
        if kept is not None:
            kept.replace(target)
        else:
            target.unlink(missing_ok=True)
    for folder in reversed(made):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
