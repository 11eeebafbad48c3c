"""What Kubernetes will see: the objects whose rendered manifests change, field by field.

Before and after, offline: the chart rendered for real by Helm with each environment's values
(as Argo CD renders it), and the documents gitopsgen renders itself, grouped as their renderers
declare they are delivered: a per-environment folder under its environment, Argo CD's own
objects under "Argo CD".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from gitopsgen.render.output import EnvironmentFolders, ThroughChart
from gitopsgen.render.registry import catalog
from gitopsgen.render.values import values_path
from gitopsgen.spec.edit import scalar_text
from gitopsgen.spec.model import Environment, Spec
from gitopsgen.validate.helm import load_chart, render_chart

ObjectKey = tuple[str, str]  # (kind, namespace/name)
_ENV_VAR = re.compile(r"^spec\.template\.spec\.containers\[[^\]]+\]\.env\[([^\]]+)\]\.value$")
ARGO_CD = "Argo CD"


def object_changes(
    root: Path, before: Spec, after: Spec, old_files: dict[str, str], new_files: dict[str, str]
) -> dict[str, list[str]]:
    """group (a target's key: an environment, or `env/service`; or Argo CD) ->
    ["Deployment ns/name: env DEFAULT_ALIAS B -> A"]."""
    out: dict[str, list[str]] = {}
    chart = None
    for env in after.environments:
        path = values_path(after, env)
        if old_files.get(path) == new_files.get(path):
            continue
        chart = chart if chart is not None else load_chart(root, after.chart_path)
        if not hasattr(chart, "render"):
            out[env.target.key] = ["the chart cannot be loaded; see `gitopsgen validate`"]
            continue
        old_env = _target_in(before, env)
        old = _chart_objects(chart, before, old_env, old_files.get(path), env.namespace)
        new = _chart_objects(chart, after, env, new_files.get(path), env.namespace)
        out.setdefault(env.target.key, []).extend(diff_objects(old, new))
    outputs = catalog(after)
    for path in sorted(set(old_files) | set(new_files)):
        output = outputs.output_of(path)
        if old_files.get(path) == new_files.get(path):
            continue
        if output is not None and isinstance(output.delivery, ThroughChart):
            continue  # the chart's objects, above
        group = ARGO_CD
        if output is not None and isinstance(output.delivery, EnvironmentFolders):
            group = output.environment_of(path) or ARGO_CD
        old = _objects(old_files.get(path) or "", "")
        new = _objects(new_files.get(path) or "", "")
        out.setdefault(group, []).extend(diff_objects(old, new))
    return {group: lines for group, lines in out.items() if lines}


def _target_in(spec: Spec, env: Environment) -> Environment | None:
    try:
        return spec.target(env.target.key)
    except KeyError:
        return None


def _chart_objects(
    chart: Any, spec: Spec, env: Any, values_text: str | None, namespace: str
) -> dict[ObjectKey, Any]:
    if env is None or values_text is None:
        return {}
    rendered = render_chart(chart, spec, env, values_text, namespace)
    objects: dict[ObjectKey, Any] = {}
    for text in rendered.manifests.values():
        objects.update(_objects(text, namespace))
    return objects


def _objects(text: str, namespace: str) -> dict[ObjectKey, Any]:
    out: dict[ObjectKey, Any] = {}
    for doc in yaml.safe_load_all(text):
        if isinstance(doc, dict) and "kind" in doc:
            meta = doc.get("metadata") or {}
            where = f"{meta.get('namespace') or namespace}/{meta.get('name')}".lstrip("/")
            out[(str(doc["kind"]), where)] = doc
    return out


def diff_objects(old: dict[ObjectKey, Any], new: dict[ObjectKey, Any]) -> list[str]:
    lines = []
    for key in sorted(set(old) | set(new)):
        label = f"{key[0]} {key[1]}"
        if key not in old:
            lines.append(f"{label}: created")
        elif key not in new:
            lines.append(f"{label}: deleted")
        else:
            lines.extend(f"{label}: {change}" for change in _field_changes(old[key], new[key], ""))
    return lines


def _field_changes(a: Any, b: Any, path: str) -> Iterator[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            yield from _field_changes(a.get(key), b.get(key), f"{path}.{key}".lstrip("."))
    elif _named_list(a) and _named_list(b):
        olds, news = {i["name"]: i for i in a}, {i["name"]: i for i in b}
        for name in list(olds) + [n for n in news if n not in olds]:
            yield from _field_changes(olds.get(name), news.get(name), f"{path}[{name}]")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and a != b:
        if all(isinstance(i, dict | list) for i in a + b):
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                yield from _field_changes(x, y, f"{path}[{index}]")
        else:
            yield f"{path} {_text(a)} -> {_text(b)}"
    elif a != b:
        match = _ENV_VAR.match(path)
        shown = f"env {match.group(1)}" if match else path
        yield f"{shown} {_text(a)} -> {_text(b)}"


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)


def _text(value: Any) -> str:
    return "(none)" if value is None else scalar_text(value)
