"""Versions pinned in Git (the spec's model.versions, MODEL_VERSION_A/B in the chart's env)
against a real MLflow server: the app serves the pins, keeps them when the registry's alias moves, on the poll and on reload, and says
where the registry points (/models, model_pin_drift). A pin the registry does not have leaves
the app degraded, serving the other alias."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.serving.conftest import PinnedApp, Registry

pytest.importorskip("mlflow", reason="the serving extra is not installed")

from app.config import Settings, SettingsError, load_settings  # noqa: E402
from app.main import create_app  # noqa: E402
from app.pins import RegistryView, alias_versions, without_credentials  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from tools.local_mlflow import register_model, set_alias  # noqa: E402
from tools.local_prometheus import ensure_prometheus, start_prometheus  # noqa: E402

from tests.serving.test_settings_chart import rendered_env  # noqa: E402

TOKEN = "pin-token"
README = Path(__file__).resolve().parents[2] / "apps/fastapi/README.md"
ROW = [5.1, 3.5, 1.4, 0.2]


def eventually(check: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def two_versions(registry: Registry, name: str) -> None:
    """v1 (logistic regression) as A, v2 (tree) as B."""
    register_model(registry.url, "logreg", "A", name=name)
    register_model(registry.url, "tree", "B", name=name)


def three_versions(registry: Registry, name: str) -> None:
    """Those two, and v3 (weak logistic regression) with no alias."""
    two_versions(registry, name)
    register_model(registry.url, "logreg-weak", None, name=name)


def settings_from_chart(
    registry: Registry,
    tmp_path: Path,
    name: str,
    versions: dict[str, str],
    poll: float,
    default_alias: str = "B",
) -> Settings:
    """The settings the pod gets: the chart rendered for real with the pins in its values, its
    container's environment read by the app's own loader (the Secret's token added, and a poll
    faster than the chart's whole seconds allow)."""
    pins = {f"MODEL_VERSION_{alias}": version for alias, version in versions.items()}
    values = {
        "env": {
            "MLFLOW_TRACKING_URI": registry.url,
            "MODEL_NAME": name,
            "DEFAULT_ALIAS": default_alias,
            "LOG_DIR": str(tmp_path / "logs"),
            **pins,  # as gitopsgen renders the spec's model.versions
        },
    }
    env = rendered_env(values)
    return load_settings(
        {**env, "ALIAS_POLL_INTERVAL_SECONDS": str(poll), "RELOAD_SECRET_TOKEN": TOKEN}
    )


@contextmanager
def serving(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def served_version(client: TestClient, alias: str) -> str:
    answer = client.post(f"/variant/{alias}/predict", json={"data": [ROW]})
    assert answer.status_code == 200, answer.text
    version: str = answer.json()["version"]
    return version


def readme_after(marker: str) -> list[str]:
    """The lines of apps/fastapi/README.md from the one holding `<!-- marker`."""
    lines = README.read_text().splitlines()
    return lines[next(i for i, line in enumerate(lines) if f"<!-- {marker}" in line) :]


def readme_example() -> dict[str, dict[str, Any]]:
    """The README's table of the /models `versions` answer, back as the JSON it shows."""
    rows = list(
        itertools.takewhile(lambda ln: ln.startswith("|"), readme_after("pins-versions")[1:])
    )
    header = [cell.strip(" `") for cell in rows[0].strip("|").split("|")]
    table: dict[str, dict[str, Any]] = {}
    for row in rows[2:]:
        alias, *cells = [cell.strip(" `") for cell in row.strip("|").split("|")]
        table[alias] = {
            name: json.loads(cell) for name, cell in zip(header[1:], cells, strict=True)
        }
    return table


def readme_alert_expr() -> str:
    line = readme_after("pins-alert")[0]
    return line.split("-->`expr: ", 1)[1].split("`", 1)[0]


def versions(client: TestClient) -> dict[str, dict[str, Any]]:
    body: dict[str, dict[str, Any]] = client.get("/models").json()["versions"]
    return body


def test_a_pinned_alias_serves_its_pin_whatever_the_registry_alias_says(
    mlflow_registry: Registry, tmp_path: Path
) -> None:
    name = "app_pinned_model"  # test_drift.py has pinned_model
    three_versions(mlflow_registry, name)
    # B pinned to v3 while the registry's B points to v2; A is not pinned
    settings = settings_from_chart(mlflow_registry, tmp_path, name, {"B": "3"}, poll=0.2)
    assert settings.pins() == {"B": "3"}
    with serving(settings) as client:
        assert served_version(client, "B") == "3"
        assert served_version(client, "A") == "1"
        assert versions(client) == readme_example()
        loaded = {m["alias"]: m for m in client.get("/models").json()["models"]}
        assert loaded["B"]["model_uri"] == f"models:/{name}/3"
        assert loaded["A"]["model_uri"] == f"models:/{name}@A"
        metrics = client.get("/metrics").text
        assert 'model_pin_drift{alias="B"} 1.0' in metrics
        assert 'model_pin_drift{alias="A"} 0.0' in metrics
        assert 'model_pinned_version{alias="B"} 3.0' in metrics
        assert 'model_pinned_version{alias="A"} 0.0' in metrics
        assert 'model_registry_version{alias="B"} 2.0' in metrics
        assert 'model_version{alias="B"} 3.0' in metrics

        # both registry aliases move: the poll follows A, never B, and records where B points
        set_alias(mlflow_registry.url, "B", "1", name)
        set_alias(mlflow_registry.url, "A", "3", name)
        assert eventually(lambda: served_version(client, "A") == "3")
        assert eventually(lambda: versions(client)["B"]["registry_version"] == "1")
        assert served_version(client, "B") == "3"
        assert 'model_registry_version{alias="B"} 1.0' in client.get("/metrics").text

        # a reload of the pinned alias reloads the pin, not what the alias points to
        reloaded = client.post("/variant/B/reload", headers={"x-token": TOKEN})
        assert reloaded.status_code == 200, reloaded.text
        assert reloaded.json() == {
            "alias": "B",
            "version": "3",
            "previous_version": "3",
            "pinned": True,
        }
        assert served_version(client, "B") == "3"

        # the registry catches up with Git: no drift any more
        set_alias(mlflow_registry.url, "B", "3", name)
        assert eventually(lambda: versions(client)["B"]["drift"] is False)
        assert eventually(lambda: 'model_pin_drift{alias="B"} 0.0' in client.get("/metrics").text)
        registry = client.get("/models").json()["registry"]
        assert registry["error"] is None and registry["checked_at"].endswith("Z")
        results = client.get("/metrics").text
        assert 'model_reloads_total{alias="B",result="succeeded"} 1.0' in results  # only the POST


def test_a_pin_the_registry_does_not_have_leaves_the_app_degraded(
    mlflow_registry: Registry, tmp_path: Path
) -> None:
    name = "missing_pin_model"
    two_versions(mlflow_registry, name)
    settings = settings_from_chart(
        mlflow_registry, tmp_path, name, {"A": "99"}, poll=0.2, default_alias="A"
    )
    with serving(settings) as client:
        health = client.get("/health")
        assert (health.status_code, health.json()) == (
            200,
            {"status": "degraded", "loaded": ["B"], "missing": ["A"]},
        )
        assert versions(client)["A"] == {
            "pinned_version": "99",
            "registry_version": "1",
            "serving_version": None,
            "drift": True,
        }
        # requests routed to A are served by B meanwhile, counted as fallbacks
        answer = client.post("/predict", json={"data": [ROW]})
        assert answer.status_code == 200, answer.text
        assert (answer.json()["variant"], answer.json()["version"]) == ("B", "2")
        assert 'model_fallbacks_total{routed="A",served="B"} 1.0' in client.get("/metrics").text
        reload = client.post("/variant/A/reload", headers={"x-token": TOKEN})
        assert reload.status_code == 404
        assert "version 99 (pinned for A) does not exist" in reload.json()["detail"]
        time.sleep(0.6)  # a few polls: they never load what the registry's alias A points to
        assert client.get("/health").json()["missing"] == ["A"]


def test_a_pinned_version_deleted_from_the_registry_is_unloaded_on_reload(
    mlflow_registry: Registry, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    name = "deleted_pin_model"
    two_versions(mlflow_registry, name)
    settings = settings_from_chart(mlflow_registry, tmp_path, name, {"A": "1"}, poll=0)
    with serving(settings) as client:
        assert served_version(client, "A") == "1"
        MlflowClient(mlflow_registry.url, mlflow_registry.url).delete_model_version(name, "1")
        # nothing changes until the pod is told (or restarts): the loaded model keeps serving
        assert served_version(client, "A") == "1"
        reload = client.post("/variant/A/reload", headers={"x-token": TOKEN})
        assert reload.status_code == 404, reload.text
        assert client.get("/health").json() == {
            "status": "degraded",
            "loaded": ["B"],
            "missing": ["A"],
        }
        assert 'model_reloads_total{alias="A",result="unloaded"} 1.0' in client.get("/metrics").text


@pytest.mark.parametrize("value", ["0", "07", "v7", "1.0", "-1", "+7", "7 ", "٣", "1" * 19])
def test_a_pin_that_is_not_a_positive_integer_is_refused_naming_the_variable(value: str) -> None:
    env = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000", "MODEL_NAME": "m"}
    if value.strip() != value:  # surrounding blanks are stripped, as for every setting
        assert load_settings({**env, "MODEL_VERSION_B": value}).pins() == {"B": value.strip()}
        return
    with pytest.raises(
        SettingsError, match="^" + re.escape(f"MODEL_VERSION_B='{value}': is not a model version")
    ):
        load_settings({**env, "MODEL_VERSION_B": value})


def test_empty_pins_follow_the_registry() -> None:
    env = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000", "MODEL_NAME": "m"}
    assert load_settings({**env, "MODEL_VERSION_A": "", "MODEL_VERSION_B": ""}).pins() == {}
    assert load_settings({**env, "MODEL_VERSION_A": "12"}).pins() == {"A": "12"}


def test_drift_is_unknown_until_the_registry_answered() -> None:
    never = alias_versions({"B": "9"}, None, {"B": "9"})
    assert [s.drift for s in never] == [False, None]
    seen = alias_versions({"B": "9"}, RegistryView({"A": "1"}, 1.0), {"A": "1", "B": "9"})
    assert [(s.registry, s.drift) for s in seen] == [("1", False), (None, True)]


def test_registry_errors_never_show_a_password() -> None:
    message = "cannot reach https://user:s3cret@mlflow.example:5000/api/2.0 (refused)"
    assert without_credentials(message) == (
        "cannot reach https://***@mlflow.example:5000/api/2.0 (refused)"
    )


def test_the_readme_alert_fires_in_a_real_prometheus_on_a_drifting_pin(
    pinned_app: PinnedApp, tmp_path: Path
) -> None:
    binary, reason = ensure_prometheus()
    if binary is None:
        pytest.skip(f"no Prometheus server: {reason}")
    rules = [{"alert": "ModelPinDrift", "expr": readme_alert_expr(), "for": "15m"}]
    prometheus = start_prometheus(
        binary, tmp_path / "prometheus", {"app": pinned_app.port}, rules=rules
    )
    try:

        def pending() -> list[dict[str, Any]]:
            return [a for a in prometheus.alerts() if a["labels"]["alertname"] == "ModelPinDrift"]

        assert eventually(lambda: bool(pending()), seconds=60), prometheus.alerts()
        assert [(a["labels"]["alias"], a["state"]) for a in pending()] == [("B", "pending")]
        assert prometheus.value('model_pinned_version{alias="B"}') == 1.0
        assert prometheus.value('model_registry_version{alias="B"}') == 2.0
    finally:
        prometheus.stop()
