"""What a commit changed, per environment and field, and the git trailers that record it.

Every commit gitopsgen makes (promote, set, rollback, commit) ends with one trailer per changed
field, e.g. `Gitopsgen-Change: prod serving.defaultAlias A -> B`. `rollback` reads them back, so
it follows the promotion history, not whatever last touched a line of the spec.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from gitopsgen.spec.edit import scalar_text
from gitopsgen.spec.load import merged_environments

TRAILER = "Gitopsgen-Change"
UNSET_TEXT = "(unset)"
ENVIRONMENT_FIELD = "(environment)"


class Unset:
    """A field the environment does not have (defaults merged)."""

    def __repr__(self) -> str:
        return UNSET_TEXT

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unset)

    def __hash__(self) -> int:
        return 0


UNSET = Unset()


@dataclass(frozen=True)
class Change:
    env: str
    field: str  # dotted path inside the environment, or ENVIRONMENT_FIELD
    old: Any  # UNSET where the field (or environment) did not exist
    new: Any

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.field.split("."))

    def describe(self) -> str:
        if self.field == ENVIRONMENT_FIELD:
            return "added" if self.old == UNSET else "removed"
        return f"{self.field} {value_text(self.old)} -> {value_text(self.new)}"

    def trailer(self) -> str:
        return (
            f"{TRAILER}: {self.env} {self.field} {value_text(self.old)} -> {value_text(self.new)}"
        )


def value_text(value: Any) -> str:
    """One line of YAML (or `(unset)`), read back by `parse_value`."""
    if value == UNSET:
        return UNSET_TEXT
    if isinstance(value, bool):
        return str(value).lower()
    return scalar_text(value)


def parse_value(text: str) -> Any:
    return UNSET if text == UNSET_TEXT else yaml.safe_load(text)


def field_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[Change]:
    """Every leaf that differs between two parsed specs, defaults merged, in spec order."""
    old = merged_environments(before) if before else {}
    new = merged_environments(after)
    order = list(new) + [env for env in old if env not in new]
    out: list[Change] = []
    for env in order:
        if env not in new:
            out.append(Change(env, ENVIRONMENT_FIELD, "present", UNSET))
        elif env not in old:
            out.append(Change(env, ENVIRONMENT_FIELD, UNSET, "present"))
        else:
            out.extend(_leaf_changes(env, old[env], new[env], ()))
    return out


def _leaf_changes(env: str, a: Any, b: Any, path: tuple[str, ...]) -> Iterator[Change]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            yield from _leaf_changes(env, a.get(key, UNSET), b.get(key, UNSET), (*path, str(key)))
    elif a != b:
        yield Change(env, ".".join(path), a, b)


def commit_message(changes: list[Change], title: str | None = None) -> str:
    """Subject, one line per change, and the trailers `rollback` reads back."""
    lines = [f"{c.env}: {c.describe()}" for c in changes]
    subject = title or (
        "; ".join(lines[:2]) + (" ..." if len(lines) > 2 else "")
        if lines
        else "gitopsgen: re-render"
    )
    if not lines:
        return subject + "\n"
    body = "\n".join(f"- {line}" for line in lines)
    trailers = "\n".join(c.trailer() for c in changes)
    return f"{subject}\n\n{body}\n\nRendered and validated by gitopsgen.\n\n{trailers}\n"


def parse_trailers(message: str, env: str) -> list[Change]:
    """The changes of `env` recorded in a commit message's trailers."""
    out = []
    prefix = f"{TRAILER}: {env} "
    for line in message.splitlines():
        if line.startswith(prefix):
            change = _parse_trailer(env, line[len(prefix) :])
            if change is not None:
                out.append(change)
    return out


def _parse_trailer(env: str, rest: str) -> Change | None:
    field, _, values = rest.partition(" ")
    start = 0
    while (at := values.find(" -> ", start)) != -1:
        old_text, new_text = values[:at], values[at + 4 :]
        try:
            old, new = parse_value(old_text), parse_value(new_text)
        except yaml.YAMLError:
            start = at + 1
            continue
        if value_text(old) == old_text and value_text(new) == new_text:
            return Change(env, field, old, new)
        start = at + 1
    return None
