"""POST /predict (routed) and POST /variant/{alias}/predict (named)."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, HTTPException, Request, Response
from loguru import logger

from app.inputs import InputError, PredictRequest, PredictResponse, to_array
from app.jsonbody import OrjsonRoute
from app.mirror import mirrored
from app.models import LoadedModel
from app.routing import ALIASES, choose_alias, other_alias
from app.runtime import Runtime, RuntimeDep

router = APIRouter(tags=["predict"], route_class=OrjsonRoute)  # JSON bodies parsed by orjson
# Larger batches run in a worker thread so one big request does not stall every other one.
THREAD_ROWS = 1_000
ClientId = Annotated[str | None, Header(alias="x-client-id", max_length=256)]
NOT_LOADED: dict[int | str, dict[str, Any]] = {
    503: {"description": "no model is loaded for this alias"}
}
BAD_INPUT: dict[int | str, dict[str, Any]] = {
    413: {"description": "too many rows"},
    422: {"description": "rows the model cannot take"},
}


async def _serve(
    runtime: Runtime, model: LoadedModel, body: PredictRequest, client_id: str | None, routed: str
) -> Response:
    settings = runtime.settings
    start = time.perf_counter()
    try:
        rows, names = to_array(body, model.n_features, model.columns, settings.max_batch_rows)
    except InputError as exc:
        runtime.metrics.requests.labels(model.alias, str(exc.status)).inc()
        raise HTTPException(exc.status, str(exc)) from None
    try:
        if len(rows) >= THREAD_ROWS:
            answer = await anyio.to_thread.run_sync(model.predict, rows, names)
        else:
            answer = model.predict(rows, names)
    except (ValueError, TypeError) as exc:  # the model's own input checks refused the rows
        runtime.metrics.requests.labels(model.alias, "422").inc()
        raise HTTPException(422, f"the model refused the input: {exc}") from None
    except Exception as exc:
        runtime.metrics.requests.labels(model.alias, "500").inc()
        logger.bind(variant=model.alias, client_id=client_id or "-").error(
            "prediction failed: {}", exc
        )
        runtime.notifier.notify(
            "prediction_failed",
            alias=model.alias,
            version=model.version,
            mode=settings.mode,
            error=exc,
        )
        raise HTTPException(
            500, f"prediction failed on {model.alias}: {type(exc).__name__}"
        ) from None
    elapsed = time.perf_counter() - start
    runtime.metrics.requests.labels(model.alias, "200").inc()
    runtime.metrics.latency.labels(model.alias).observe(elapsed)
    if routed != model.alias:
        runtime.metrics.fallbacks.labels(routed, model.alias).inc()
    if settings.request_log and runtime.request_log.pick():
        logger.bind(variant=model.alias, client_id=client_id or "-").info(
            "predict rows={} version={} ms={:.2f}", len(rows), model.version, elapsed * 1000
        )
    runtime.shadow_compare(model, rows, names, answer)
    # Serialised here, once: returning the model would make FastAPI validate and encode it again.
    payload = {
        "variant": model.alias,
        "mode": settings.mode,
        "version": model.version,
        "prediction": answer,
    }
    return Response(json.dumps(payload, separators=(",", ":")), media_type="application/json")


@router.post("/predict", response_model=PredictResponse, responses={**NOT_LOADED, **BAD_INPUT})
async def predict(
    body: PredictRequest, runtime: RuntimeDep, request: Request, x_client_id: ClientId = None
) -> Response:
    """Routed by ALIAS_SELECTION_MODE; falls back to the loaded alias when the routed one is not."""
    s = runtime.settings
    routed = choose_alias(
        s.mode, s.default_alias, s.canary_percent, s.ab_split_percent, x_client_id
    )
    model = runtime.store.get(routed) or runtime.store.get(other_alias(routed))
    if model is None:
        runtime.metrics.requests.labels(routed, "503").inc()
        raise HTTPException(503, "no model is loaded")
    serving = _serve(runtime, model, body, x_client_id, routed)
    return await mirrored(request, x_client_id, serving)  # blue-green: app/mirror.py


@router.post(
    "/variant/{alias}/predict",
    response_model=PredictResponse,
    responses={**NOT_LOADED, **BAD_INPUT, 404: {"description": "unknown alias"}},
)
async def predict_variant(
    alias: str, body: PredictRequest, runtime: RuntimeDep, x_client_id: ClientId = None
) -> Response:
    """The same on the named alias, for manual checks and shadow tests."""
    if alias not in ALIASES:
        raise HTTPException(404, f"unknown alias {alias!r}; use A or B")
    model = runtime.store.get(alias)
    if model is None:
        raise HTTPException(503, f"alias {alias} is not loaded")
    return await _serve(runtime, model, body, x_client_id, alias)
