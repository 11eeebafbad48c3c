"""The registry of rendered artefacts: adding one is a module (its render function and its
`Output` declaration) and a line here; everything else reads the declarations."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import yaml

from generator.errors import RenderError
from generator.model import Spec
from generator.render import applicationsets, bootstrap, metallb, project, values
from generator.render.output import Kind, Output
from generator.yamlsource import FastLoader

RenderFunction = Callable[[Spec], dict[str, str]]


@dataclass(frozen=True)
class Renderer:
    render: RenderFunction
    output: Output


RENDERERS: tuple[Renderer, ...] = (
    Renderer(applicationsets.render_applicationsets, applicationsets.OUTPUT),
    Renderer(project.render_project, project.OUTPUT),
    Renderer(bootstrap.render_bootstrap, bootstrap.OUTPUT),
    Renderer(values.render_values, values.OUTPUT),
    Renderer(metallb.render_metallb, metallb.OUTPUT),
)

# Where generated files live: render may write, and delete a stale generated file, only below these.
OUTPUT_DIRS = tuple(dict.fromkeys(r.output.folder for r in RENDERERS))


def _unique(kinds: Iterable[Kind]) -> tuple[Kind, ...]:
    return tuple(dict.fromkeys(kinds))


def declared_kinds(folder: str | None = None) -> tuple[Kind, ...]:
    """The kinds the renderers emit (into `folder` only, when given), in registry order."""
    outputs = [r.output for r in RENDERERS if folder is None or r.output.folder == folder]
    return _unique(k for o in outputs for k in o.kinds)


def deployed_kinds() -> tuple[Kind, ...]:
    """What Argo CD creates on environments' clusters from rendered folders: the AppProject's
    allowed namespaced kinds."""
    return _unique(k for r in RENDERERS for k in r.output.deploys)


def output_of(path: str) -> Output | None:
    """The declaration of the renderer whose folder holds `path` (None outside every folder)."""
    return next((r.output for r in RENDERERS if r.output.holds(path)), None)


def render_all(spec: Spec) -> dict[str, str]:
    """Every rendered file, path -> text, sorted by path; each one parsed back as YAML."""
    files: dict[str, str] = {}
    for renderer in RENDERERS:
        for path, text in renderer.render(spec).items():
            if not renderer.output.holds(path):
                raise RenderError(
                    f"{path} is rendered outside {renderer.output.folder}/, "
                    f"the folder {renderer.render.__name__} declares"
                )
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
