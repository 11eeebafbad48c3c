"""applicationsets/project.yaml: the AppProject, least privilege."""

from __future__ import annotations

from generator.model import Spec
from generator.render.jinja import render_template

PROJECT_PATH = "applicationsets/project.yaml"

# What the chart and the MetalLB documents create, and nothing more.
NAMESPACED_KINDS = (
    ("apps", "Deployment"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("", "PersistentVolumeClaim"),
    ("networking.k8s.io", "Ingress"),
    ("policy", "PodDisruptionBudget"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("metallb.io", "IPAddressPool"),
    ("metallb.io", "L2Advertisement"),
)


def project_destinations(spec: Spec) -> list[dict[str, str]]:
    """Each environment's namespace and MetalLB's, per cluster, without repeats, in spec order."""
    seen: dict[tuple[str, str], None] = {}
    for env in spec.environments:
        seen[(env.cluster.server, env.namespace)] = None
        seen[(env.cluster.server, env.metallb.namespace)] = None
    return [{"server": server, "namespace": ns} for server, ns in seen]


def render_project(spec: Spec) -> dict[str, str]:
    return {
        PROJECT_PATH: render_template(
            "appproject.yaml.j2",
            spec.source,
            spec=spec,
            destinations=project_destinations(spec),
            namespaced_kinds=NAMESPACED_KINDS,
        )
    }
