"""Live status of a blueGreen environment: each colour's Deployment (image, served alias, ready
replicas) and the colour each Service selects, compared with the spec."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gitopsgen.live.api import container_env, dig, text_at
from gitopsgen.spec.model import Environment

COLOR_LABEL = "gitopsgen.io/color"
Row = tuple[str, str, str | None]  # (item, expected, live or None when missing)


def read_bluegreen_objects(
    api: Any, env: Environment, timeout: float, selector: str, call: Callable[..., Any]
) -> tuple[list[Any], list[Any]]:
    """The release's Deployments and Services in the environment's namespace."""
    from kubernetes import client  # slow to import: only status and wait need it

    deployments = call(
        client.AppsV1Api(api).list_namespaced_deployment,
        timeout,
        env.namespace,
        label_selector=selector,
    )
    services = call(
        client.CoreV1Api(api).list_namespaced_service,
        timeout,
        env.namespace,
        label_selector=selector,
    )
    return _items(deployments), _items(services)


def _items(found: Any) -> list[Any]:
    items = dig(found, "items")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def bluegreen_rows(env: Environment, deployments: list[Any], services: list[Any]) -> list[Row]:
    """What a switch or a new colour could have left behind (pure)."""
    rollout = env.rollout
    by_colour = {text_at(d, "metadata", "labels", COLOR_LABEL): d for d in deployments}
    rows: list[Row] = []
    for colour in (rollout.blue, rollout.green):
        live = by_colour.get(colour.name)
        container = dig(live, "spec", "template", "spec", "containers", 0)
        env_vars = container_env(container)
        active = colour.name == rollout.active
        replicas = env.replicas if active else rollout.idle_replicas
        rows.append(
            (
                f"{colour.name} image",
                f"{env.image.repository}:{colour.tag}",
                text_at(container, "image"),
            )
        )
        alias = env_vars.get("DEFAULT_ALIAS") if container else None
        rows.append((f"{colour.name} env DEFAULT_ALIAS", colour.alias, alias))
        ready = None if live is None else text_at(live, "status", "readyReplicas") or "0"
        rows.append((f"{colour.name} ready replicas", str(replicas), ready))
    selected = {
        (text_at(s, "metadata", "name") or "").endswith("-preview"): text_at(
            s, "spec", "selector", COLOR_LABEL
        )
        for s in services
    }
    other = rollout.green.name if rollout.active == rollout.blue.name else rollout.blue.name
    rows.append(("live Service selects", rollout.active, selected.get(False)))
    rows.append(("preview Service selects", other, selected.get(True)))
    return rows
