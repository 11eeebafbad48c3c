"""The serving app's Helm chart, rendered with real Helm (helm-python-sdk) for every environment."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from gitopsgen.render.values import WHITELIST_ANNOTATION, app_environment
from gitopsgen.spec.load import parse_spec
from gitopsgen.validate.kube import DEFAULT_KUBE_VERSION, kube_validator
from tests.support import FROZEN, FROZEN_SPEC_TEXT, REPO, SPEC

CHART = REPO / "apps/fastapi/chart"
SPEC_MODEL, _ = parse_spec(FROZEN_SPEC_TEXT, SPEC)
ENVS = SPEC_MODEL.names


def values_of(env: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (FROZEN / f"expected/apps/fastapi/values/{env}.yaml").read_text()
    )
    return loaded


def render(values: dict[str, Any], release: str = "fastapi") -> dict[str, dict[str, Any]]:
    """kind -> manifest (one of each kind in this chart)."""
    out = helm.Chart.load(CHART).render(values, name=release, namespace="ns", is_install=True)
    docs = [
        d
        for name, text in out.items()
        if not name.endswith(".txt")
        for d in yaml.safe_load_all(text)
        if d
    ]
    by_kind = {d["kind"]: d for d in docs}
    assert len(by_kind) == len(docs)
    return by_kind


def container(manifests: dict[str, dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = manifests["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    return result


@pytest.mark.parametrize("env", ENVS)
def test_every_manifest_validates_strictly(env: str) -> None:
    manifests = render(values_of(env))
    assert set(manifests) == {
        "Deployment",
        "Service",
        "Ingress",
        "ServiceAccount",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
    }
    for doc in manifests.values():
        validator = kube_validator(DEFAULT_KUBE_VERSION, doc["apiVersion"], doc["kind"])
        assert validator is not None
        assert [e.message for e in validator.iter_errors(doc)] == []


@pytest.mark.parametrize("env", ENVS)
def test_ingress_carries_exactly_the_allow_list_and_tls(env: str) -> None:
    spec_env = SPEC_MODEL.environment(env)
    ingress = render(values_of(env))["Ingress"]
    assert ingress["metadata"]["annotations"] == {
        WHITELIST_ANNOTATION: ",".join(spec_env.ingress.whitelist)
    }
    assert ingress["spec"]["tls"] == [
        {"hosts": [spec_env.ingress.host], "secretName": spec_env.ingress.tls_secret_name}
    ]
    assert ingress["spec"]["ingressClassName"] == spec_env.ingress.class_name
    assert ingress["spec"]["rules"][0]["host"] == spec_env.ingress.host


@pytest.mark.parametrize("env", ENVS)
def test_deployment_environment_matches_the_spec(env: str) -> None:
    spec_env = SPEC_MODEL.environment(env)
    manifests = render(values_of(env))
    variables = {e["name"]: e["value"] for e in container(manifests)["env"]}
    for name, value in app_environment(spec_env).items():
        assert variables[name] == value, name
    assert variables["ALIAS_SELECTION_MODE"] == spec_env.serving.mode
    assert variables["DEFAULT_ALIAS"] == spec_env.serving.default_alias
    assert manifests["Deployment"]["spec"]["replicas"] == spec_env.replicas
    assert container(manifests)["image"] == spec_env.image.reference


def test_probes_security_and_secret_references() -> None:
    manifests = render(values_of("prod"))
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    app = container(manifests)
    assert app["readinessProbe"]["httpGet"]["path"] == "/health"
    assert app["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert app["envFrom"] == [{"secretRef": {"name": "fastapi-secrets", "optional": True}}]
    assert not {"RELOAD_SECRET_TOKEN", "SLACK_WEBHOOK_URL"} & {e["name"] for e in app["env"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["fsGroup"] == 10001
    assert app["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    mounts = {m["mountPath"] for m in app["volumeMounts"]}
    assert mounts == {"/app/logs", "/tmp"}
    strategy = manifests["Deployment"]["spec"]["strategy"]
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    labels = manifests["Service"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/instance"] == "fastapi"
    assert labels["app.kubernetes.io/name"] == "fastapi"


def test_turning_ingress_pvc_and_pdb_off_removes_them_and_hpa_on_adds_it() -> None:
    values = values_of("prod")
    values["ingress"] = {"enabled": False}
    values["persistence"] = {"enabled": False}
    values["podDisruptionBudget"] = {"enabled": False}
    values["autoscaling"] = {"enabled": True, "minReplicas": 2, "maxReplicas": 5}
    manifests = render(values)
    assert set(manifests) == {"Deployment", "Service", "ServiceAccount", "HorizontalPodAutoscaler"}
    assert "replicas" not in manifests["Deployment"]["spec"]  # the HPA owns it
    volumes = manifests["Deployment"]["spec"]["template"]["spec"]["volumes"]
    assert {"name": "logs", "emptyDir": {}} in volumes
    assert manifests["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] == 5


def test_names_derive_from_the_release() -> None:
    one = render(values_of("dev"), release="fastapi")
    two = render(values_of("dev"), release="canary")
    assert one["Deployment"]["metadata"]["name"] == "fastapi"
    assert two["Deployment"]["metadata"]["name"] == "canary-fastapi"
    assert two["PersistentVolumeClaim"]["metadata"]["name"] == "canary-fastapi-logs"


@pytest.mark.parametrize("env", ENVS)
def test_helm_lint_is_clean(env: str) -> None:
    report = helm.lint(CHART, values_of(env), strict=True)
    assert report["errors"] == []
    assert report["messages"] == []


def _set(values: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(values)
    target = out
    *parents, last = dotted.split("/")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value
    return out


WRONG_VALUES = [
    ("replicaCount", "two", "/replicaCount"),
    ("env/ALIAS_SELECTION_MODE", "shadow", "/env/ALIAS_SELECTION_MODE"),
    ("env/DEFAULT_ALIAS", "C", "/env/DEFAULT_ALIAS"),
    ("env/CANARY_PERCENT", "150", "/env/CANARY_PERCENT"),
    (
        "ingress/annotations/nginx.ingress.kubernetes.io~1whitelist-source-range",
        "10.0.0.0/8,everyone",
        "whitelist-source-range",
    ),
    ("env/RELOAD_SECRET_TOKEN", "hunter2", "/env/RELOAD_SECRET_TOKEN"),
    ("service/port", 70000, "/service/port"),
    ("persistence/accessMode", "ReadWriteSometimes", "/persistence/accessMode"),
    ("replicaCunt", 3, "replicaCunt"),
]


@pytest.mark.parametrize(
    ("field", "value", "where"), WRONG_VALUES, ids=[w[0] for w in WRONG_VALUES]
)
def test_values_schema_rejects_wrong_values(field: str, value: Any, where: str) -> None:
    key = field.replace("~1", "/")
    parts = key.split("/")
    if key.startswith("ingress/annotations/"):
        values = copy.deepcopy(values_of("prod"))
        values["ingress"]["annotations"][key.removeprefix("ingress/annotations/")] = value
    else:
        values = _set(values_of("prod"), "/".join(parts), value)
    with pytest.raises(helm.HelmValuesError) as caught:
        helm.Chart.load(CHART).render(values, name="fastapi")
    assert where in str(caught.value)


def test_default_values_render_and_validate() -> None:
    manifests = render({})
    assert manifests["Deployment"]["spec"]["replicas"] == 2


def test_chart_directory_is_complete() -> None:
    names = {p.name for p in (CHART / "templates").iterdir()}
    assert {
        "NOTES.txt",
        "deployment.yaml",
        "service.yaml",
        "ingress.yaml",
        "pvc.yaml",
        "serviceaccount.yaml",
        "pdb.yaml",
        "hpa.yaml",
    } <= names
    assert (CHART / "values.schema.json").is_file()
    assert Path(CHART / "values.yaml").read_text().count("ReadWriteMany") >= 1
