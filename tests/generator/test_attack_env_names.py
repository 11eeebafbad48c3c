"""helmValues.env cannot inject or override environment entries (issue 12, item 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from gitopsgen.errors import SpecError
from gitopsgen.spec.load import parse_spec
from gitopsgen.validate.policies import check_spec_policies
from tests.support import REPO

SPEC = (Path(__file__).parent / "golden/three-envs/spec.yaml").read_text()
HELM_VALUES = "    helmValues:\n      persistence: {enabled: false}\n"
INJECTION = "X\n  - name: RELOAD_SECRET_TOKEN\n    value: known"
CHART = REPO / "apps/fastapi/chart"


def _env(entries: str) -> str:
    return SPEC.replace(HELM_VALUES, HELM_VALUES + f"      env: {entries}\n", 1)


def test_a_name_with_a_newline_is_refused_by_the_spec_schema() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(_env("{" + yaml.safe_dump(INJECTION).strip() + ": v}"), "e.yaml")
    assert any("helmValues.env" in f.path for f in caught.value.findings)


@pytest.mark.parametrize(
    "name", ["MODEL_NAME", "DEFAULT_ALIAS", "RELOAD_SECRET_TOKEN", "MODEL_VERSION_A"]
)
def test_a_reserved_name_is_gg140(name: str) -> None:
    value = "''" if name == "RELOAD_SECRET_TOKEN" else "other"
    spec, doc = parse_spec(_env(f"{{{name}: {value}}}"), "e.yaml")
    found = [f for f in check_spec_policies(spec, doc) if f.id == "GG140"]
    assert [f.path for f in found] == [f"environments.dev.helmValues.env.{name}"]


def _values() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    loaded["env"].update({"MLFLOW_TRACKING_URI": "http://m:5000", "MODEL_NAME": "m"})
    return loaded


def test_the_chart_schema_refuses_an_injected_name() -> None:
    values = _values()
    values["env"][INJECTION] = "v"
    with pytest.raises(helm.HelmError):
        helm.Chart.load(CHART).render(values, name="fastapi", namespace="ns", is_install=True)


def test_the_chart_refuses_a_secret_key_in_env() -> None:
    values = _values()
    values["env"]["RELOAD_SECRET_TOKEN"] = "known"
    with pytest.raises(helm.HelmError):  # the values schema, and the template's own guard
        helm.Chart.load(CHART).render(values, name="fastapi", namespace="ns", is_install=True)


def test_the_chart_quotes_names_and_values() -> None:
    values = _values()
    values["env"]["ODD"] = "a: b\n- c"
    values["image"]["tag"] = "1.0: x"
    out = helm.Chart.load(CHART).render(values, name="fastapi", namespace="ns", is_install=True)
    deployment = yaml.safe_load(out["fastapi/templates/deployment.yaml"])
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "ODD", "value": "a: b\n- c"} in container["env"]
    assert container["image"].endswith(":1.0: x")
