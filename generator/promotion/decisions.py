"""The deployment decisions as edits of the spec: promote, set and rollback. Each one is
checked against the spec as it stands and refused, with the reason, when it would change nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gitopsgen.analysis.simulate import bucket_shares, routing_file, serves_everything
from gitopsgen.errors import PromotionError
from gitopsgen.git import Repo
from gitopsgen.promotion.bluegreen import colour_switch_edit
from gitopsgen.promotion.edit import Edit, Level, branch_part, normalise_alias
from gitopsgen.promotion.history import inverse_assignments, last_recorded_change
from gitopsgen.promotion.trailers import TRAILER, value_text
from gitopsgen.spec.merge import Target, merged_environments
from gitopsgen.spec.model import ALIAS_COLOURS, Spec
from gitopsgen.yamlsource import FastLoader


def promotion_edit(
    spec: Spec, root: Path, env: str, to: str, branch: str | None, service: str | None = None
) -> Edit:
    """`promote ENV --to X`: X serves all traffic once merged. In canary or ab_test that means
    completing the rollout too: serving.mode becomes blue_green. In the services form only the
    service's own fields in that environment change."""
    environment = spec.require(env, service)
    if environment.rollout.blue_green:  # a colour of the serving image, not a model alias
        return colour_switch_edit(environment, to, branch)
    serving = environment.serving
    alias = normalise_alias(to)
    colour = f"{alias} ({ALIAS_COLOURS[alias]})"
    routing = routing_file(root, spec)
    who = environment.title
    if serves_everything(environment, routing, alias):
        raise PromotionError(
            f"{who} already serves all traffic from {colour} (serving.mode {serving.mode}, "
            f"serving.defaultAlias {serving.default_alias}); nothing to promote"
        )
    assignments: list[tuple[tuple[str, ...], Any]] = []
    described = []
    if serving.default_alias != alias:
        assignments.append((("serving", "defaultAlias"), alias))
        described.append(f"defaultAlias {serving.default_alias} -> {alias}")
    note = None
    if serving.mode != "blue_green":
        assignments.append((("serving", "mode"), "blue_green"))
        described.append(f"mode {serving.mode} -> blue_green")
        share = bucket_shares(environment, routing)[alias]
        note = (
            f"{colour} serves {share:g}% of {who}'s clients now (serving.mode {serving.mode}); "
            f"this promotion sets serving.mode blue_green, so it serves all of them once merged"
        )
    return Edit(
        env,
        tuple(assignments),
        branch or f"promote/{branch_part(env, environment.service)}-{alias}",
        f"Promote {who} to {colour}: {', '.join(described)}",
        None,
        note,
        service=environment.service,
    )


def set_edit(
    spec: Spec,
    env: str,
    assignments: list[tuple[tuple[str, ...], Any]],
    branch: str | None,
    service: str | None = None,
    level: Level = "target",
) -> Edit:
    """`set ENV FIELD=VALUE...`: in the services form at `level` (the service in the
    environment unless told otherwise)."""
    service = spec.require(env, service).service
    assignments = [(path, _pin_text(path, value)) for path, value in assignments]
    described = ", ".join(f"{'.'.join(p)}={value_text(v)}" for p, v in assignments)
    quotes = "'\""  # a quoted scalar's quotes say nothing in a branch name
    slug = "-".join(f"{p[-1]}-{value_text(v).strip(quotes)}" for p, v in assignments).lower()
    slug = "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in slug)
    while ".." in slug:  # git refuses "..", a trailing "." and a ".lock" end in a branch name
        slug = slug.replace("..", ".")
    slug = slug[:60]
    while slug != (trimmed := slug.rstrip(".-").removesuffix(".lock")):
        slug = trimmed
    slug = slug or "value"
    return Edit(
        env,
        tuple(assignments),
        branch or f"set/{_level_part(env, service, level)}-{slug}",
        f"Set {described} {_level_title(env, service, level)}",
        None,
        service=service,
        level=level,
    )


def _pin_text(path: tuple[str, ...], value: Any) -> Any:
    """`model.versions.B=9` means the version "9": MLflow's versions are strings in the spec."""
    if path[:2] == ("model", "versions") and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _level_part(env: str, service: str | None, level: Level) -> str:
    if level == "service" and service is not None:
        return service
    return branch_part(env, service if level == "target" else None)


def _level_title(env: str, service: str | None, level: Level) -> str:
    if service is None:
        return f"in {env}"
    return {
        "target": f"for {service} in {env}",
        "environment": f"in {env} (every service there)",
        "service": f"for {service} (every environment that runs it)",
    }[level]


def rollback_edit(
    root: Path, spec_path: Path, env: str, branch: str | None, service: str | None = None
) -> Edit:
    """The exact inverse of the latest commit reachable from HEAD that recorded a change of
    the target (its Gitopsgen-Change trailers), refused when the spec moved on since. In the
    services form that is the service's own history in the environment, no other's."""
    target = Target(env, service)
    recorded = last_recorded_change(Repo.at(root), target.key)
    if recorded is None:
        raise PromotionError(
            f"nothing to roll back: no commit reachable from HEAD records a change of "
            f"{target.key} (a {TRAILER} trailer, which promote, set, rollback and commit add)"
        )
    data = yaml.load(spec_path.read_text(), Loader=FastLoader)
    current = merged_environments(data)[target.key]
    assignments = inverse_assignments(recorded, target.key, current)
    who = env if service is None else f"{service} in {env}"
    return Edit(
        env,
        tuple(assignments),
        branch or f"rollback/{branch_part(env, service)}-{recorded.sha[:8]}",
        f"Roll back {who}: undo {recorded.short} ({recorded.subject})",
        None,
        service=service,
    )
