"""bootstrap/root-app.yaml: the app of apps that points Argo CD at applicationsets/."""

from __future__ import annotations

from gitopsgen.render.jinja import render_template
from gitopsgen.render.output import APP_PROJECT, APPLICATION, Catalog, InArgoCdNamespace, Output
from gitopsgen.spec.model import Spec

# Applied by hand once, into Argo CD's namespace; deploys nothing on an environment's cluster.
OUTPUT = Output(
    folder="bootstrap",
    kubernetes_objects=True,
    kinds=(APP_PROJECT, APPLICATION),
    delivery=InArgoCdNamespace(by_root_app=False),
)
ROOT_APP_PATH = f"{OUTPUT.folder}/root-app.yaml"


def render_bootstrap(spec: Spec, catalog: Catalog) -> dict[str, str]:
    folder = catalog.root_app_folder()
    return {
        ROOT_APP_PATH: render_template(
            "root-app.yaml.j2",
            spec.source,
            spec=spec,
            synced_folder=folder,
            synced_kinds=catalog.kinds(folder),
        )
    }
