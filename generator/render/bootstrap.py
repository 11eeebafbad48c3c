"""bootstrap/root-app.yaml: the app of apps that points Argo CD at applicationsets/."""

from __future__ import annotations

from generator.model import Spec
from generator.render.jinja import render_template

ROOT_APP_PATH = "bootstrap/root-app.yaml"


def render_bootstrap(spec: Spec) -> dict[str, str]:
    return {ROOT_APP_PATH: render_template("root-app.yaml.j2", spec.source, spec=spec)}
