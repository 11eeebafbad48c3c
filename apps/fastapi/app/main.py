"""The ASGI app: `uvicorn app.main:app --app-dir apps/fastapi`. Models load in the lifespan,
never at import; with none loaded the process exits non-zero with a clear message."""

from __future__ import annotations

import asyncio
import gc
import math
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from loguru import logger
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from app.admission import Admission, AdmissionGate
from app.alerts import SlackNotifier
from app.config import Settings, SettingsError, load_settings, settings_or_defaults
from app.logs import configure_logging, remove_sinks
from app.metrics import Metrics
from app.mirror import start_mirror, stop_mirror
from app.models import ModelStore
from app.redact import redact_url
from app.requestlog import failure, validation_reason
from app.routes import models, ops, predict
from app.runtime import Runtime
from app.server import MAX_HEAD_BYTES
from app.workers import (
    UnsafeMetricsDirError,
    forget_dead_workers,
    mark_dead,
    metrics_dir,
    release_slots,
    use_multiprocess_metrics,
)


class StartupError(RuntimeError):
    """The app cannot serve: bad settings or no model."""


async def start_runtime(settings: Settings) -> Runtime:
    store = ModelStore(
        settings.tracking_uri,
        settings.model_name,
        settings.registry_timeout_seconds,
        pins=settings.pins(),
    )
    multiprocess = settings.workers > 1
    if multiprocess:
        shared = metrics_dir()
        forget_dead_workers(shared, os.getppid(), starting=True)
        use_multiprocess_metrics(shared)
    runtime = Runtime(
        settings,
        store,
        Metrics(multiprocess=multiprocess),
        SlackNotifier(
            settings.slack_webhook_url, settings.slack_timeout_seconds, settings.model_name
        ),
    )
    # where the registry's aliases point is asked beside the loads, not after them: a registry
    # that hangs costs its bounded wait once
    errors, _ = await asyncio.gather(store.load_all(), runtime.observe_registry_quietly())
    for alias, error in errors.items():
        logger.error("could not load {}@{}: {}", settings.model_name, alias, error)
    if not store.loaded():
        await runtime.aclose()
        raise StartupError(
            f"no model of {settings.model_name!r} could be loaded from "
            f"{redact_url(settings.tracking_uri)}; refusing to start"
        )
    runtime.refresh_health()
    tune_for_serving()
    return runtime


def tune_for_serving() -> None:
    """Found by profiling under load (see BENCHMARKS.md): scikit-learn re-checks every input for
    NaN and re-validates its parameters on each call, which our input check already covers; and
    the full garbage collections of a heap holding MLflow, pandas and scikit-learn stall requests
    for tens of milliseconds. Freezing what start-up allocated keeps those out of the tail."""
    try:
        import sklearn

        sklearn.set_config(assume_finite=True, skip_parameter_validation=True)
    except ImportError:  # a model of another flavour: nothing to tune
        pass
    gc.collect()
    gc.freeze()


class HeaderSizeLimit:
    """Refuse a request whose head (path, query and headers) is over MAX_HEAD_BYTES with 431.

    The server protocol (`app.server`, set in the image's uvicorn command) refuses such a head
    while reading it, before it is held in memory; this is the same bound for any other server.
    Plain ASGI: Starlette's BaseHTTPMiddleware costs a task and a stream per request."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_HEAD_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            size += sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            if size > self.max_bytes:
                response = JSONResponse(
                    {"detail": "request header fields too large"},
                    status_code=431,
                    headers={"connection": "close"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _json_safe(value: Any) -> Any:
    """NaN and infinities as text: a refused non-finite input is echoed in a 422 that is valid
    JSON (the default handler would fail to encode it and answer 500)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own 422 body (`{"detail": [{"type", "loc", "msg", "input"}, ...]}`), for every
    input the schema refuses, however its values look."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    failure(request, 422, validation_reason(list(errors)))
    return JSONResponse({"detail": _json_safe(jsonable_encoder(errors))}, status_code=422)


async def too_large(request: Request, exc: Exception) -> JSONResponse:
    """413 closes the connection: the client may still be sending the rest of a large body, which
    would otherwise be read (and thrown away) to keep the connection alive."""
    detail = exc.detail if isinstance(exc, StarletteHTTPException) else "request body too large"
    failure(request, 413, detail)
    return JSONResponse({"detail": detail}, status_code=413, headers={"connection": "close"})


async def http_error(request: Request, exc: Exception) -> Any:
    """FastAPI's own answer to an HTTPException (404, 503, a prediction's 4xx or 500), logged:
    with uvicorn's access log off, the request log is where a failed request shows."""
    assert isinstance(exc, StarletteHTTPException)
    failure(request, exc.status_code, exc.detail)
    return await http_exception_handler(request, exc)


class StartupFailureMessage:
    """A start refused for a reason of ours (a setting, no model, an unsafe metrics folder) is one
    line in the pod log, `cannot start: <reason>`, instead of Starlette's traceback, whose last line
    repeats the reason and whose other lines help nobody."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def clean(message: Any) -> None:
            reason = getattr(scope["app"].state, "startup_error", None)
            if message["type"] == "lifespan.startup.failed" and reason:
                message = {**message, "message": f"cannot start: {reason}"}
            await send(message)

        await self.app(scope, receive, clean)


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            active = settings or load_settings()
            sinks = configure_logging(active.log_dir, active.mode, active.workers)
        except SettingsError as exc:
            app.state.startup_error = str(exc)
            raise
        try:
            runtime = await start_runtime(active)
        except Exception as exc:
            if isinstance(exc, StartupError | SettingsError | UnsafeMetricsDirError):
                app.state.startup_error = str(exc)
            remove_sinks(sinks)
            release_slots()
            raise
        app.state.runtime = runtime
        admission.shed = runtime.metrics.shed
        app.state.mirror = start_mirror(active, runtime.metrics.registry)
        poller = None
        if active.poll_interval_seconds > 0:
            poller = asyncio.create_task(runtime.poll_aliases())
        logger.info(
            "serving {} in {} mode: loaded {}{}",
            active.model_name,
            active.mode,
            ", ".join(runtime.store.loaded()),
            "".join(f"; {a} pinned to v{v}" for a, v in runtime.store.pins.items()),
        )
        try:
            yield
        finally:
            if poller is not None:
                poller.cancel()
            await stop_mirror(app.state.mirror)
            await runtime.aclose()
            await logger.complete()
            remove_sinks(sinks)
            mark_dead()  # its live gauges leave /metrics; its counters stay counted
            release_slots()

    # The limits are needed when the app is built, before the lifespan loads (and checks) the
    # settings. The body limit is counted while the body is read, however it arrives
    # (Content-Length or chunked): refused with 413 as soon as it is passed, never held whole.
    limits = settings or settings_or_defaults()
    admission = Admission.from_settings(limits)
    app = FastAPI(
        max_body_size=limits.max_body_bytes,
        title="Model serving",
        version="1.0.0",
        lifespan=lifespan,
        description="MLflow registry models by alias, with A/B, canary and blue-green "
        "routing and safe hot reload.",
    )

    app.add_middleware(HeaderSizeLimit)
    app.add_middleware(AdmissionGate, admission=admission)  # sheds before anything reads
    app.add_middleware(StartupFailureMessage)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(413, too_large)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.include_router(predict.router)
    app.include_router(models.router)
    app.include_router(ops.router)
    return app


app = create_app()
