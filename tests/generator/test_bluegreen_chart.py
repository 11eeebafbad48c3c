"""Blue-green of the serving image: the chart rendered with real Helm from the `blue-green` golden
case's values, checked against the Kubernetes schemas and the upstream CRDs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from gitopsgen.render.values import build_values
from gitopsgen.spec.load import parse_spec
from gitopsgen.spec.model import Environment
from gitopsgen.validate.crds import load_crd_dirs
from gitopsgen.validate.documents import DocumentRef, SchemaSet, check_documents
from gitopsgen.validate.kube import DEFAULT_KUBE_VERSION, kube_validator
from gitopsgen.yamlsource import load_documents
from tests.support import REPO, Invoke, golden_repository

CASE = "blue-green"
CHART = REPO / "apps/fastapi/chart"
SPEC_TEXT = (REPO / "tests/generator/golden" / CASE / "spec.yaml").read_text()
COLOR = "gitopsgen.io/color"


def environment(name: str, text: str = SPEC_TEXT) -> Environment:
    spec, _ = parse_spec(text, "environments/environments.yaml")
    return spec.environment(name)


def render_env(env: Environment, **extra: Any) -> dict[str, str]:
    values = {**build_values(env), **extra}
    out: dict[str, str] = helm.Chart.load(CHART).render(
        values, name="fastapi", namespace=env.namespace, is_install=True
    )
    return {n: t for n, t in out.items() if not n.endswith(".txt")}


def objects(env: Environment, **extra: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) -> manifest."""
    return {
        (d["kind"], d["metadata"]["name"]): d
        for text in render_env(env, **extra).values()
        for d in yaml.safe_load_all(text)
        if d
    }


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container["env"]}


def test_two_deployments_each_with_its_own_image_alias_and_colour() -> None:
    prod = environment("prod")
    docs = objects(prod)
    for colour, tag, alias, replicas in (("blue", "1.4.0", "A", 3), ("green", "1.5.0", "B", 3)):
        deployment = docs[("Deployment", f"fastapi-{colour}")]
        pod = deployment["spec"]["template"]
        assert deployment["spec"]["selector"]["matchLabels"][COLOR] == colour
        assert pod["metadata"]["labels"][COLOR] == colour
        assert pod["metadata"]["labels"]["app.kubernetes.io/version"] == tag
        assert pod["spec"]["containers"][0]["image"] == f"docker.io/example-org/model-api:{tag}"
        assert deployment["spec"]["replicas"] == replicas
        env = env_of(deployment)
        assert env["DEFAULT_ALIAS"] == alias
        assert env["ALIAS_SELECTION_MODE"] == "blue_green"
        assert (env["APP_COLOR"], env["APP_VERSION"]) == (colour, tag)
        assert env["PREVIEW_URL"] == "http://fastapi-preview:80"
        assert env["PREVIEW_SHADOW_PERCENT"] == "10"
    assert ("Deployment", "fastapi") not in docs


def test_the_service_selects_the_active_colour_and_preview_the_other() -> None:
    for name, active, idle in (("prod", "blue", "green"), ("dev", "green", "blue")):
        docs = objects(environment(name))
        assert docs[("Service", "fastapi")]["spec"]["selector"][COLOR] == active
        assert docs[("Service", "fastapi-preview")]["spec"]["selector"][COLOR] == idle


def test_a_switch_changes_only_the_selectors_and_replicas_never_the_pods() -> None:
    """The pods' template does not depend on which colour is active: a switch restarts none."""
    blue_active = objects(environment("staging"))
    green_active = objects(
        environment(
            "staging", SPEC_TEXT.replace("idleReplicas: 1}", "idleReplicas: 1, active: green}")
        )
    )
    for colour in ("blue", "green"):
        key = ("Deployment", f"fastapi-{colour}")
        assert blue_active[key]["spec"]["template"] == green_active[key]["spec"]["template"]
    assert blue_active[("Deployment", "fastapi-blue")]["spec"]["replicas"] == 2
    assert green_active[("Deployment", "fastapi-blue")]["spec"]["replicas"] == 1
    assert green_active[("Service", "fastapi")]["spec"]["selector"][COLOR] == "green"
    assert green_active[("Service", "fastapi-preview")]["spec"]["selector"][COLOR] == "blue"


def test_an_idle_colour_at_zero_has_no_pdb_and_no_hpa() -> None:
    dev = environment("dev")  # green active, idleReplicas 0
    docs = objects(
        dev,
        autoscaling={
            "enabled": True,
            "minReplicas": 2,
            "maxReplicas": 6,
            "targetCPUUtilizationPercentage": 70,
        },
    )
    assert docs[("Deployment", "fastapi-blue")]["spec"]["replicas"] == 0
    assert "replicas" not in docs[("Deployment", "fastapi-green")]["spec"]  # the HPA owns it
    assert {k for k in docs if k[0] in ("PodDisruptionBudget", "HorizontalPodAutoscaler")} == {
        ("PodDisruptionBudget", "fastapi-green"),
        ("HorizontalPodAutoscaler", "fastapi-green"),
    }
    hpa = docs[("HorizontalPodAutoscaler", "fastapi-green")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "fastapi-green"
    pdb = docs[("PodDisruptionBudget", "fastapi-green")]
    assert pdb["spec"]["selector"]["matchLabels"][COLOR] == "green"


def test_per_colour_hpas_hold_the_idle_colour_at_idle_replicas() -> None:
    staging = environment("staging")  # blue active, idleReplicas 1
    docs = objects(
        staging,
        autoscaling={
            "enabled": True,
            "minReplicas": 2,
            "maxReplicas": 6,
            "targetCPUUtilizationPercentage": 70,
        },
    )
    assert docs[("HorizontalPodAutoscaler", "fastapi-blue")]["spec"]["minReplicas"] == 2
    idle = docs[("HorizontalPodAutoscaler", "fastapi-green")]
    assert idle["spec"]["minReplicas"] == 1
    assert idle["spec"]["scaleTargetRef"]["name"] == "fastapi-green"


def test_nginx_preview_ingress_has_the_same_allow_list_and_the_preview_service() -> None:
    docs = objects(environment("staging"))
    live, preview = docs[("Ingress", "fastapi")], docs[("Ingress", "fastapi-preview")]
    assert preview["metadata"]["annotations"] == live["metadata"]["annotations"]
    assert preview["metadata"]["annotations"]  # the allow-list is there
    rule = preview["spec"]["rules"][0]
    assert rule["host"] == "fastapi-staging-preview.example.internal"
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "fastapi-preview"
    assert preview["spec"]["tls"][0]["hosts"] == ["fastapi-staging-preview.example.internal"]


def test_traefik_preview_route_carries_the_allow_list_middleware() -> None:
    docs = objects(environment("dev"))
    live, preview = docs[("HTTPRoute", "fastapi")], docs[("HTTPRoute", "fastapi-preview")]
    assert preview["spec"]["hostnames"] == ["fastapi-dev-preview.example.internal"]
    assert preview["spec"]["rules"][0]["backendRefs"][0]["name"] == "fastapi-preview"
    assert preview["spec"]["rules"][0]["filters"] == live["spec"]["rules"][0]["filters"]
    assert preview["spec"]["parentRefs"] == live["spec"]["parentRefs"]


def test_envoy_gateway_security_policy_covers_both_routes_and_the_gateway_listens_for_both() -> (
    None
):
    docs = objects(environment("prod"))
    policy = docs[("SecurityPolicy", "fastapi-allow-list")]
    assert [t["name"] for t in policy["spec"]["targetRefs"]] == ["fastapi", "fastapi-preview"]
    listeners = {
        lst["name"]: lst["hostname"] for lst in docs[("Gateway", "fastapi")]["spec"]["listeners"]
    }
    assert listeners == {
        "https": "fastapi.example.internal",
        "https-preview": "fastapi-preview.example.internal",
    }
    preview = docs[("HTTPRoute", "fastapi-preview")]
    assert preview["spec"]["parentRefs"][0]["sectionName"] == "https-preview"


def test_without_preview_host_no_preview_route() -> None:
    text = SPEC_TEXT.replace("      previewHost: fastapi-preview.example.internal\n", "")
    docs = objects(environment("prod", text))
    assert ("HTTPRoute", "fastapi-preview") not in docs
    assert ("Service", "fastapi-preview") in docs  # the mirror still needs it


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_core_manifest_validates_against_the_kubernetes_schemas(env: str) -> None:
    checked = set()
    for doc in objects(environment(env)).values():
        validator = kube_validator(DEFAULT_KUBE_VERSION, doc["apiVersion"], doc["kind"])
        if validator is None:
            continue  # CRD kinds: below, against the upstream CRDs
        assert [e.message for e in validator.iter_errors(doc)] == [], doc["metadata"]["name"]
        checked.add(doc["kind"])
    assert {"Deployment", "Service", "PodDisruptionBudget"} <= checked


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_crd_kinds_validate_against_the_upstream_crds(env: str, shared_crds: Path) -> None:
    schemas = SchemaSet(DEFAULT_KUBE_VERSION, load_crd_dirs([shared_crds]))
    kinds = set()
    for name, text in render_env(environment(env)).items():
        docs, problems = load_documents(text)
        assert not problems, name
        assert check_documents(docs, DocumentRef(name), schemas) == [], name
        kinds |= {(d.data["kind"], d.data["metadata"]["name"]) for d in docs}
    assert ("HTTPRoute", "fastapi-preview") in kinds


def test_the_golden_case_validates_clean(
    tmp_path: Path, run_cli: Invoke, shared_crds: Path
) -> None:
    root = golden_repository(tmp_path / "repo", CASE)
    result = run_cli(
        "validate", "--root", root, "--crd-dir", shared_crds, "--format", "json", expect=0
    )
    assert json.loads(result.stdout) == []
