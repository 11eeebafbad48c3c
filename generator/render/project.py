"""applicationsets/project.yaml: the AppProject, least privilege."""

from __future__ import annotations

from gitopsgen.render.jinja import render_template
from gitopsgen.render.output import (
    APP_PROJECT,
    Catalog,
    EnvironmentFolders,
    InArgoCdNamespace,
    Kind,
    Output,
    unique_kinds,
)
from gitopsgen.spec.model import Spec

# In the folder the root Application syncs into Argo CD's namespace.
OUTPUT = Output(
    folder="applicationsets",
    kubernetes_objects=True,
    kinds=(APP_PROJECT,),
    delivery=InArgoCdNamespace(by_root_app=True),
)
PROJECT_PATH = f"{OUTPUT.folder}/project.yaml"


def project_destinations(spec: Spec, catalog: Catalog) -> list[dict[str, str]]:
    """Each environment's namespace and those its environment folders sync to (MetalLB's), per
    cluster, without repeats, in spec order."""
    seen: dict[tuple[str, str], None] = {}
    for env in spec.environments:
        seen[(env.cluster.server, env.namespace)] = None
        for _, delivery in catalog.environment_folders():
            namespace = delivery.destination(env)
            if namespace is not None:
                seen[(env.cluster.server, namespace)] = None
    return [{"server": server, "namespace": ns} for server, ns in seen]


def allowed_kinds(spec: Spec, catalog: Catalog) -> tuple[Kind, ...]:
    """What Argo CD may create on the environments' clusters: the kinds of every output
    delivered there (a per-environment folder only when some environment has one)."""

    def delivered(output: Output) -> bool:
        delivery = output.delivery
        if isinstance(delivery, EnvironmentFolders):
            return any(delivery.destination(env) is not None for env in spec.environments)
        return True

    return unique_kinds(k for o in catalog.outputs if delivered(o) for k in o.deploys)


def render_project(spec: Spec, catalog: Catalog) -> dict[str, str]:
    return {
        PROJECT_PATH: render_template(
            "appproject.yaml.j2",
            spec.source,
            spec=spec,
            destinations=project_destinations(spec, catalog),
            namespaced_kinds=allowed_kinds(spec, catalog),
        )
    }
