"""The promotion history: commits reachable from HEAD that carry Gitopsgen-Change trailers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gitopsgen.errors import RollbackRefused
from gitopsgen.git import Repo
from gitopsgen.promotion.trailers import (
    ENVIRONMENT_FIELD,
    TRAILER,
    UNSET,
    Change,
    parse_trailers,
    value_text,
)


@dataclass(frozen=True)
class RecordedCommit:
    sha: str
    subject: str
    changes: list[Change]  # of one environment

    @property
    def short(self) -> str:
        return self.sha[:10]


def last_recorded_change(repo: Repo, env: str) -> RecordedCommit | None:
    """The latest commit reachable from HEAD whose trailers record a change of `env`."""
    if repo.run("rev-parse", "--verify", "--quiet", "HEAD", check=False).returncode:
        return None  # no commit yet
    pattern = f"^{TRAILER}: {re.escape(env)} "
    log = repo.out(
        "log", "--extended-regexp", f"--grep={pattern}", "--format=%H%x00%s%x00%B%x1e", "HEAD"
    )
    for entry in filter(None, (e.strip("\n") for e in log.split("\x1e"))):
        sha, subject, message = entry.split("\x00", 2)
        changes = parse_trailers(message, env)
        if changes:
            return RecordedCommit(sha, subject, changes)
    return None


def inverse_assignments(
    recorded: RecordedCommit, env: str, current: dict[str, Any]
) -> list[tuple[tuple[str, ...], Any]]:
    """Every field the commit changed, set back to what it was; refused when the spec no
    longer holds what the commit set (someone changed it since)."""
    out = []
    for change in recorded.changes:
        where = f"commit {recorded.short} ({recorded.subject})"
        if change.field == ENVIRONMENT_FIELD:
            raise RollbackRefused(
                f"cannot roll back {env}: {where} {change.describe()} the environment; "
                "edit the spec by hand"
            )
        now = _lookup(current, change.path)
        if now != change.new:
            raise RollbackRefused(
                f"cannot roll back {env}: {change.field} is {value_text(now)}, not "
                f"{value_text(change.new)} as {where} set it; it changed since"
            )
        if change.old == UNSET:
            raise RollbackRefused(
                f"cannot roll back {env}: {change.field} was not set before {where}, and "
                "rollback does not remove fields; remove it by hand and run `gitopsgen commit`"
            )
        out.append((change.path, change.old))
    return out


def _lookup(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return UNSET
        data = data[part]
    return data
