"""A pull request that pins a model version says what the registry knows of it: the run that
made it, when, its status and the aliases that point at it now. Asked only when the command is
given the registry's URL; a pin the registry does not have is refused before any branch exists."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gitopsgen.errors import PromotionError
from gitopsgen.mlflow_registry import MlflowRegistry, display_url
from gitopsgen.spec.model import Environment


def pinned_version_section(
    env: Environment,
    assignments: list[tuple[tuple[str, ...], Any]],
    tracking_uri: str | None,
) -> str:
    """The PR body's "Model versions" section for model.versions.* assignments ("" for none)."""
    pins = [
        (p[2], str(v)) for p, v in assignments if p[:2] == ("model", "versions") and len(p) == 3
    ]
    if not pins:
        return ""
    lines = ["### Model versions", ""]
    if tracking_uri is None:
        lines.append(
            "The registry was not asked (no `--tracking-uri`); `gitopsgen drift` compares the "
            "pins with it."
        )
        return "\n".join(lines) + "\n"
    registry = MlflowRegistry(tracking_uri)
    lines.append(f"From the MLflow registry at {display_url(tracking_uri)}:")
    lines += ["", "| alias | version | run | created (UTC) | status | aliases now |"]
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for alias, version in pins:
        found = registry.version(env.model_name, version)
        if found is None:
            raise PromotionError(
                f"{env.title}: the registry at {display_url(tracking_uri)} has no version "
                f"{version} of {env.model_name!r}; nothing was changed"
            )
        created = datetime.fromtimestamp(found.created_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
        aliases = ", ".join(sorted(found.aliases)) or "none"
        lines.append(
            f"| {alias} | {version} | `{found.run_id}` | {created} | {found.status} | {aliases} |"
        )
    return "\n".join(lines) + "\n"
