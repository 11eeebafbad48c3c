"""The manifests Argo CD would apply per Application, as one `manifest.yaml` text each: the real
Helm render of the chart with the environment's values, and the environment's MetalLB folder.

Order is stable and independent of how the chart splits its templates into files: documents
sorted by kind, namespace, name (then their place in the render). Each document is dumped with
sorted keys and two-space indent, separated by `---`, as Argo CD's yaml.v3 encoder writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gitopsgen.errors import HydrateError
from gitopsgen.findings import Finding
from gitopsgen.render.hydrated import METALLB_SERVICE, HydratedApp
from gitopsgen.render.metallb import env_folder
from gitopsgen.render.values import values_path
from gitopsgen.spec.model import Environment, Spec
from gitopsgen.validate.helm import load_chart, render_chart
from gitopsgen.yamlsource import FastLoader


def manifest_text(texts: list[str]) -> str:
    """One manifest.yaml from rendered texts: parsed, sorted, dumped again."""
    documents: list[dict[str, Any]] = []
    for text in texts:
        documents.extend(d for d in yaml.load_all(text, Loader=FastLoader) if isinstance(d, dict))
    ordered = sorted(enumerate(documents), key=lambda item: (_sort_key(item[1]), item[0]))
    return "---\n".join(_dump(doc) for _, doc in ordered)


def _sort_key(doc: dict[str, Any]) -> tuple[str, str, str]:
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    return (str(doc.get("kind", "")), str(meta.get("namespace", "")), str(meta.get("name", "")))


def _dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(
        doc, sort_keys=True, default_flow_style=False, allow_unicode=True, width=1 << 20
    )


def helm_command(spec: Spec, env: Environment) -> str:
    """The `helm template` line that renders what `manifest.yaml` holds (before sorting)."""
    return (
        f"helm template {env.release} {spec.chart_path} --namespace {env.namespace} "
        f"--values {spec.chart_values_file} --values {values_path(spec, env)}"
    )


class ManifestSource:
    """Renders each Application's manifests from a rendered tree (path -> text); the chart is
    loaded once, on first use (Helm parses every template file when it loads)."""

    def __init__(self, root: Path, spec: Spec, files: dict[str, str]) -> None:
        self.root, self.spec, self.files = root, spec, files
        self._chart: Any = None

    def _target(self, app: HydratedApp) -> Environment:
        """The environment of a folder's Application, else the service's target in it."""
        if app.service == METALLB_SERVICE or not self.spec.services_form:
            return self.spec.environment(app.environment)
        return self.spec.require(app.environment, app.service)

    def commands(self, app: HydratedApp) -> tuple[str, ...]:
        env = self._target(app)
        if app.service == METALLB_SERVICE:
            return ("gitopsgen render", f"cat {env_folder(env.name)}/*.yaml")
        return ("gitopsgen render", helm_command(self.spec, env))

    def manifests(self, app: HydratedApp) -> str:
        env = self._target(app)
        if app.service == METALLB_SERVICE:
            folder = env_folder(env.name) + "/"
            return manifest_text([t for p, t in self.files.items() if p.startswith(folder)])
        return manifest_text(list(self._render(env).values()))

    def _render(self, env: Environment) -> dict[str, str]:
        if self._chart is None:
            self._chart = load_chart(self.root, self.spec.chart_path)
        if isinstance(self._chart, Finding):
            raise HydrateError(self._chart.one_line())
        result = render_chart(
            self._chart, self.spec, env, self.files[values_path(self.spec, env)], env.namespace
        )
        if result.findings:
            raise HydrateError("\n".join(f.one_line() for f in result.findings))
        return result.manifests
