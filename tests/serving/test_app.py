"""The serving app in-process (TestClient runs the lifespan) against a real MLflow server."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.serving.conftest import Registry, Webhook

pytest.importorskip("mlflow", reason="the serving extra is not installed")

import mlflow.pyfunc  # noqa: E402
from app.config import Settings, SettingsError, load_settings  # noqa: E402
from app.main import StartupError, create_app  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from tools.local_mlflow import delete_alias, register_model, set_alias  # noqa: E402

ROW = [5.1, 3.5, 1.4, 0.2]
TOKEN = "t0ken-for-tests"


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    """True as soon as `check` is (background work: alerts, shadow traffic, log lines)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def fresh_model(registry: Registry, name: str, b_kind: str = "tree") -> None:
    """A registered model of its own, v1 (logistic regression) as A and v2 as B, for a test that
    moves or breaks aliases without touching the others' best_model."""
    register_model(registry.url, "logreg", "A", name=name)
    register_model(registry.url, b_kind, "B", name=name)


def settings_for(registry: Registry, tmp_path: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "tracking_uri": registry.url,
        "model_name": "best_model",
        "default_alias": "B",
        "mode": "blue_green",
        "canary_percent": 10,
        "ab_split_percent": 90,
        "reload_token": TOKEN,
        "log_dir": str(tmp_path / "logs"),
        "poll_interval_seconds": 0,
    }
    base.update(overrides)
    return Settings(**base)


@contextmanager
def client_for(settings: Settings) -> Iterator[TestClient]:
    """The app with its lifespan run (models loaded), torn down on exit."""
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def blue_green(mlflow_registry: Registry, tmp_path: Path) -> Iterator[TestClient]:
    with client_for(settings_for(mlflow_registry, tmp_path)) as client:
        yield client


def predict(
    client: TestClient,
    cid: str | None = None,
    path: str = "/predict",
    rows: list[list[float]] | None = None,
) -> dict[str, Any]:
    headers = {"x-client-id": cid} if cid else {}
    response = client.post(path, json={"data": rows or [ROW]}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_blue_green_sends_every_request_to_the_default(
    blue_green: TestClient, mlflow_registry: Registry
) -> None:
    answers = [predict(blue_green, f"client-{i}") for i in range(500)]
    assert Counter(a["variant"] for a in answers) == {"B": 500}
    assert {a["version"] for a in answers} == {mlflow_registry.versions["B"]}
    assert answers[0]["mode"] == "blue_green"
    assert answers[0]["prediction"] == [0]  # iris setosa


@pytest.mark.parametrize(
    ("mode", "percent", "share_of"), [("canary", 20, "B"), ("ab_test", 70, "A")]
)
def test_split_over_1000_clients(
    mlflow_registry: Registry, tmp_path: Path, mode: str, percent: int, share_of: str
) -> None:
    settings = settings_for(
        mlflow_registry, tmp_path, mode=mode, canary_percent=percent, ab_split_percent=percent
    )
    with client_for(settings) as client:
        variants = [predict(client, f"c{i}")["variant"] for i in range(1000)]
        share = variants.count(share_of) / 10
        assert abs(share - percent) <= 4, share
        # sticky: the same client gets the same variant again
        assert [predict(client, f"c{i}")["variant"] for i in range(50)] == variants[:50]
        assert predict(client)["variant"] == "B"  # no client id: the default alias


def test_named_variant_and_unknown_alias(blue_green: TestClient, mlflow_registry: Registry) -> None:
    answer = predict(blue_green, path="/variant/A/predict", rows=[ROW, [6.7, 3.0, 5.2, 2.3]])
    assert answer["variant"] == "A" and answer["version"] == mlflow_registry.versions["A"]
    assert answer["prediction"] == [0, 2]
    assert blue_green.post("/variant/C/predict", json={"data": [ROW]}).status_code == 404
    assert blue_green.post("/variant/C/reload", headers={"x-token": TOKEN}).status_code == 404


BAD_BODIES = [
    ("malformed json", b"{not json", 422),
    ("missing data", b'{"rows": [[1, 2, 3, 4]]}', 422),
    ("ragged rows", b'{"data": [[1, 2, 3, 4], [1, 2]]}', 422),
    ("non-numeric", b'{"data": [[1, 2, 3, "x"]]}', 422),
    ("boolean", b'{"data": [[1, 2, 3, true]]}', 422),
    ("empty batch", b'{"data": []}', 422),
    ("empty row", b'{"data": [[]]}', 422),
    ("wrong width", b'{"data": [[1, 2, 3]]}', 422),
    ("not finite", b'{"data": [[1, 2, 3, NaN]]}', 422),
    ("data not a list", b'{"data": 5}', 422),
    ("beyond float32", b'{"data": [[1e219, 3e117, -9.7e15, 3.7e253]]}', 422),
    ("body a list", b"[1, 2]", 422),
    ("too many rows", b'{"data": [' + b",".join([b"[1,2,3,4]"] * 101) + b"]}", 413),
    ("400-digit integer", b'{"data": [[1, 2, 3, ' + b"9" * 400 + b"]]}", 422),
    ("-400-digit integer", b'{"data": [[1, 2, 3, -' + b"9" * 400 + b"]]}", 422),
    (
        "integer beyond float32",
        b'{"data": [[1, 2, 3, 1000000000000000000000000000000000000000]]}',
        422,
    ),
    ("float overflowing to inf", b'{"data": [[1, 2, 3, 1e400]]}', 422),
    ("Infinity", b'{"data": [[1, 2, 3, -Infinity]]}', 422),
]


@pytest.mark.parametrize(
    ("body", "status"), [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES]
)
def test_bad_input_is_a_4xx_never_a_500(
    mlflow_registry: Registry, tmp_path: Path, body: bytes, status: int
) -> None:
    with client_for(settings_for(mlflow_registry, tmp_path, max_batch_rows=100)) as client:
        response = client.post(
            "/predict", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == status, response.text
        assert response.json()["detail"]
        assert client.get("/livez").status_code == 200  # still standing


@pytest.mark.parametrize(
    "value",
    [b"9" * 400, b"-" + b"9" * 400, b"1e400", b"-1e39", b"NaN", b"Infinity", b"3.5e38", b"true"],
)
def test_every_out_of_range_number_is_a_validation_error_at_its_place(
    blue_green: TestClient, value: bytes
) -> None:
    """Any number the model cannot take is refused by the schema, with the same 422 body as a
    non-number (FastAPI's list of errors, located at the value), never a 500."""
    body = b'{"data": [[5.1, 3.5, 1.4, 0.2], [1, 2, ' + value + b", 4]]}"
    response = blue_green.post(
        "/predict", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    assert {tuple(e["loc"][:4]) for e in detail} == {("body", "data", 1, 2)}
    shape = blue_green.post("/predict", json={"data": [[1, 2, "x", 4]]}).json()["detail"]
    assert all({"type", "loc", "msg", "input"} <= set(e) for e in [*detail, *shape])


def test_reload_needs_the_token(blue_green: TestClient, tmp_path: Path) -> None:
    import socket

    assert blue_green.post("/variant/B/reload").status_code == 401
    assert blue_green.post("/variant/B/reload", headers={"x-token": "wrong"}).status_code == 401
    ok = blue_green.post("/variant/B/reload", headers={"x-token": TOKEN})
    assert ok.status_code == 200 and ok.json()["alias"] == "B"
    log = tmp_path / "logs" / f"fastapi-{socket.gethostname()}.log"
    assert eventually(lambda: "refused reload of B: wrong token" in log.read_text())
    assert "refused reload of B: missing token" in log.read_text()
    assert TOKEN not in log.read_text() and "wrong\n" not in log.read_text()


def test_two_reloads_of_one_alias_never_overlap(mlflow_registry: Registry) -> None:
    import asyncio
    import threading

    from app.models import ModelStore

    store = ModelStore(mlflow_registry.url, "best_model")
    running, overlaps = [0], [0]
    lock = threading.Lock()
    real_load = store.load_blocking

    def counting_load(alias: str) -> Any:
        with lock:
            running[0] += 1
            overlaps[0] = max(overlaps[0], running[0])
        try:
            time.sleep(0.2)  # long enough for a second call to arrive meanwhile
            return real_load(alias)
        finally:
            with lock:
                running[0] -= 1

    store.load_blocking = counting_load  # type: ignore[method-assign]

    async def both() -> list[Any]:
        return list(await asyncio.gather(store.reload("B"), store.reload("B"), store.reload("A")))

    outcomes = asyncio.run(both())
    assert [o.alias for o in outcomes] == ["B", "B", "A"]
    assert overlaps[0] == 2  # A ran beside B, but the two reloads of B never did


def test_reload_is_disabled_without_a_token(mlflow_registry: Registry, tmp_path: Path) -> None:
    with client_for(settings_for(mlflow_registry, tmp_path, reload_token="")) as client:
        response = client.post("/variant/B/reload", headers={"x-token": ""})
        assert response.status_code == 403
        assert "disabled" in response.json()["detail"]


def test_repointed_alias_is_served_after_reload(
    mlflow_registry: Registry, tmp_path: Path, slack_webhook: Webhook
) -> None:
    name = "repoint_model"
    fresh_model(mlflow_registry, name, b_kind="tree")
    settings = settings_for(
        mlflow_registry, tmp_path, model_name=name, slack_webhook_url=slack_webhook.url
    )
    with client_for(settings) as client:
        assert predict(client)["version"] == "2"
        new = register_model(mlflow_registry.url, "logreg-weak", "B", name=name)
        assert predict(client)["version"] == "2"  # nothing changes until a reload
        reloaded = client.post("/variant/B/reload", headers={"x-token": TOKEN})
        assert reloaded.json() == {
            "alias": "B",
            "version": new,
            "previous_version": "2",
            "pinned": False,
        }
        assert predict(client)["version"] == new
        models = {m["alias"]: m for m in client.get("/models").json()["models"]}
        assert models["B"]["version"] == new and models["B"]["model_uri"] == f"models:/{name}@B"
        metrics = client.get("/metrics").text
        assert 'model_reloads_total{alias="B",result="succeeded"} 1.0' in metrics
        assert f'model_version{{alias="B"}} {float(new)}' in metrics
    assert "reload_succeeded" in slack_webhook.events()


def test_failing_reload_keeps_serving_the_old_model(
    mlflow_registry: Registry, tmp_path: Path, slack_webhook: Webhook
) -> None:
    from mlflow import MlflowClient

    name = "broken_model"
    fresh_model(mlflow_registry, name, b_kind="tree")
    settings = settings_for(
        mlflow_registry, tmp_path, model_name=name, slack_webhook_url=slack_webhook.url
    )
    with client_for(settings) as client:
        registry = MlflowClient(tracking_uri=mlflow_registry.url, registry_uri=mlflow_registry.url)
        broken = register_model(mlflow_registry.url, "logreg", None, name=name)
        source = str(registry.get_model_version(name, broken).source)
        model_id = source.rstrip("/").split("/")[-1]
        mlmodels = [
            p
            for d in (mlflow_registry.workdir / "artifacts").rglob(model_id)
            for p in d.rglob("MLmodel")
        ]
        assert mlmodels, f"no artifacts found for {source}"
        for path in mlmodels:
            path.write_text("this: [is not a model\n")  # a broken artefact
        set_alias(mlflow_registry.url, "B", broken, name)
        response = client.post("/variant/B/reload", headers={"x-token": TOKEN})
        assert response.status_code == 502
        assert response.json()["detail"]["serving_version"] == "2"
        assert predict(client)["version"] == "2"
        assert client.get("/health").json()["status"] == "ok"
        assert 'result="failed"} 1.0' in client.get("/metrics").text
    assert eventually(lambda: "reload_failed" in slack_webhook.events())


def test_health_goes_ok_degraded_unhealthy(
    mlflow_registry: Registry, tmp_path: Path, slack_webhook: Webhook
) -> None:
    name = "health_model"
    fresh_model(mlflow_registry, name, b_kind="logreg")
    settings = settings_for(
        mlflow_registry,
        tmp_path,
        model_name=name,
        mode="canary",
        canary_percent=100,
        slack_webhook_url=slack_webhook.url,
    )
    with client_for(settings) as client:
        assert client.get("/health").json() == {"status": "ok", "loaded": ["A", "B"], "missing": []}
        delete_alias(mlflow_registry.url, "B", name)
        assert client.post("/variant/B/reload", headers={"x-token": TOKEN}).status_code == 404
        health = client.get("/health")
        assert (health.status_code, health.json()) == (
            200,
            {"status": "degraded", "loaded": ["A"], "missing": ["B"]},
        )
        # the routed alias B is gone: served by A, counted as a fallback
        answer = predict(client, "someone")
        assert answer["variant"] == "A"
        assert 'model_fallbacks_total{routed="B",served="A"} 1.0' in client.get("/metrics").text
        delete_alias(mlflow_registry.url, "A", name)
        client.post("/variant/A/reload", headers={"x-token": TOKEN})
        health = client.get("/health")
        assert (health.status_code, health.json()["status"]) == (503, "unhealthy")
        assert client.post("/predict", json={"data": [ROW]}).status_code == 503
        assert client.get("/livez").status_code == 200
    assert eventually(lambda: slack_webhook.events().count("health_changed") >= 2)
    texts = [m["text"] for m in slack_webhook.received if m["event"] == "health_changed"]
    assert any("ok -> degraded" in str(t) for t in texts)
    assert any("degraded -> unhealthy" in str(t) for t in texts)


def test_polling_converges_on_a_moved_alias(mlflow_registry: Registry, tmp_path: Path) -> None:
    name = "polled_model"
    fresh_model(mlflow_registry, name, b_kind="tree")
    settings = settings_for(mlflow_registry, tmp_path, model_name=name, poll_interval_seconds=0.3)
    with client_for(settings) as client:
        new = register_model(mlflow_registry.url, "logreg-weak", "B", name=name)
        assert eventually(lambda: predict(client)["version"] == new, seconds=20)


def test_shadow_traffic_is_compared(mlflow_registry: Registry, tmp_path: Path) -> None:
    settings = settings_for(mlflow_registry, tmp_path, default_alias="A", shadow_alias="B")
    with client_for(settings) as client:
        rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
        for _ in range(10):
            assert predict(client, rows=rows)["variant"] == "A"
        assert eventually(lambda: client.get("/models").json()["shadow"]["compared"] >= 10)
        shadow = client.get("/models").json()["shadow"]
        assert shadow["alias"] == "B" and shadow["compared"] == 10
        assert 0.0 <= shadow["agreement"] <= 1.0
        assert "model_shadow_requests_total" in client.get("/metrics").text


def test_logs_go_to_a_file_per_pod(blue_green: TestClient, tmp_path: Path) -> None:
    import socket

    predict(blue_green, "client-xyz")
    log = tmp_path / "logs" / f"fastapi-{socket.gethostname()}.log"
    assert eventually(lambda: log.exists() and "client-xyz" in log.read_text())
    line = json.loads(next(ln for ln in log.read_text().splitlines() if "client-xyz" in ln))
    assert (line["variant"], line["mode"], line["client"]) == ("B", "blue_green", "client-xyz")
    assert line["message"].startswith("predict rows=1 version=")


def test_index_models_and_metrics(blue_green: TestClient) -> None:
    index = blue_green.get("/").json()
    listed = {(e["method"], e["path"]) for e in index["endpoints"]}
    assert {
        ("POST", "/predict"),
        ("POST", "/variant/{alias}/reload"),
        ("GET", "/health"),
        ("GET", "/livez"),
        ("GET", "/metrics"),
        ("GET", "/models"),
    } <= listed
    predict(blue_green)
    metrics = blue_green.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'model_requests_total{status="200",variant="B"}' in metrics.text


def test_no_model_at_all_refuses_to_start(mlflow_registry: Registry, tmp_path: Path) -> None:
    settings = settings_for(mlflow_registry, tmp_path, model_name="no_such_model")
    with (
        pytest.raises(StartupError, match="no model of 'no_such_model'"),
        TestClient(create_app(settings)),
    ):
        pass


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("ALIAS_SELECTION_MODE", "shadow", "ALIAS_SELECTION_MODE='shadow': Input should be 'ab_"),
        (
            "CANARY_PERCENT",
            "150",
            "CANARY_PERCENT='150': Input should be less than or equal to 100",
        ),
        ("AB_SPLIT_PERCENT", "ten", "AB_SPLIT_PERCENT='ten': Input should be a valid integer"),
        ("DEFAULT_ALIAS", "C", "DEFAULT_ALIAS='C': Input should be 'A' or 'B'"),
        ("SHADOW_ALIAS", "Z", "SHADOW_ALIAS='Z'"),
        ("MLFLOW_TRACKING_URI", "", "MLFLOW_TRACKING_URI is not set"),
        ("SLACK_WEBHOOK_URL", "ftp://x", "SLACK_WEBHOOK_URL='ftp://x': is not an http"),
    ],
)
def test_invalid_settings_name_the_variable(name: str, value: str, words: str) -> None:
    env = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000", "MODEL_NAME": "m", name: value}
    with pytest.raises(SettingsError, match=words.replace("(", r"\(")):
        load_settings(env)


class RowSums(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    """A custom pyfunc model: it predicts the sum of each row."""

    # no type hints: MLflow would read them as a signature
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]  # noqa: ARG002
        return model_input.sum(axis=1).to_numpy()


class Broken(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    """A custom pyfunc model whose predict fails, as a model with a bug would."""

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]  # noqa: ARG002
        raise RuntimeError("feature store unavailable")


def test_custom_pyfunc_model_and_a_failing_prediction(
    mlflow_registry: Registry, tmp_path: Path, slack_webhook: Webhook
) -> None:
    from tools.local_mlflow import register_python_model

    name = "custom_model"
    register_python_model(mlflow_registry.url, RowSums(), "A", name)
    register_python_model(mlflow_registry.url, Broken(), "B", name)
    settings = settings_for(
        mlflow_registry, tmp_path, model_name=name, slack_webhook_url=slack_webhook.url
    )
    with client_for(settings) as client:
        answer = predict(client, path="/variant/A/predict", rows=[[1.0, 2.0], [3.0, 4.5]])
        assert answer["prediction"] == [3.0, 7.5]  # through pyfunc, not the raw object
        failed = client.post("/predict", json={"data": [ROW]})
        assert failed.status_code == 500
        assert failed.json()["detail"] == "prediction failed on B: RuntimeError"
        assert 'model_requests_total{status="500",variant="B"} 1.0' in client.get("/metrics").text
        assert client.get("/livez").status_code == 200
    assert eventually(lambda: "prediction_failed" in slack_webhook.events())
    text = next(m["text"] for m in slack_webhook.received if m["event"] == "prediction_failed")
    assert "feature store unavailable" in str(text) and "B" in str(text)
