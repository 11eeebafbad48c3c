"""The environment the Helm chart sets is exactly what the app's settings read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

pytest.importorskip("pydantic_settings", reason="the serving extra is not installed")

from app.config import Settings, SettingsError, load_settings, variables  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "apps/fastapi/chart"
# Keys of the chart's one Secret, reaching the pod through envFrom (never through values).
SECRET_KEYS = {"RELOAD_SECRET_TOKEN", "SLACK_WEBHOOK_URL"}


def rendered_env(values: dict[str, Any]) -> dict[str, str]:
    out = helm.Chart.load(CHART).render(values, name="fastapi", namespace="ns", is_install=True)
    docs = [d for n, t in out.items() if not n.endswith(".txt") for d in yaml.safe_load_all(t) if d]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"][0]["secretRef"]["name"]
    return {e["name"]: e["value"] for e in container["env"]}


@pytest.mark.parametrize("env", ["defaults", "dev", "prod"])
def test_the_chart_sets_exactly_what_the_settings_read(env: str) -> None:
    values: dict[str, Any] = (
        {}
        if env == "defaults"
        else yaml.safe_load((REPO / f"apps/fastapi/values/{env}.yaml").read_text())
    )
    chart_env = rendered_env(values)
    read = set(variables())
    assert set(chart_env) | SECRET_KEYS == read, (
        f"set by the chart but ignored by the app: {sorted(set(chart_env) - read)}; "
        f"read by the app but not set by the chart: {sorted(read - set(chart_env) - SECRET_KEYS)}"
    )
    assert not SECRET_KEYS & set(chart_env)  # those only ever come from the Secret
    # and the chart's values are ones the settings accept
    load_settings(chart_env)


def test_the_values_schema_declares_every_setting() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    declared = set(schema["properties"]["env"]["properties"])
    assert declared == set(variables())


def test_the_chart_defaults_are_the_settings_defaults() -> None:
    chart_env = rendered_env({})
    from_chart = load_settings(chart_env)
    own = Settings(
        tracking_uri=chart_env["MLFLOW_TRACKING_URI"], model_name=chart_env["MODEL_NAME"]
    )
    assert from_chart == own


def test_a_setting_error_names_the_variable_and_value() -> None:
    base = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000", "MODEL_NAME": "m"}
    with pytest.raises(SettingsError, match=r"MAX_BODY_BYTES='lots': Input should be a valid"):
        load_settings({**base, "MAX_BODY_BYTES": "lots"})
    with pytest.raises(SettingsError, match=r"REGISTRY_TIMEOUT_SECONDS='0': .*greater than"):
        load_settings({**base, "REGISTRY_TIMEOUT_SECONDS": "0"})
    with pytest.raises(SettingsError, match=r"^MODEL_NAME is not set$"):
        load_settings({"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000"})
    # empty means the default, as the chart's `SHADOW_ALIAS: ""` relies on
    assert load_settings({**base, "SHADOW_ALIAS": "", "REQUEST_LOG": "false"}).shadow_alias == ""


def test_the_readme_documents_every_setting_with_its_default() -> None:
    """apps/fastapi/README.md's table: every variable, and a number's default as the settings
    have it (the settings are the one home of a default)."""
    rows = {
        name: default.strip()
        for name, default in re.findall(
            r"^\| `([A-Z_]+)` \|.*\| ([^|]+) \|$",
            (REPO / "apps/fastapi/README.md").read_text(),
            re.M,
        )
    }
    assert set(variables()) <= set(rows), sorted(set(variables()) - set(rows))
    for name, field in Settings.model_fields.items():
        if isinstance(field.default, int | float) and not isinstance(field.default, bool):
            documented = rows[str(field.alias)].split()[0]
            assert float(documented) == field.default, (name, documented)


def test_the_probes_allow_for_the_bounded_wait_behind_admitted_parsing() -> None:
    out = helm.Chart.load(CHART).render({}, name="fastapi", namespace="ns", is_install=True)
    deployment = next(
        d
        for n, t in out.items()
        if not n.endswith(".txt")
        for d in yaml.safe_load_all(t)
        if d and d["kind"] == "Deployment"
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["timeoutSeconds"] == 5
    assert container["readinessProbe"]["timeoutSeconds"] == 5


def rendered_envs(values: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Deployment name -> its container's environment, for every Deployment rendered."""
    out = helm.Chart.load(CHART).render(values, name="fastapi", namespace="ns", is_install=True)
    docs = [d for n, t in out.items() if not n.endswith(".txt") for d in yaml.safe_load_all(t) if d]
    return {
        d["metadata"]["name"]: {
            e["name"]: e["value"] for e in d["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        for d in docs
        if d["kind"] == "Deployment"
    }


def generator_values(versions_in_defaults: str, versions_in_prod: str) -> dict[str, Any]:
    """The Helm values gitopsgen renders for prod from the frozen spec with these pins (the
    spec's `model.versions`, in defaults and in prod), as Argo CD would layer them."""
    from gitopsgen.render.registry import render_all
    from gitopsgen.spec.load import parse_spec
    from tests.support import FROZEN_SPEC_TEXT

    defaults, prod = "  model: {name: best_model}\n", "    namespace: fastapi-prod\n"
    assert defaults in FROZEN_SPEC_TEXT and prod in FROZEN_SPEC_TEXT
    text = FROZEN_SPEC_TEXT.replace(
        defaults, f"  model: {{name: best_model, versions: {versions_in_defaults}}}\n"
    ).replace(prod, f"{prod}    model: {{versions: {versions_in_prod}}}\n")
    spec, _ = parse_spec(text, "environments.yaml")
    values: dict[str, Any] = yaml.safe_load(render_all(spec)["apps/fastapi/values/prod.yaml"])
    return values


@pytest.mark.parametrize("strategy", ["single", "blueGreen"])
def test_pins_in_the_spec_reach_every_container_through_the_real_render(strategy: str) -> None:
    """spec model.versions -> gitopsgen's values -> Helm -> each Deployment's environment ->
    the app's settings: the whole path a pin takes, with the real renderer at every step."""
    values = generator_values('{A: "7"}', '{B: "9"}')
    values["rollout"] = {"strategy": strategy}
    envs = rendered_envs(values)
    assert len(envs) == (2 if strategy == "blueGreen" else 1)
    for env in envs.values():
        assert (env["MODEL_VERSION_A"], env["MODEL_VERSION_B"]) == ("7", "9")
        assert load_settings(env).pins() == {"A": "7", "B": "9"}
    only_a = rendered_env(generator_values('{A: "12"}', "{}"))
    assert (only_a["MODEL_VERSION_A"], only_a["MODEL_VERSION_B"]) == ("12", "")
    assert load_settings(only_a).pins() == {"A": "12"}  # B follows the registry
    assert load_settings(rendered_env({})).pins() == {}  # the chart's default: nothing pinned


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (9, "at '/env/MODEL_VERSION_B': got number, want string"),
        ("07", "at '/env/MODEL_VERSION_B': '07' does not match"),
        ("v7", "at '/env/MODEL_VERSION_B': 'v7' does not match"),
        ("0", "at '/env/MODEL_VERSION_B': '0' does not match"),
    ],
)
def test_a_bad_pin_in_values_is_refused_by_the_chart(value: object, words: str) -> None:
    with pytest.raises(helm.errors.HelmValuesError, match=re.escape(words)):
        rendered_env({"env": {"MODEL_VERSION_B": value}})
