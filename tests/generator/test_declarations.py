"""Renderers declare their folder, the kinds they emit and whether those are Kubernetes objects;
the registry, the AppProject, our schemas, the pinned CRDs and the validator read that."""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from gitopsgen.errors import RenderError
from gitopsgen.render.output import InArgoCdNamespace, Output
from gitopsgen.render.registry import (
    CATALOG,
    OUTPUT_DIRS,
    RENDERERS,
    Renderer,
    declared_kinds,
    deployed_kinds,
    output_of,
    render_all,
)
from gitopsgen.spec.load import parse_spec
from gitopsgen.validate.crd_fetch import PINNED
from gitopsgen.validate.documents import OWN_SCHEMA_FILES
from tests.support import REPO

GOLDEN = Path(__file__).parent / "golden"
SCHEMAS = REPO / "generator/schemas"


def golden_spec(case: str = "three-envs") -> Any:
    spec, _ = parse_spec(
        (GOLDEN / case / "spec.yaml").read_text(), "environments/environments.yaml"
    )
    return spec


def test_every_rendered_path_lies_in_its_renderers_declared_folder() -> None:
    spec = golden_spec()
    for renderer in RENDERERS:
        for path in renderer.render(spec, CATALOG):
            assert renderer.output.holds(path), (renderer.render.__name__, path)
            assert output_of(path) is not None
            assert output_of(path).folder == renderer.output.folder  # type: ignore[union-attr]
    assert set(OUTPUT_DIRS) == {r.output.folder for r in RENDERERS}


def test_a_path_outside_the_declared_folder_fails_the_render(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def render_stray(_spec: Any, _catalog: Any) -> dict[str, str]:
        return {"elsewhere/stray.yaml": "a: 1\n"}

    by_hand = InArgoCdNamespace(by_root_app=False)
    stray = Renderer(
        render_stray, Output(folder="metallb", kubernetes_objects=True, delivery=by_hand)
    )
    monkeypatch.setattr("gitopsgen.render.registry.RENDERERS", (*RENDERERS, stray))
    with pytest.raises(RenderError, match=r"elsewhere/stray.yaml is rendered outside metallb/"):
        render_all(golden_spec())


@pytest.mark.parametrize("path", ["metallb", "metallbx/a.yaml", "metallb/../bootstrap/x.yaml"])
def test_holds_is_a_folder_prefix_not_a_string_prefix(path: str) -> None:
    by_hand = InArgoCdNamespace(by_root_app=False)
    assert not Output(folder="metallb", kubernetes_objects=True, delivery=by_hand).holds(path)


def test_rendered_documents_are_the_kinds_their_renderer_declares() -> None:
    files = render_all(golden_spec())
    for path, text in files.items():
        output = output_of(path)
        assert output is not None
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
        if not output.kubernetes_objects:
            assert all("apiVersion" not in d for d in docs), path
            continue
        emitted = {(d["apiVersion"], d["kind"]) for d in docs}
        same_folder = declared_kinds(output.folder)
        assert emitted <= {(k.api_version, k.kind) for k in same_folder}, path


def test_the_appproject_allows_exactly_what_the_folders_deploy() -> None:
    files = render_all(golden_spec())
    project = yaml.safe_load(files["applicationsets/project.yaml"])
    allowed = [(k["group"], k["kind"]) for k in project["spec"]["namespaceResourceWhitelist"]]
    assert allowed == [(k.group, k.kind) for k in deployed_kinds()]


def test_what_the_chart_creates_is_declared_by_the_values_renderer() -> None:
    """The chart with every optional part on creates only kinds the AppProject allows."""
    values: dict[str, Any] = yaml.safe_load((REPO / "apps/fastapi/chart/values.yaml").read_text())
    values["env"].update({"MLFLOW_TRACKING_URI": "http://m:5000", "MODEL_NAME": "m"})
    values["ingress"].update({"enabled": True, "host": "h.example", "tlsSecretName": "t"})
    for part in ("persistence", "podDisruptionBudget", "autoscaling"):
        values[part]["enabled"] = True
    values["autoscaling"].update({"minReplicas": 2, "maxReplicas": 3})
    chart = helm.Chart.load(REPO / "apps/fastapi/chart")
    created: set[tuple[str, str]] = set()
    # the Ingress, then each Gateway API provider with a Gateway of its own and an allow-list
    for provider in (None, "envoy-gateway", "traefik"):
        if provider is not None:
            values["gatewayApi"].update(
                {"enabled": True, "provider": provider, "allowList": ["10.0.0.0/8"]}
            )
            values["gatewayApi"]["gateway"]["create"] = True
        out = chart.render(values, name="fastapi", namespace="ns", is_install=True)
        created |= {
            (d["apiVersion"], d["kind"])
            for name, text in out.items()
            if not name.endswith(".txt")
            for d in yaml.safe_load_all(text)
            if d
        }
    from gitopsgen.render import values as values_renderer

    assert created == {(k.api_version, k.kind) for k in values_renderer.OUTPUT.deploys}


def test_own_schemas_and_pinned_crds_cover_every_declared_custom_kind() -> None:
    custom = [k for k in declared_kinds() if k.crd is not None]
    assert {k.kind for k in custom} == {
        "ApplicationSet",
        "AppProject",
        "Application",
        "IPAddressPool",
        "L2Advertisement",
        "GitRepository",
        "PromotionStrategy",
        "ArgoCDCommitStatus",
    }
    for kind in custom:
        schema_file = OWN_SCHEMA_FILES[kind.api_version]
        defs = json.loads((SCHEMAS / schema_file).read_text())["$defs"]
        assert kind.kind in defs, (schema_file, kind.kind)
        assert kind.crd is not None
        assert PINNED[kind.crd.path] == kind.crd


def test_the_applicationsets_sync_the_declared_folders() -> None:
    files = render_all(golden_spec())
    fastapi = yaml.safe_load(files["applicationsets/fastapi.yaml"])
    metallb = yaml.safe_load(files["applicationsets/metallb.yaml"])
    root = [d for d in yaml.safe_load_all(files["bootstrap/root-app.yaml"]) if d]
    source = fastapi["spec"]["template"]["spec"]["source"]
    value_file = posixpath.normpath(posixpath.join(source["path"], source["helm"]["valueFiles"][1]))
    values_output = output_of(value_file.replace("{{ .env }}", "dev"))
    assert values_output is not None
    assert not values_output.kubernetes_objects
    metallb_path = metallb["spec"]["template"]["spec"]["source"]["path"]
    metallb_output = output_of(metallb_path.replace("{{ .env }}", "dev") + "/x.yaml")
    assert metallb_output is not None
    assert metallb_output.kinds == declared_kinds("metallb")
    app = next(d for d in root if d["kind"] == "Application")
    synced = app["spec"]["source"]["path"]
    assert output_of(synced + "/x.yaml") is not None
    project = next(d for d in root if d["kind"] == "AppProject")
    allowed = [(k["group"], k["kind"]) for k in project["spec"]["namespaceResourceWhitelist"]]
    assert allowed == [(k.group, k.kind) for k in declared_kinds(synced)]
