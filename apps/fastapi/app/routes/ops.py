"""GET /, /health, /livez and /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from app.runtime import RuntimeDep

router = APIRouter(tags=["operations"])


@router.get("/")
async def index(request: Request) -> dict[str, Any]:
    """The endpoints of this service."""
    paths = request.app.openapi()["paths"]
    return {
        "service": "model-serving",
        "endpoints": [
            {"method": method.upper(), "path": path, "summary": op.get("summary", "")}
            for path, operations in sorted(paths.items())
            for method, op in sorted(operations.items())
        ],
        "docs": "/docs",
        "openapi": "/openapi.json",
    }


@router.get("/health", responses={503: {"description": "no model is loaded"}})
async def health(runtime: RuntimeDep) -> JSONResponse:
    """ok (A and B loaded), degraded (one) or unhealthy (none, answered with 503)."""
    status = runtime.refresh_health()
    body = {"status": status, "loaded": runtime.store.loaded(), "missing": runtime.store.missing()}
    return JSONResponse(body, status_code=503 if status == "unhealthy" else 200)


@router.get("/livez")
async def livez() -> dict[str, str]:
    """The process answers; never consults the registry (a registry outage must not restart pods)."""
    return {"status": "alive"}


@router.get("/metrics")
async def metrics(runtime: RuntimeDep) -> Response:
    return Response(runtime.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
