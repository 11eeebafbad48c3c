"""applicationsets/: the ApplicationSets of the app and of MetalLB, one element per environment."""

from __future__ import annotations

from generator.model import Spec
from generator.render.jinja import render_template

CHART_PATH = "apps/fastapi/chart"
FASTAPI_APPSET = "applicationsets/fastapi.yaml"
METALLB_APPSET = "applicationsets/metallb.yaml"

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


def render_applicationsets(spec: Spec) -> dict[str, str]:
    return {
        FASTAPI_APPSET: render_template(
            "applicationset-fastapi.yaml.j2",
            spec.source,
            spec=spec,
            chart_path=CHART_PATH,
            sync_patch=sync_patch(True),
        ),
        METALLB_APPSET: render_template(
            "applicationset-metallb.yaml.j2", spec.source, spec=spec, sync_patch=sync_patch(False)
        ),
    }
