"""The registry of rendered artefacts: adding one is a module and a line here."""

from __future__ import annotations

from collections.abc import Callable

import yaml

from generator.errors import RenderError
from generator.model import Spec
from generator.render.applicationsets import render_applicationsets
from generator.render.bootstrap import render_bootstrap
from generator.render.metallb import render_metallb
from generator.render.project import render_project
from generator.render.values import render_values
from generator.yamlsource import FastLoader

Renderer = Callable[[Spec], dict[str, str]]

RENDERERS: tuple[Renderer, ...] = (
    render_applicationsets,
    render_project,
    render_bootstrap,
    render_metallb,
    render_values,
)

# Where generated files live: render may delete a stale generated file only below these.
OUTPUT_DIRS = ("applicationsets", "bootstrap", "metallb", "apps/fastapi/values")


def render_all(spec: Spec) -> dict[str, str]:
    """Every rendered file, path -> text, sorted by path; each one parsed back as YAML."""
    files: dict[str, str] = {}
    for renderer in RENDERERS:
        for path, text in renderer(spec).items():
            if path in files:
                raise RenderError(f"{path} is rendered twice")
            _check_yaml(path, text)
            files[path] = text
    return dict(sorted(files.items()))


def _check_yaml(path: str, text: str) -> None:
    try:
        list(yaml.compose_all(text, Loader=FastLoader))  # syntax only; the validator builds data
    except yaml.YAMLError as exc:
        raise RenderError(f"{path}: rendered text is not valid YAML: {exc}") from exc
