"""The registry of rendered artefacts: adding one is a module (its render function and its
`Output` declaration) and a line here; everything else reads the declarations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import yaml

from gitopsgen.errors import RenderError
from gitopsgen.render import applicationsets, bootstrap, metallb, project, promoter, values
from gitopsgen.render.files import RenderedFiles
from gitopsgen.render.output import Catalog, Kind, Output
from gitopsgen.spec.model import Spec
from gitopsgen.yamlsource import FastLoader

RenderFunction = Callable[[Spec, Catalog], dict[str, str]]


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
    Renderer(promoter.render_promoter, promoter.OUTPUT),
)

# The declarations with the folders of a spec that leaves them at their defaults.
CATALOG = Catalog(tuple(r.output for r in RENDERERS))
# Where generated files live for that spec: render may write, and delete a stale generated file,
# only below a spec's folders (`catalog(spec).folders`).
OUTPUT_DIRS = CATALOG.folders


def catalog(spec: Spec) -> Catalog:
    """Every renderer's declaration with its folder as `spec` puts it. Read at each call, so a
    renderer added to RENDERERS (a test's) is seen by everything that reads the catalog."""
    return Catalog.for_spec((r.output for r in RENDERERS), spec)


def declared_kinds(folder: str | None = None) -> tuple[Kind, ...]:
    """The kinds the renderers emit (into `folder` only, when given), in registry order."""
    return Catalog(tuple(r.output for r in RENDERERS)).kinds(folder)


def deployed_kinds() -> tuple[Kind, ...]:
    """The AppProject's allowed namespaced kinds (see Catalog.deployed_kinds)."""
    return Catalog(tuple(r.output for r in RENDERERS)).deployed_kinds()


def output_of(path: str, spec: Spec | None = None) -> Output | None:
    """The declaration of the renderer whose folder (as `spec` puts it, else the default) holds
    `path` (None outside every folder)."""
    chosen = catalog(spec) if spec is not None else CATALOG
    return chosen.output_of(path)


def render_all(spec: Spec, renderers: tuple[Renderer, ...] | None = None) -> dict[str, str]:
    """Every rendered file, path -> text, sorted by path; each one parsed back as YAML."""
    chosen = RENDERERS if renderers is None else renderers
    bound = Catalog.for_spec((r.output for r in chosen), spec)
    files = RenderedFiles()
    for renderer, output in zip(chosen, bound.outputs, strict=True):
        for path, text in renderer.render(spec, bound).items():
            if not output.holds(path):
                raise RenderError(
                    f"{path} is rendered outside {output.folder}/, "
                    f"the folder {renderer.render.__name__} declares"
                )
            _check_yaml(path, text)
            files.add(path, text, _owner(renderer, text))
    return dict(sorted(files.files.items()))


def _owner(renderer: Renderer, text: str) -> Callable[[], str]:
    return lambda: f"{renderer.render.__name__} ({_first_object(text)})"


def _first_object(text: str) -> str:
    """`Kind name` of a file's first document, to say what two writers of one path were."""
    doc = next(iter(yaml.load_all(text, Loader=FastLoader)), None)
    if isinstance(doc, dict) and "kind" in doc:
        return f"{doc['kind']} {(doc.get('metadata') or {}).get('name', '?')}"
    return "Helm values"


def _check_yaml(path: str, text: str) -> None:
    try:
        list(yaml.compose_all(text, Loader=FastLoader))  # syntax only; the validator builds data
    except yaml.YAMLError as exc:
        raise RenderError(f"{path}: rendered text is not valid YAML: {exc}") from exc
