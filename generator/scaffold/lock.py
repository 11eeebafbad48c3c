"""The scaffold's lock file: the gitopsgen version that wrote the scaffold, the options it was
written with, and a sha256 of every file as written, so `upgrade` tells a file the team never
touched (replace it) from one it edited (keep it, show the difference)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from importlib import metadata
from pathlib import Path
from typing import Any

from gitopsgen.errors import NotScaffolded
from gitopsgen.scaffold.plan import LOCK, ScaffoldOptions


def tool_version() -> str:
    try:
        return metadata.version("gitopsgen")
    except metadata.PackageNotFoundError:  # a source checkout never installed
        return "0+unknown"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Lock:
    version: str
    options: ScaffoldOptions
    files: dict[str, str]  # path -> sha256 of the text gitopsgen wrote
    seeds: tuple[str, ...]  # written once, the team's from then on

    def text(self) -> str:
        record = {
            "comment": "Written by `gitopsgen init`; `gitopsgen upgrade` reads and updates it.",
            "gitopsgen": self.version,
            "options": self.options.to_json(),
            "seeds": list(self.seeds),
            "files": dict(sorted(self.files.items())),
        }
        return json.dumps(record, indent=2) + "\n"


def read_lock(root: Path) -> Lock:
    """The lock at `root`; NotScaffolded (exit 2) when there is none or it is not one."""
    path = root / LOCK
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotScaffolded(
            f"{root} was never scaffolded by `gitopsgen init` (no {LOCK}); nothing to upgrade"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NotScaffolded(f"cannot read {LOCK}: {exc}") from exc
    try:
        return _lock_of(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise NotScaffolded(f"{LOCK} is not a lock file gitopsgen wrote: {exc}") from exc


def _lock_of(data: Any) -> Lock:
    if not isinstance(data, dict):
        raise TypeError("not a JSON object")
    known = {f.name for f in fields(ScaffoldOptions)}
    options = data["options"]
    if not isinstance(options, dict) or not set(options) <= known:
        raise ValueError(f"unknown options {sorted(set(options) - known)}")
    files = data["files"]
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise TypeError("files is not a mapping of path to sha256")
    seeds = tuple(str(s) for s in data.get("seeds", ()))
    return Lock(str(data["gitopsgen"]), ScaffoldOptions(**options), dict(files), seeds)
