"""The levels of the spec and how they merge, once, at load time.

Two forms: `app:` (one service; an environment's fields under `defaults`) and `services:`
(several), where one service in one environment is merged from four levels, each deep-merged
over the one before:

    defaults -> services.<s> -> environments.<e> -> environments.<e>.services.<s>

A service is deployed in the environments whose `services` name it. `written_at` finds the
level a merged value is written at, so a finding points at that line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitopsgen.yamlsource import PathPart, SourceDocument

# Fields of an environment that stay per environment in the services form: its services share
# one cluster and one address pool, so these are written in `defaults` or `environments.<e>`.
PER_ENVIRONMENT = ("cluster", "metallb")


@dataclass(frozen=True, order=True)
class Target:
    """What one Argo CD Application deploys: an environment, and in the services form one of
    its services (None in the app form)."""

    environment: str
    service: str | None = None

    @property
    def key(self) -> str:
        """How commit trailers and messages name it: `prod`, or `prod/fraud`."""
        return self.environment if self.service is None else f"{self.environment}/{self.service}"

    @property
    def path(self) -> tuple[str, ...]:
        """Where its own fields are written in the spec."""
        own = ("environments", self.environment)
        return own if self.service is None else (*own, "services", self.service)

    @classmethod
    def parse(cls, key: str) -> Target:
        environment, _, service = key.partition("/")
        return cls(environment, service or None)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else (lists included) is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def is_services_form(data: Any) -> bool:
    return isinstance(data, dict) and "services" in data


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def declared_services(data: dict[str, Any]) -> list[str]:
    return [str(s) for s in _mapping(data.get("services"))] if is_services_form(data) else []


def deployed_services(data: dict[str, Any], environment: str) -> list[str]:
    """The services an environment runs, in the order `services:` declares them."""
    env = _mapping(_mapping(data.get("environments")).get(environment))
    listed = _mapping(env.get("services"))
    return [s for s in declared_services(data) if s in listed]


def merged_targets(data: dict[str, Any]) -> dict[Target, dict[str, Any]]:
    """Every target's fields, the levels merged: per environment in the app form, per service
    and environment in the services form (environments in spec order, then services)."""
    defaults = _mapping(data.get("defaults"))
    out: dict[Target, dict[str, Any]] = {}
    services = _mapping(data.get("services"))
    for name, env in _mapping(data.get("environments")).items():
        env = _mapping(env)
        if not is_services_form(data):
            out[Target(name)] = deep_merge(defaults, env)
            continue
        shared = deep_merge(defaults, {k: v for k, v in env.items() if k != "services"})
        for service in deployed_services(data, name):
            merged = deep_merge(defaults, _mapping(services.get(service)))
            merged = deep_merge(merged, {k: v for k, v in env.items() if k != "services"})
            merged = deep_merge(merged, _mapping(_mapping(env.get("services")).get(service)))
            # per-environment fields come from the environment's levels only
            out[Target(name, service)] = {
                **merged,
                **{k: shared[k] for k in PER_ENVIRONMENT if k in shared},
            }
    return out


def merged_environments(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The merged fields by target key (`prod`; `prod/fraud` in the services form)."""
    return {target.key: fields for target, fields in merged_targets(data).items()}


def levels(path: tuple[PathPart, ...], services_form: bool) -> list[tuple[PathPart, ...]]:
    """Every place the value of a merged path may be written, the most specific first."""
    if len(path) < 2 or path[0] != "environments":
        return [path]
    env = path[1]
    if services_form and len(path) >= 4 and path[2] == "services":
        service, rest = path[3], path[4:]
        return [
            path,
            ("environments", env, *rest),
            ("services", service, *rest),
            ("defaults", *rest),
        ]
    rest = path[2:]
    candidates = [path, ("defaults", *rest)]
    if rest[:1] == ("image",) and not services_form:
        candidates.append(("app", *rest))
    return candidates


def written_at(doc: SourceDocument, path: tuple[PathPart, ...]) -> tuple[PathPart, ...]:
    """Where a value of a merged environment is written: the most specific level that holds
    it (the service in the environment, the environment, the service, `defaults`, and in the
    app form `app.image` for the image). A value written nowhere points at the nearest place it
    could be written: the candidate of which most exists."""
    candidates = levels(path, is_services_form(doc.data))
    if len(candidates) == 1:
        return path
    for candidate in candidates:
        if doc.has_path(candidate):
            return candidate
    rest = len(path) - (4 if len(candidates) == 4 else 2)
    prefix = {c: len(c) - rest for c in candidates}
    return max(
        candidates,
        key=lambda c: (
            doc.existing_depth(c) - prefix[c] if doc.existing_depth(c) >= prefix[c] else -1
        ),
    )
