"""The fast body path (app.fastbody, FastPredictRoute) answers exactly what the full path
(FastAPI, pydantic, app.inputs.to_array) answers: the same array for every body it takes, None
(the full path) for every body it must not take, and the same bytes over HTTP, which are the
model's own predict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.serving.conftest import Registry

pytest.importorskip("mlflow", reason="the serving extra is not installed")

import mlflow.sklearn  # noqa: E402
from app.fastbody import fast_rows  # noqa: E402
from app.inputs import FLOAT32_MAX, PredictRequest, to_array  # noqa: E402
from app.jsonbody import parse  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from tests.serving.test_app import client_for, settings_for  # noqa: E402

TAKEN = [
    b'{"data": [[5.1, 3.5, 1.4, 0.2]]}',
    b'{"data":[[1,2,3,4],[5,6,7,8]]}',
    b' {\n "data" :\t[ [ -0, -0.0, 1e-400, 1E+3 ] ] }\r\n',
    b'{"data": [[123456789012345678, -123456789012345678, 0.1, 2.5e-308]]}',
    f'{{"data": [[{FLOAT32_MAX!r}, {-FLOAT32_MAX!r}, 3.4028234663852886e+38, 1]]}}'.encode(),
    b'{"data": [[0.30000000000000004, 1.7976931348623157e-300, 9007199254740993, 7]]}',
    b'{"data": [' + b", ".join([b"[5.1, 3.5, 1.4, 0.2]"] * 10_000) + b"]}",
    b'{"data": [[1, 2]]}',  # the wrong width: the same 422 as the full path, see below
]
REFUSED = [
    b'{"data": [[1, true, 3, 4]]}',
    b'{"data": [[1, null, 3, 4]]}',
    b'{"data": [[NaN, 2, 3, 4]]}',
    b'{"data": [[Infinity, 2, 3, 4]]}',
    b'{"data": [[1e39, 2, 3, 4]]}',  # beyond float32: the schema's 422
    b'{"data": [[-1e39, 2, 3, 4]]}',
    b'{"data": [[1e400, 2, 3, 4]]}',  # orjson refuses: json.loads's inf, then the schema
    b'{"data": [["1", 2, 3, 4]]}',
    b'{"data": [[1, 2, 3, 4]], "columns": null}',
    b'{"data": [[1, 2, 3, 4]], "data": [[1, 2, 3, 4]]}',
    b'{"d\\u0061ta": [[1, 2, 3, 4]]}',
    b'{"rows": [[1, 2, 3, 4]]}',
    b'{"data": [[1, 2, 3, 4]], "x": 1}',
    b'{"data": [[12345678901234567890, 2, 3, 4]]}',  # 19+ digits: json.loads keeps the int
    b'{"data": [[1, 2], [3]]}',
    b'{"data": [[[1, 2, 3, 4]]]}',
    b'{"data": [1, 2, 3, 4]}',
    b'{"data": []}',
    b'{"data": [[]]}',
    b'{"data": {"0": [1]}}',
    b'{"data": [[1, 2, 3, 4]]',
    b'{"data": [[01, 2, 3, 4]]}',
    b'{"data": [[+1, 2, 3, 4]]}',
    b'{"data": [[1., 2, 3, 4]]}',
    b"[[1, 2, 3, 4]]",
    b"",
]


@pytest.mark.parametrize("body", TAKEN, ids=lambda b: b[:40].decode())
def test_the_fast_array_is_the_full_paths_array(body: bytes) -> None:
    rows = fast_rows(body)
    assert rows is not None
    full, _ = to_array(PredictRequest.model_validate(parse(body)), None, None, 10**7)
    assert rows.dtype == full.dtype == np.float64
    assert rows.shape == full.shape
    assert rows.flags.c_contiguous
    assert np.array_equal(rows, full)
    assert np.signbit(rows).tolist() == np.signbit(full).tolist()  # -0.0 stays -0.0


@pytest.mark.parametrize("body", REFUSED, ids=lambda b: b[:40].decode())
def test_every_other_body_goes_the_full_way(body: bytes) -> None:
    assert fast_rows(body) is None


@pytest.fixture(scope="module")
def client(
    mlflow_registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("fastbody")
    settings = settings_for(mlflow_registry, tmp, default_alias="A", max_batch_rows=20_000)
    with client_for(settings) as client:
        yield client


def post(client: TestClient, body: bytes, **headers: str) -> tuple[int, bytes]:
    answer = client.post(
        "/predict", content=body, headers={"content-type": "application/json", **headers}
    )
    return answer.status_code, answer.content


def full_path_twin(body: bytes) -> bytes:
    """The same request with `"columns": null` added: equal for the schema, but the full path
    (the fast one refuses any second key)."""
    value: dict[str, Any] = json.loads(body)
    return json.dumps({**value, "columns": None}).encode()


@pytest.mark.parametrize("body", TAKEN, ids=lambda b: b[:40].decode())
def test_over_http_the_fast_answer_is_the_full_answer(client: TestClient, body: bytes) -> None:
    assert post(client, body) == post(client, full_path_twin(body))


def test_the_answer_is_the_models_own_predict(
    client: TestClient, mlflow_registry: Registry
) -> None:
    mlflow.set_tracking_uri(mlflow_registry.url)
    model = mlflow.sklearn.load_model("models:/best_model@A")
    rng = np.random.default_rng(3)
    for rows in (1, 100, 10_000):
        features = rng.normal(5, 2, size=(rows, 4))
        body = json.dumps({"data": features.tolist()}).encode()
        status, answer = post(client, body)
        assert status == 200
        assert json.loads(answer)["prediction"] == model.predict(features).tolist()


def test_limits_and_headers_answer_as_before(client: TestClient) -> None:
    rows = b'{"data": [' + b", ".join([b"[1, 2, 3, 4]"] * 20_001) + b"]}"
    status, answer = post(client, rows)
    assert (status, answer) == post(client, full_path_twin(rows))
    assert status == 413 and b"20001 rows is more than the limit of 20000" in answer
    one = b'{"data": [[1, 2, 3, 4]]}'
    long_id = "c" * 257  # over the header's max_length: FastAPI's own 422
    assert post(client, one, **{"x-client-id": long_id})[0] == 422
    status, answer = post(client, one, **{"content-type": "text/plain"})
    assert status == 422 and b"model_attributes_type" in answer  # not read as JSON, as before
