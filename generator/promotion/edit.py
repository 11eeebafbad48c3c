"""An edit of the spec a promotion proposes: which fields of which environment, its branch and
its title. Every decision (promote, set, rollback, canary, blue-green) builds one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitopsgen.errors import PromotionError

ALIAS_NAMES = {"a": "A", "b": "B", "blue": "A", "green": "B"}


def normalise_alias(text: str) -> str:
    try:
        return ALIAS_NAMES[text.strip().lower()]
    except KeyError:
        raise PromotionError(f"unknown alias {text!r}; use A, B, blue or green") from None


@dataclass(frozen=True)
class Edit:
    env: str
    assignments: tuple[tuple[tuple[str, ...], Any], ...]
    branch: str
    title: str
    rollback_hint: str | None  # None: the command that sets the old values back
    note: str | None = None  # said on stderr and in the pull request's Change section
