"""applicationsets/: the app's ApplicationSet (`<app.name>.yaml`: the chart with each
environment's Helm values) and one per output synced per environment folder (`metallb.yaml`),
each with one element per environment. What they sync is read from the renderers' declarations.
In the services form each service has its own, `applicationsets/<service>.yaml`, one element
per environment that runs it: one Application `<service>-<environment>` each.

Names in Argo CD's namespace are unique to the spec, so two repositories share one Argo CD: the
app's (a service's) ApplicationSet and Applications carry app.name (the service's name); the
others carry argocd.project."""

from __future__ import annotations

import posixpath

from gitopsgen.render import hydrated
from gitopsgen.render.files import RenderedFiles
from gitopsgen.render.jinja import render_template
from gitopsgen.render.output import (
    APPLICATION_SET,
    Catalog,
    EnvironmentFolders,
    InArgoCdNamespace,
    Output,
)
from gitopsgen.render.values import values_file as values_file_of
from gitopsgen.spec.model import Environment, Spec

# Synced by the root Application into Argo CD's namespace.
OUTPUT = Output(
    folder="applicationsets",
    kubernetes_objects=True,
    kinds=(APPLICATION_SET,),
    delivery=InArgoCdNamespace(by_root_app=True),
)
# Spec fields written into the ApplicationSets' `template`, which Argo CD evaluates as Go
# templates (goTemplate: true). The list elements are data, never evaluated, so per-environment
# values are safe there; these fields must not hold template delimiters (policy GG141).
GO_TEMPLATED_FIELDS = (
    ("app", "name"),
    ("app", "chart"),
    ("argocd", "namespace"),
    ("argocd", "project"),
    ("repo", "url"),
    ("repo", "targetRevision"),
)
ENV = "{{ .env }}"  # an element's environment, as a Go template Argo CD renders


# A Go template Argo CD renders per element: automated sync where the element says so.
# It must repeat syncOptions, because a patch replaces lists rather than merging them.
_SYNC_PATCH = """{{- if eq .automated "true" }}
spec:
  syncPolicy:
    automated:
      prune: {{ .prune }}
      selfHeal: {{ .selfHeal }}
    syncOptions:
      - CreateNamespace=%s
{{- end }}"""


def sync_patch(create_namespace: bool) -> str:
    return _SYNC_PATCH % str(create_namespace).lower()


def service_appset_path(service: str) -> str:
    """The ApplicationSet of the app (named `app.name`) or of one service, named after it."""
    return f"{OUTPUT.folder}/{service}.yaml"


def app_appset_path(spec: Spec) -> str:
    return service_appset_path(spec.app_name)


def folder_appset_path(delivery: EnvironmentFolders) -> str:
    return f"{OUTPUT.folder}/{delivery.name}.yaml"


def folder_appset_name(spec: Spec, delivery: EnvironmentFolders) -> str:
    return f"{spec.project}-{delivery.name}"


def values_file(spec: Spec, catalog: Catalog, service: str | None = None) -> str:
    """The environment's values file as the ApplicationSet names it: relative to the chart
    (`<service>/<env>.yaml` below the values folder in the services form)."""
    folder = catalog.chart_values().folder
    return posixpath.relpath(values_file_of(folder, ENV, service), spec.chart_path)


def application_names(spec: Spec, catalog: Catalog, env: Environment) -> list[str]:
    """The Applications the ApplicationSets create for the target: the app's or the service's
    (`<release>-<env>`), then one per environment folder it has (`<project>-<name>-<env>`)."""
    return [f"{env.release}-{env.name}"] + [
        f"{folder_appset_name(spec, delivery)}-{env.name}"
        for _, delivery in catalog.environment_folders()
        if delivery.destination(env) is not None
    ]


def _app_appset(
    spec: Spec, catalog: Catalog, release: str, targets: tuple[Environment, ...]
) -> str:
    service = release if spec.services_form else None
    return render_template(
        "applicationset-fastapi.yaml.j2",
        spec.source,
        spec=spec,
        release=release,
        service=service,
        targets=targets,
        chart_path=spec.chart_path,
        values_file=values_file(spec, catalog, service),
        sync_patch=sync_patch(True),
        hydrated=hydrated.sources(spec, release),
    )


def render_applicationsets(spec: Spec, catalog: Catalog) -> dict[str, str]:
    files = RenderedFiles()
    if not spec.services_form:
        text = _app_appset(spec, catalog, spec.app_name, spec.environments)
        files.add(app_appset_path(spec), text, f"the ApplicationSet of {spec.app_name}")
    for service in spec.services:
        targets = tuple(env for env in spec.environments if env.service == service)
        if targets:
            text = _app_appset(spec, catalog, service, targets)
            files.add(
                service_appset_path(service), text, f"the ApplicationSet of service {service}"
            )
    for output, delivery in catalog.environment_folders():
        for path, text in _folder_appset(spec, output, delivery).items():
            files.add(path, text, f"the ApplicationSet of {delivery.title}")
    return files.files


def _folder_appset(spec: Spec, output: Output, delivery: EnvironmentFolders) -> dict[str, str]:
    """The ApplicationSet of an output synced per environment folder, one element per
    environment (its services share it); none when no environment has one (the MetalLB
    ApplicationSet of a spec without MetalLB)."""
    destinations = [
        (env, namespace)
        for env in spec.by_environment()
        if (namespace := delivery.destination(env)) is not None
    ]
    if not destinations:
        return {}
    return {
        folder_appset_path(delivery): render_template(
            "applicationset-folder.yaml.j2",
            spec.source,
            spec=spec,
            delivery=delivery,
            folder=output.folder,
            appset_name=folder_appset_name(spec, delivery),
            destinations=destinations,
            synced_folder=f"{output.folder}/{ENV}",
            sync_patch=sync_patch(delivery.create_namespace),
            hydrated=hydrated.sources(spec, output.folder),
        )
    }
