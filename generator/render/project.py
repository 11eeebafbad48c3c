"""applicationsets/project.yaml: the AppProject, least privilege."""

from __future__ import annotations

from generator.model import Spec
from generator.render.jinja import render_template
from generator.render.output import APP_PROJECT, Output

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


def render_project(spec: Spec) -> dict[str, str]:
    from generator.render import deployed_kinds  # the registry imports this module

    return {
        PROJECT_PATH: render_template(
            "appproject.yaml.j2",
            spec.source,
            spec=spec,
            destinations=project_destinations(spec),
            namespaced_kinds=deployed_kinds(),
        )
    }
