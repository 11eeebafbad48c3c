"""GET /models and POST /variant/{alias}/reload (behind the reload token)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException
from loguru import logger

from app.models import AliasNotFoundError
from app.pins import timestamp
from app.redact import redact_text
from app.routing import ALIASES
from app.runtime import RuntimeDep

router = APIRouter(tags=["models"])
Token = Annotated[str | None, Header(alias="x-token")]


@router.get("/models")
async def models(runtime: RuntimeDep) -> dict[str, Any]:
    """What each loaded alias serves; per alias the version pinned in Git, the one the registry's
    alias pointed to when last asked (`registry.checked_at`) and whether they differ; how the
    shadow alias compares."""
    view = runtime.registry_view
    return {
        "model": runtime.settings.model_name,
        "mode": runtime.settings.mode,
        "default_alias": runtime.settings.default_alias,
        "models": [runtime.store.models[a].describe() for a in runtime.store.loaded()],
        "missing": runtime.store.missing(),
        "versions": {state.alias: state.describe() for state in runtime.versions()},
        "registry": {
            "checked_at": timestamp(view.checked_at if view else None),
            "error": runtime.registry_error,
        },
        "shadow": runtime.shadow_summary(),
    }


def _check_token(given: str | None, expected: str, alias: str) -> None:
    if not expected:
        raise HTTPException(403, "reload is disabled: RELOAD_SECRET_TOKEN is not set")
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        logger.warning(
            "refused reload of {}: {} token", alias, "missing" if given is None else "wrong"
        )
        raise HTTPException(401, "a valid x-token header is required")


@router.post(
    "/variant/{alias}/reload",
    responses={
        401: {"description": "missing or wrong token"},
        403: {"description": "reload disabled"},
        404: {"description": "unknown alias, or the alias no longer exists"},
        502: {"description": "the registry failed; the old model is still served"},
    },
)
async def reload(alias: str, runtime: RuntimeDep, x_token: Token = None) -> dict[str, Any]:
    """Load the version the alias points to now (a pinned alias: its pinned version again);
    answers once the new model is swapped in."""
    if alias not in ALIASES:
        raise HTTPException(404, f"unknown alias {alias!r}; use A or B")
    _check_token(x_token, runtime.settings.reload_token, alias)
    try:
        outcome = await runtime.reload(alias)
    except AliasNotFoundError as exc:
        raise HTTPException(404, f"{exc}; the alias was unloaded") from None
    except Exception as exc:
        current = runtime.store.get(alias)
        raise HTTPException(
            502,
            {
                "error": redact_text(str(exc)),  # MLflow's texts may show a URL's password
                "serving_version": current.version if current else None,
            },
        ) from None
    runtime.spawn(runtime.observe_registry_quietly())  # /models shows the registry's side too
    return {
        "alias": alias,
        "version": outcome.version,
        "previous_version": outcome.previous_version,
        "pinned": alias in runtime.store.pins,
    }
