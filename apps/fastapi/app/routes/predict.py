"""POST /predict (routed) and POST /variant/{alias}/predict (named)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import anyio
import numpy as np
from fastapi import APIRouter, Header, HTTPException, Request, Response
from fastapi.routing import APIRoute
from loguru import logger

from app.fastbody import fast_rows
from app.inputs import InputError, PredictRequest, PredictResponse, checked_array, to_array
from app.jsonbody import OrjsonRequest, OrjsonRoute
from app.mirror import mirrored
from app.models import LoadedModel
from app.routing import ALIASES, choose_alias, other_alias
from app.runtime import Runtime, RuntimeDep

Rows = PredictRequest | np.ndarray[Any, Any]  # a validated body, or app.fastbody's array
# Larger batches run in a worker thread so one big request does not stall every other one.
THREAD_ROWS = 1_000
CLIENT_ID_MAX = 256
JSON_TYPES = ("application/json", "application/json; charset=utf-8")
ClientId = Annotated[str | None, Header(alias="x-client-id", max_length=CLIENT_ID_MAX)]
NOT_LOADED: dict[int | str, dict[str, Any]] = {
    503: {"description": "no model is loaded for this alias"}
}
BAD_INPUT: dict[int | str, dict[str, Any]] = {
    413: {"description": "too many rows"},
    422: {"description": "rows the model cannot take"},
}


async def _serve(
    runtime: Runtime, model: LoadedModel, body: Rows, client_id: str | None, routed: str
) -> Response:
    settings = runtime.settings
    start = time.perf_counter()
    try:
        if isinstance(body, PredictRequest):
            rows, names = to_array(body, model.n_features, model.columns, settings.max_batch_rows)
        else:
            rows, names = checked_array(
                body, model.n_features, model.columns, settings.max_batch_rows
            )
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


async def _routed(
    runtime: Runtime, request: Request, body: Rows, x_client_id: str | None
) -> Response:
    s = runtime.settings
    routed = choose_alias(
        s.mode, s.default_alias, s.canary_percent, s.ab_split_percent, x_client_id
    )
    model = runtime.store.get(routed) or runtime.store.get(other_alias(routed))
    if model is None:
        runtime.metrics.requests.labels(routed, "503").inc()
        raise HTTPException(503, "no model is loaded")
    serving = _serve(runtime, model, body, x_client_id, routed)
    raw = await request.body()  # read already: the bytes the mirror copies (blue-green)
    return await mirrored(request, raw, x_client_id, serving)  # app/mirror.py


class FastPredictRoute(OrjsonRoute):
    """POST /predict: a body `app.fastbody` reads (plain rows, the common case) is served from
    its array, past FastAPI's dependency solver and pydantic; any other body, and a client id
    the header's schema would refuse, through FastAPI exactly as declared below. The body is
    read once, through the app's body limit; the full path finds it read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        # FastAPI's own handler, given the OrjsonRequest made here (its body read and kept):
        # OrjsonRoute's wrapper would make a new Request that reads the body again, and wait
        full = APIRoute.get_route_handler(self)

        async def predict_fast(request: Request) -> Response:
            request = OrjsonRequest(request.scope, request.receive)
            body = await request.body()
            client_id = request.headers.get("x-client-id")
            rows = None
            # FastAPI reads a body as JSON by its content type: the two everyone sends go here
            if request.headers.get("content-type") in JSON_TYPES and (
                client_id is None or len(client_id) <= CLIENT_ID_MAX
            ):
                rows = fast_rows(body)
            if rows is None:
                return await full(request)
            return await _routed(request.app.state.runtime, request, rows, client_id)

        return predict_fast


router = APIRouter(tags=["predict"], route_class=OrjsonRoute)  # JSON bodies parsed by orjson


async def predict(
    body: PredictRequest, runtime: RuntimeDep, request: Request, x_client_id: ClientId = None
) -> Response:
    """Routed by ALIAS_SELECTION_MODE; falls back to the loaded alias when the routed one is not."""
    return await _routed(runtime, request, body, x_client_id)


router.add_api_route(  # as @router.post, with the route class that serves plain rows directly
    "/predict",
    predict,
    methods=["POST"],
    response_model=PredictResponse,
    responses={**NOT_LOADED, **BAD_INPUT},
    route_class_override=FastPredictRoute,
)


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
