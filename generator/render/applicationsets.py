"""applicationsets/: the ApplicationSets of the app and of MetalLB, one element per environment.
In the services form each service has its own, `applicationsets/<service>.yaml`, one element
per environment that runs it: one Application `<service>-<environment>` each."""

from __future__ import annotations

import posixpath

from gitopsgen.render import metallb, values
from gitopsgen.render.files import RenderedFiles
from gitopsgen.render.jinja import render_template
from gitopsgen.render.output import APPLICATION_SET, Catalog, Output
from gitopsgen.spec.model import Environment, Spec

# Synced by the root Application into Argo CD's namespace.
OUTPUT = Output(folder="applicationsets", kubernetes_objects=True, kinds=(APPLICATION_SET,))
CHART_PATH = "apps/fastapi/chart"
FASTAPI_APPSET = f"{OUTPUT.folder}/fastapi.yaml"
METALLB_APPSET = f"{OUTPUT.folder}/metallb.yaml"
# Spec fields written into the ApplicationSets' `template`, which Argo CD evaluates as Go
# templates (goTemplate: true). The list elements are data, never evaluated, so per-environment
# values are safe there; these fields must not hold template delimiters (policy GG141).
GO_TEMPLATED_FIELDS = (
    ("app", "name"),
    ("argocd", "namespace"),
    ("argocd", "project"),
    ("repo", "url"),
    ("repo", "targetRevision"),
)
# What the ApplicationSets point Argo CD at, as Go templates over an element's `.env`.
VALUES_FILE = posixpath.relpath(values.values_file("{{ .env }}"), CHART_PATH)
METALLB_FOLDER = metallb.env_folder("{{ .env }}")


def service_appset_path(service: str) -> str:
    """The services form: each service's ApplicationSet, named after it."""
    return f"{OUTPUT.folder}/{service}.yaml"


def service_values_file(service: str) -> str:
    """A service's value file, relative to the chart, as a Go template over `.env`."""
    return posixpath.relpath(values.values_file("{{ .env }}", service), CHART_PATH)


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


def _app_appset(spec: Spec, release: str, targets: tuple[Environment, ...], value: str) -> str:
    return render_template(
        "applicationset-fastapi.yaml.j2",
        spec.source,
        spec=spec,
        release=release,
        service=release if spec.services_form else None,
        targets=targets,
        chart_path=CHART_PATH,
        values_file=value,
        sync_patch=sync_patch(True),
    )


def render_applicationsets(spec: Spec, _catalog: Catalog) -> dict[str, str]:
    files = RenderedFiles()
    if not spec.services_form:
        text = _app_appset(spec, spec.app_name, spec.environments, VALUES_FILE)
        files.add(FASTAPI_APPSET, text, f"the ApplicationSet of {spec.app_name}")
    for service in spec.services:
        targets = tuple(env for env in spec.environments if env.service == service)
        if targets:
            text = _app_appset(spec, service, targets, service_values_file(service))
            files.add(
                service_appset_path(service), text, f"the ApplicationSet of service {service}"
            )
    metallb_text = render_template(
        "applicationset-metallb.yaml.j2",
        spec.source,
        spec=spec,
        sites=spec.by_environment(),
        synced_folder=METALLB_FOLDER,
        sync_patch=sync_patch(False),
    )
    files.add(METALLB_APPSET, metallb_text, "the ApplicationSet of MetalLB")
    return files.files
