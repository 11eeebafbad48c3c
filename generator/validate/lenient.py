"""The policies of an environment the schema refused, on the fields it accepted.

An environment with a schema error is left out of rendering (its render would only echo the
error), but its other fields are still checked: a bad CIDR or an overlapping pool is reported
in the same run as the schema error beside it, not after it is fixed. The environment is built
from its fields as written; a policy finding at (or under) a field the schema refused is
dropped, being about a value already reported as wrong.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gitopsgen.findings import Finding
from gitopsgen.spec.load import SpecReading, merged_environments
from gitopsgen.spec.merge import Target
from gitopsgen.spec.model import Environment, build_environment
from gitopsgen.validate.policies import check_spec_policies_guarded


def broken_environment_policies(reading: SpecReading) -> list[Finding]:
    """Policy findings of each broken environment, one environment at a time beside the
    accepted ones (so cross-environment rules such as overlapping pools run too)."""
    spec = reading.spec
    if spec is None or not isinstance(reading.meant, dict) or not reading.broken:
        return []
    merged = merged_environments(reading.meant)
    found: set[Finding] = set()
    for name in sorted(reading.broken):
        env = _lenient(name, merged.get(name), reading.meant, spec.app_name)
        if env is None:
            continue
        trial = replace(spec, environments=(*spec.environments, env))
        refused = _refused_paths(reading.findings, name)
        found.update(
            f
            for f in check_spec_policies_guarded(trial, reading.document)
            if _in(f.path, name) and not any(_under(f.path, p) for p in refused)
        )
    return sorted(found)


def _lenient(name: str, data: Any, meant: dict[str, Any], app_name: str) -> Environment | None:
    app = meant.get("app") if isinstance(meant.get("app"), dict) else {}
    image = (app or {}).get("image")
    try:
        target = Target(name, None)  # the app form's one target of the environment
        return build_environment(target, data, image if isinstance(image, dict) else {}, app_name)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # a required part is missing or of another shape: nothing to check on


def _in(path: str, name: str) -> bool:
    own = f"environments.{name}"
    return path == own or path.startswith((f"{own}.", f"{own}["))


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((f"{prefix}.", f"{prefix}["))


def _refused_paths(findings: list[Finding], name: str) -> list[str]:
    """The environment's fields the schema refused, as environment paths (a field refused in
    `defaults` is refused in every environment)."""
    own = f"environments.{name}"
    paths = []
    for f in findings:
        if f.path == "defaults" or f.path.startswith("defaults."):
            paths.append(own + f.path[len("defaults") :])
        elif _in(f.path, name):
            paths.append(f.path)
    return paths
