"""The two forms of the spec, `app:` and `services:`, and where each field may be written.

What the JSON Schema cannot say well, said here with a message in the spec's own terms: one
form or the other, a service an environment runs is declared in `services:`, and an
environment's cluster and address pool are not set per service.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gitopsgen.spec.merge import PER_ENVIRONMENT, declared_services
from gitopsgen.yamlsource import PathPart


@dataclass(frozen=True)
class FormProblem:
    """A schema finding in the making: its kind (a key of load.SCHEMA_IDS), path and message;
    `at_key` reports it at the key's own line."""

    kind: str
    path: tuple[PathPart, ...]
    message: str
    at_key: bool = False


def did_you_mean(key: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    close = difflib.get_close_matches(key, allowed, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (allowed: {', '.join(allowed)})"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def form_problems(data: dict[str, Any]) -> Iterator[FormProblem]:
    """Every misplaced form or field; none for a spec of either form written as intended."""
    yield from _one_form(data)
    if "services" in _mapping(data.get("defaults")):
        yield FormProblem(
            "additionalProperties",
            ("defaults", "services"),
            "`services` cannot sit in defaults: list the services an environment runs in "
            "environments.<env>.services",
            at_key=True,
        )
    if "services" in data:
        yield from _services_form(data)
        return
    for name, env in _mapping(data.get("environments")).items():
        if "services" in _mapping(env):
            yield FormProblem(
                "additionalProperties",
                ("environments", name, "services"),
                "`services` in an environment needs the services form: declare each service "
                "in a top-level `services:` instead of `app:`",
                at_key=True,
            )


def _one_form(data: dict[str, Any]) -> Iterator[FormProblem]:
    if "app" in data and "services" in data:
        app_name = _mapping(data.get("app")).get("name")
        if app_name in _mapping(data.get("services")):
            yield FormProblem(
                "other",
                ("services", str(app_name)),
                f"{app_name!r} is both app.name and a service: a spec has `app` (one service) "
                "or `services` (several), not both",
                at_key=True,
            )
        else:
            yield FormProblem(
                "other",
                ("services",),
                "a spec has `app` (one service) or `services` (several), not both",
                at_key=True,
            )
    elif "app" not in data and "services" not in data:
        yield FormProblem(
            "required", (), "'app' (one service) or 'services' (several services) is required"
        )


def _services_form(data: dict[str, Any]) -> Iterator[FormProblem]:
    if not isinstance(data.get("services"), dict):
        return  # the schema says what `services` should be; nothing to check against
    declared = declared_services(data)
    for service, fields in _mapping(data.get("services")).items():
        for key in (*PER_ENVIRONMENT, "services"):
            if key in _mapping(fields):
                yield _misplaced(("services", service, key), key)
    for name, env in _mapping(data.get("environments")).items():
        if not isinstance(env, dict):
            continue
        if "services" not in env:
            yield FormProblem(
                "required",
                ("environments", name),
                f"'services' is required: the services {name} runs (the spec declares "
                f"{', '.join(declared)})",
            )
        for service, fields in _mapping(env.get("services")).items():
            where: tuple[PathPart, ...] = ("environments", name, "services", service)
            if service not in declared:
                yield FormProblem(
                    "additionalProperties",
                    where,
                    f"unknown service {service!r}{did_you_mean(str(service), declared)}: "
                    "declare it in the top-level `services:`",
                    at_key=True,
                )
            for key in (*PER_ENVIRONMENT, "services"):
                if key in _mapping(fields):
                    yield _misplaced((*where, key), key)


def _misplaced(path: tuple[PathPart, ...], key: str) -> FormProblem:
    if key == "services":
        message = "`services` cannot sit inside a service"
    else:
        message = (
            f"{key} is per environment: the services of an environment share its cluster and "
            f"its address pool; write {key} in environments.<env> or defaults"
        )
    return FormProblem("additionalProperties", path, message, at_key=True)
