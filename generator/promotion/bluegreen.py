"""Blue-green of the serving image in promotions: `promote ENV --to blue|green` switches
`rollout.active` (one line of spec, one line of values), and the pull request shows both colours,
the pods after the merge and what the idle colour costs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gitopsgen.errors import PromotionError
from gitopsgen.promotion.edit import Edit, branch_part
from gitopsgen.promotion.facts import PullRequestFacts
from gitopsgen.spec.merge import deep_merge
from gitopsgen.spec.model import COLOURS, Environment, Spec


def colour_switch_edit(env: Environment, to: str, branch: str | None) -> Edit:
    """The edit that makes colour `to` serve all traffic of a blueGreen environment."""
    colour = to.strip().lower()
    rollout = env.rollout
    if colour not in COLOURS:
        raise PromotionError(
            f"{env.title} runs rollout.strategy blueGreen: promote to a colour, blue or green "
            f"(each colour has its own alias: blue serves {rollout.blue.alias}, green "
            f"{rollout.green.alias}); {to!r} is an alias"
        )
    if rollout.active == colour:
        raise PromotionError(
            f"{env.title} already sends all traffic to {colour} (rollout.active); nothing to "
            "promote"
        )
    new = rollout.colour(colour)
    return Edit(
        env.name,
        ((("rollout", "active"), colour),),
        branch or f"promote/{branch_part(env.name, env.service)}-{colour}",
        f"Promote {env.title} to {colour} ({new.tag}, alias {new.alias}): "
        f"rollout.active {rollout.active} -> {colour}",
        None,
        service=env.service,
    )


def colour_section(facts: PullRequestFacts) -> list[str]:
    """Both colours before and after, the pods that will run and the idle colour's cost."""
    key = facts.edit.target.key
    after = _target_or_none(facts.after, key)
    if after is None or not after.rollout.blue_green:
        return []
    before = _target_or_none(facts.before, key) or after
    lines = [
        "",
        "### Colours",
        "",
        "| colour | image | alias | pods before | pods after | serves after |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for colour in COLOURS:
        spec = after.rollout.colour(colour)
        was = before.colour_replicas(colour) if before.rollout.blue_green else 0
        role = "live (Service)" if colour == after.rollout.active else "preview"
        lines.append(
            f"| {colour} | `{after.image.repository}:{spec.tag}` | {spec.alias} | {was} | "
            f"{after.colour_replicas(colour)} | {role} |"
        )
    idle = after.rollout.idle
    pods = after.colour_replicas(idle)
    total = pods + after.replicas
    lines += [
        "",
        f"After the merge {total} pods run: {after.replicas} {after.rollout.active}, "
        f"{pods} {idle}. {_cost(facts.root, facts.after.chart_values_file, after, pods)}",
    ]
    if after.rollout.shadow_percent and pods:
        lines.append(
            f"The live colour copies {after.rollout.shadow_percent}% of its /predict requests "
            f"to the preview Service ({idle}) and compares the answers."
        )
    return lines


def _target_or_none(spec: Spec, key: str) -> Environment | None:
    try:
        return spec.target(key)
    except KeyError:
        return None


def _cost(root: Path, chart_values: str, env: Environment, pods: int) -> str:
    if not pods:
        return (
            "The idle colour costs nothing and gives up the instant rollback: switching back "
            "waits for its pods to start."
        )
    requests = _pod_requests(root / chart_values, env)
    each = ", ".join(f"{k} {v}" for k, v in sorted(requests.items())) or "no stated requests"
    return (
        f"The idle colour costs {pods} pod(s) of {each} each, reserved for the instant "
        "rollback (switch back with `gitopsgen rollback`)."
    )


def _pod_requests(path: Path, env: Environment) -> dict[str, Any]:
    """resources.requests of one pod: the chart's defaults (`path`) under the spec's helmValues."""
    chart: dict[str, Any] = yaml.safe_load(path.read_text()) if path.is_file() else {}
    merged = deep_merge(chart or {}, env.helm_values)
    requests = (merged.get("resources") or {}).get("requests") or {}
    return dict(requests) if isinstance(requests, dict) else {}
