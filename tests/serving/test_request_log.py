"""The request log with uvicorn's access log off: every failed request gets a line, one answered
prediction in REQUEST_LOG_SAMPLE does, and /metrics counts every prediction."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.serving.conftest import Registry

pytest.importorskip("mlflow", reason="the serving extra is not installed")

from app.requestlog import EveryNth  # noqa: E402

from tests.serving.test_app import ROW, client_for, eventually, settings_for  # noqa: E402


def test_every_nth_picks_the_first_and_then_every_nth() -> None:
    sampler = EveryNth(3)
    assert [sampler.pick() for _ in range(7)] == [True, False, False, True, False, False, True]
    assert all(EveryNth(1).pick() for _ in range(5))


def records(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_failures_all_logged_successes_sampled_metrics_see_all(
    mlflow_registry: Registry, tmp_path: Path
) -> None:
    settings = settings_for(mlflow_registry, tmp_path, request_log_sample=3, max_body_bytes=4096)
    log = tmp_path / "logs" / f"fastapi-{socket.gethostname()}.log"
    failing: list[tuple[dict[str, Any], str, int]] = [
        ({"content": b"{oops"}, "/predict", 422),  # malformed JSON
        ({"json": {"data": [["x"]]}}, "/predict", 422),  # the schema refuses it
        ({"json": {"data": [[1.0, 2.0]]}}, "/predict", 422),  # the model's width
        ({"json": {"data": [ROW]}}, "/variant/C/predict", 404),  # unknown alias
        ({"json": {"data": [ROW] * 10_001}}, "/predict", 413),  # too many rows
        ({"content": b"[" + b"1," * 5000 + b"1]"}, "/predict", 413),  # over MAX_BODY_BYTES
        ({"json": {"data": [ROW]}}, "/no/such/path", 404),
    ]
    with client_for(settings) as client:
        for i in range(7):
            answer = client.post(
                "/predict", json={"data": [ROW]}, headers={"x-client-id": f"ok{i}"}
            )
            assert answer.status_code == 200
        for kwargs, path, status in failing:
            headers = {"x-client-id": f"bad-{status}", "content-type": "application/json"}
            assert client.post(path, headers=headers, **kwargs).status_code == status
        metrics = client.get("/metrics").text
    assert 'model_requests_total{status="200",variant="B"} 7.0' in metrics
    assert 'model_request_latency_seconds_count{variant="B"} 7.0' in metrics
    assert eventually(lambda: sum("-> " not in r["message"] for r in records(log)) > 0)
    lines = records(log)
    answered = [r["client"] for r in lines if r["message"].startswith("predict rows=")]
    assert answered == ["ok0", "ok3", "ok6"]  # the first, then every third
    failed = [r for r in lines if r["level"] in ("WARNING", "ERROR") and r["client"] != "-"]
    seen = [
        (r["message"].split(" ")[1], int(r["message"].split(" ")[2].rstrip(":"))) for r in failed
    ]
    assert seen == [(path, status) for _, path, status in failing]
    assert "JSON decode error" in failed[0]["message"]
    assert "first at body.data.0.0" in failed[1]["message"]
    assert all(r["level"] == "WARNING" for r in failed)
