"""Git against the MLflow registry: for every pinned alias, the version Git pins and where the
registry's alias points now.

Git is the record of what runs: a pinned alias serves exactly `models:/<name>/<version>`. The
registry keeps no history of its aliases (mlflow/mlflow#2169), so an alias moved in MLflow is
invisible until something compares the two; `drift` does, and either side can then follow the
other: `--fix git` pins what the registry says (a promotion branch), `--fix registry` points the
aliases back at the pins.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gitopsgen.mlflow_registry import MlflowRegistry, display_url
from gitopsgen.spec.model import Environment, Spec

ALIASES = ("A", "B")


class PinState(StrEnum):
    IN_SYNC = "in-sync"  # the registry's alias points at the pinned version
    DRIFT = "drift"  # it points elsewhere
    ALIAS_UNSET = "alias-unset"  # the registry has no such alias
    MISSING = "missing"  # the registry has no such version: the app cannot load the pin
    NO_MODEL = "no-model"  # the registry has no such registered model


@dataclass(frozen=True)
class PinReport:
    environment: str  # the target's key: `prod`, or `prod/fraud` in the services form
    model: str
    alias: str
    pinned: str
    registry: str | None  # where the registry's alias points now
    state: PinState

    @property
    def drifted(self) -> bool:
        return self.state is not PinState.IN_SYNC


@dataclass(frozen=True)
class DriftReport:
    tracking_uri: str  # without credentials
    pins: tuple[PinReport, ...]
    unpinned: tuple[str, ...]  # environments asked about that pin nothing

    @property
    def drifted(self) -> bool:
        return any(p.drifted for p in self.pins)


def pinned_environments(
    spec: Spec, environment: str | None, service: str | None = None
) -> list[Environment]:
    """The targets asked about: of one environment or all, of one service or all."""
    return list(spec.select(environment, service))


def check_pins(env: Environment, registry: MlflowRegistry) -> list[PinReport]:
    """One question for the aliases, one per pin whose version the alias does not confirm."""
    if not env.model_versions:
        return []
    aliases = registry.aliases(env.model_name)
    reports = []
    for alias, pinned in env.model_versions:
        if aliases is None:
            state, points = PinState.NO_MODEL, None
        else:
            points = aliases.get(alias)
            if points == pinned:
                state = PinState.IN_SYNC
            elif registry.version(env.model_name, pinned) is None:
                state = PinState.MISSING
            else:
                state = PinState.DRIFT if points is not None else PinState.ALIAS_UNSET
        reports.append(PinReport(env.target.key, env.model_name, alias, pinned, points, state))
    return reports


def drift_report(
    spec: Spec,
    environment: str | None,
    tracking_uri: str | None,
    timeout: float,
    service: str | None = None,
) -> DriftReport:
    """Every pinned alias of the chosen environments against the registry. Each environment's
    own `mlflow.trackingUri` is asked unless `tracking_uri` overrides it (the spec's is usually
    an in-cluster address)."""
    pins: list[PinReport] = []
    unpinned: list[str] = []
    shown = {display_url(tracking_uri)} if tracking_uri else set()
    for env in pinned_environments(spec, environment, service):
        if not env.model_versions:
            unpinned.append(env.target.key)
            continue
        uri = tracking_uri or env.tracking_uri
        shown.add(display_url(uri))
        pins.extend(check_pins(env, MlflowRegistry(uri, timeout)))
    return DriftReport(", ".join(sorted(shown)), tuple(pins), tuple(unpinned))


def git_fixes(report: DriftReport) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """Per target (its key), the spec assignments that pin what the registry says (registry led)."""
    fixes: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for pin in report.pins:
        if pin.state is PinState.DRIFT and pin.registry is not None:
            fixes.setdefault(pin.environment, []).append(
                (("model", "versions", pin.alias), pin.registry)
            )
    return fixes


def registry_fixes(report: DriftReport) -> list[PinReport]:
    """The aliases to point back at their pins (Git led): drifted or unset, never a missing
    version (there is nothing to point at)."""
    return [p for p in report.pins if p.state in (PinState.DRIFT, PinState.ALIAS_UNSET)]
