"""Settings from environment variables, as the Helm values set them. A bad value stops the app at
start with a message naming the variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from app.routing import ALIASES, MODES


class SettingsError(ValueError):
    """A variable is missing or invalid; the message names it."""


@dataclass(frozen=True)
class Settings:
    tracking_uri: str
    model_name: str
    default_alias: str = "B"
    mode: str = "blue_green"
    canary_percent: int = 10
    ab_split_percent: int = 90
    reload_token: str = ""
    slack_webhook_url: str = ""
    log_dir: str = "/app/logs"
    poll_interval_seconds: float = 30.0
    shadow_alias: str = ""
    shadow_percent: int = 100
    shadow_tolerance: float = 0.0
    max_batch_rows: int = 10_000
    slack_timeout_seconds: float = 3.0
    request_log: bool = True


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is outside {low}..{high}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise SettingsError(f"{name}={raw} must not be negative")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, "").strip() or default
    if value not in allowed:
        raise SettingsError(f"{name}={value!r} must be one of {', '.join(allowed)}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    tracking_uri = env.get("MLFLOW_TRACKING_URI", "").strip()
    if not tracking_uri:
        raise SettingsError("MLFLOW_TRACKING_URI is not set")
    if urlparse(tracking_uri).scheme not in ("http", "https", "file", "sqlite", ""):
        raise SettingsError(f"MLFLOW_TRACKING_URI={tracking_uri!r} is not a tracking URI")
    model_name = env.get("MODEL_NAME", "").strip()
    if not model_name:
        raise SettingsError("MODEL_NAME is not set")
    shadow = env.get("SHADOW_ALIAS", "").strip()
    if shadow and shadow not in ALIASES:
        raise SettingsError(f"SHADOW_ALIAS={shadow!r} must be A, B or empty")
    webhook = env.get("SLACK_WEBHOOK_URL", "").strip()
    if webhook and urlparse(webhook).scheme not in ("http", "https"):
        raise SettingsError("SLACK_WEBHOOK_URL is not an http(s) URL")
    return Settings(
        tracking_uri=tracking_uri,
        model_name=model_name,
        default_alias=_choice(env, "DEFAULT_ALIAS", "B", ALIASES),
        mode=_choice(env, "ALIAS_SELECTION_MODE", "blue_green", MODES),
        canary_percent=_int(env, "CANARY_PERCENT", 10, 0, 100),
        ab_split_percent=_int(env, "AB_SPLIT_PERCENT", 90, 0, 100),
        reload_token=env.get("RELOAD_SECRET_TOKEN", ""),
        slack_webhook_url=webhook,
        log_dir=env.get("LOG_DIR", "").strip() or "/app/logs",
        poll_interval_seconds=_float(env, "ALIAS_POLL_INTERVAL_SECONDS", 30.0),
        shadow_alias=shadow,
        shadow_percent=_int(env, "SHADOW_PERCENT", 100, 0, 100),
        shadow_tolerance=_float(env, "SHADOW_TOLERANCE", 0.0),
        max_batch_rows=_int(env, "MAX_BATCH_ROWS", 10_000, 1, 10_000_000),
        slack_timeout_seconds=_float(env, "SLACK_TIMEOUT_SECONDS", 3.0),
        request_log=env.get("REQUEST_LOG", "true").strip().lower() not in ("0", "false", "no"),
    )
