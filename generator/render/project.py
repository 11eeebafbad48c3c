"""applicationsets/project.yaml: the AppProject, least privilege."""

from __future__ import annotations

from gitopsgen.render.jinja import render_template
from gitopsgen.render.output import APP_PROJECT, Catalog, Output
from gitopsgen.spec.model import Spec

# In the folder the root Application syncs into Argo CD's namespace.
OUTPUT = Output(folder="applicationsets", kubernetes_objects=True, kinds=(APP_PROJECT,))
PROJECT_PATH = f"{OUTPUT.folder}/project.yaml"


def project_destinations(spec: Spec) -> list[dict[str, str]]:
    """Each environment's namespace and MetalLB's, per cluster, without repeats, in spec order."""
    seen: dict[tuple[str, str], None] = {}
    for env in spec.environments:
        seen[(env.cluster.server, env.namespace)] = None
        seen[(env.cluster.server, env.metallb.namespace)] = None
    return [{"server": server, "namespace": ns} for server, ns in seen]


def render_project(spec: Spec, catalog: Catalog) -> dict[str, str]:
    return {
        PROJECT_PATH: render_template(
            "appproject.yaml.j2",
            spec.source,
            spec=spec,
            destinations=project_destinations(spec),
            namespaced_kinds=catalog.deployed_kinds(),
        )
    }
