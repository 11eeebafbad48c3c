"""An edit of the spec a promotion proposes: which fields of which environment, its branch and
its title. Every decision (promote, set, rollback, canary, blue-green) builds one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gitopsgen.errors import PromotionError
from gitopsgen.spec.merge import Target

ALIAS_NAMES = {"a": "A", "b": "B", "blue": "A", "green": "B"}


def normalise_alias(text: str) -> str:
    try:
        return ALIAS_NAMES[text.strip().lower()]
    except KeyError:
        raise PromotionError(f"unknown alias {text!r}; use A, B, blue or green") from None


# Where an edit writes its fields in the services form: the service in the environment (the
# default: only that pair changes), the environment (every service there) or the service (in
# every environment that runs it).
Level = Literal["target", "environment", "service"]
LEVELS: tuple[Level, ...] = ("target", "environment", "service")


@dataclass(frozen=True)
class Edit:
    env: str
    assignments: tuple[tuple[tuple[str, ...], Any], ...]
    branch: str
    title: str
    rollback_hint: str | None  # None: the command that sets the old values back
    note: str | None = None  # said on stderr and in the pull request's Change section
    service: str | None = None  # the services form: the service it is about
    level: Level = "target"

    @property
    def target(self) -> Target:
        return Target(self.env, self.service)

    @property
    def where(self) -> tuple[str, ...]:
        """The spec mapping the fields are written in."""
        if self.service is None or self.level == "environment":
            return ("environments", self.env)
        if self.level == "service":
            return ("services", self.service)
        return ("environments", self.env, "services", self.service)

    @property
    def who(self) -> str:
        """How titles name it: `prod`, or `fraud in prod`."""
        return self.env if self.service is None else f"{self.service} in {self.env}"

    @property
    def flags(self) -> str:
        """What a command about the same target adds: ` --service fraud` (or nothing)."""
        return "" if self.service is None else f" --service {self.service}"


def branch_part(env: str, service: str | None) -> str:
    """The target in a branch name: `prod`, or `fraud-prod` (as its Application is named)."""
    return env if service is None else f"{service}-{env}"
