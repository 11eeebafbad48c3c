"""The ASGI app: `uvicorn app.main:app --app-dir apps/fastapi`. Models load in the lifespan,
never at import; with none loaded the process exits non-zero with a clear message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from loguru import logger

from app.alerts import SlackNotifier
from app.config import Settings, load_settings
from app.logs import configure_logging, remove_sinks
from app.metrics import Metrics
from app.models import ModelStore
from app.routes import models, ops, predict
from app.runtime import Runtime

MAX_BODY_BYTES = 32 * 1024 * 1024


class StartupError(RuntimeError):
    """The app cannot serve: bad settings or no model."""


async def start_runtime(settings: Settings) -> Runtime:
    store = ModelStore(settings.tracking_uri, settings.model_name)
    runtime = Runtime(
        settings,
        store,
        Metrics(),
        SlackNotifier(
            settings.slack_webhook_url, settings.slack_timeout_seconds, settings.model_name
        ),
    )
    errors = await store.load_all()
    for alias, error in errors.items():
        logger.error("could not load {}@{}: {}", settings.model_name, alias, error)
    if not store.loaded():
        await runtime.aclose()
        raise StartupError(
            f"no model of {settings.model_name!r} could be loaded from "
            f"{settings.tracking_uri}; refusing to start"
        )
    runtime.refresh_health()
    return runtime


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        active = settings or load_settings()
        sinks = configure_logging(active.log_dir, active.mode)
        try:
            runtime = await start_runtime(active)
        except Exception:
            remove_sinks(sinks)
            raise
        app.state.runtime = runtime
        poller = None
        if active.poll_interval_seconds > 0:
            poller = asyncio.create_task(runtime.poll_aliases())
        logger.info(
            "serving {} in {} mode: loaded {}",
            active.model_name,
            active.mode,
            ", ".join(runtime.store.loaded()),
        )
        try:
            yield
        finally:
            if poller is not None:
                poller.cancel()
            await runtime.aclose()
            await logger.complete()
            remove_sinks(sinks)

    app = FastAPI(
        title="Model serving",
        version="1.0.0",
        lifespan=lifespan,
        description="MLflow registry models by alias, with A/B, canary and blue-green "
        "routing and safe hot reload.",
    )

    @app.middleware("http")
    async def limit_body(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return JSONResponse({"detail": "request body too large"}, status_code=413)
        return await call_next(request)

    app.include_router(predict.router)
    app.include_router(models.router)
    app.include_router(ops.router)
    return app


app = create_app()
