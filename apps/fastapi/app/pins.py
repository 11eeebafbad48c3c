"""Pinned model versions against what the registry says: the pure part of /models and of the
model_pin_drift metric.

Git pins a version per alias (the spec's `model.versions`, the settings' MODEL_VERSION_A/B);
the registry's alias may point elsewhere (someone moved it, or a retraining run did and its
pinning pull request is not merged yet). Both are shown side by side, never reconciled here:
`gitopsgen drift` decides which side leads."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.routing import ALIASES

_USERINFO = re.compile(r"(//)[^/@\s]+@")


@dataclass(frozen=True)
class RegistryView:
    """Where the registry's aliases pointed (alias -> version) when it was last asked; an alias
    absent from `aliases` does not exist in the registry."""

    aliases: Mapping[str, str]
    checked_at: float


@dataclass(frozen=True)
class AliasVersions:
    """One alias: the version Git pins (None: unpinned), the one the registry's alias points to
    (None: the alias does not exist there, or the registry was never reached), the one loaded."""

    alias: str
    pinned: str | None
    registry: str | None
    serving: str | None
    registry_known: bool

    @property
    def drift(self) -> bool | None:
        """True when a pin and the registry's alias differ; None while the registry is unknown.
        An unpinned alias has no drift: it follows the registry by design."""
        if self.pinned is None:
            return False
        if not self.registry_known:
            return None
        return self.registry != self.pinned

    def describe(self) -> dict[str, Any]:
        return {
            "pinned_version": self.pinned,
            "registry_version": self.registry,
            "serving_version": self.serving,
            "drift": self.drift,
        }


def alias_versions(
    pins: Mapping[str, str], view: RegistryView | None, serving: Mapping[str, str]
) -> list[AliasVersions]:
    """Every alias, pinned or not, in ALIASES order."""
    return [
        AliasVersions(
            alias,
            pins.get(alias),
            view.aliases.get(alias) if view else None,
            serving.get(alias),
            view is not None,
        )
        for alias in ALIASES
    ]


def timestamp(seconds: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds)) if seconds else None


def without_credentials(message: str) -> str:
    """An error message safe to show: a tracking URI's user:password@ is dropped."""
    return _USERINFO.sub(r"\1***@", message)
