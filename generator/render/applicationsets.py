"""applicationsets/: the ApplicationSets of the app and of MetalLB, one element per environment."""

from __future__ import annotations

import posixpath

from gitopsgen.render import metallb, values
from gitopsgen.render.jinja import render_template
from gitopsgen.render.output import APPLICATION_SET, Catalog, Output
from gitopsgen.spec.model import Spec

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
VALUES_FILE = posixpath.relpath(values.values_path("{{ .env }}"), CHART_PATH)
METALLB_FOLDER = metallb.env_folder("{{ .env }}")

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


def render_applicationsets(spec: Spec, _catalog: Catalog) -> dict[str, str]:
    return {
        FASTAPI_APPSET: render_template(
            "applicationset-fastapi.yaml.j2",
            spec.source,
            spec=spec,
            chart_path=CHART_PATH,
            values_file=VALUES_FILE,
            sync_patch=sync_patch(True),
        ),
        METALLB_APPSET: render_template(
            "applicationset-metallb.yaml.j2",
            spec.source,
            spec=spec,
            synced_folder=METALLB_FOLDER,
            sync_patch=sync_patch(False),
        ),
    }
