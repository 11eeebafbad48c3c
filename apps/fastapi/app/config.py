"""Settings from environment variables, as the Helm chart sets them (pydantic-settings). A bad
value stops the app at start with a message naming the variable and the value."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import AfterValidator, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from app.redact import redact_url

# The default body limit fits the chart's 1 GiB memory limit with room for the models: a request
# costs at most about 12 times its body while it is parsed (measured, see README "Reliability").
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
# One answered prediction in 10 is logged (every failure is): the log line's share of a
# prediction's CPU drops from ~13% to ~1.3%, and a client sending a few requests a second still
# leaves a line every few seconds. 1 logs every prediction. See app/requestlog.py.
DEFAULT_REQUEST_LOG_SAMPLE = 10
# Admission (app/admission.py): predictions being read, parsed or answered at once in one process.
# The byte budget bounds memory and how long /livez can wait behind parsing: one body of the
# largest size (~140 MB while parsed), or many small ones; a request without Content-Length
# counts as MAX_BODY_BYTES. The count bounds the rest (tasks, slow clients).
DEFAULT_MAX_CONCURRENT_PREDICTIONS = 64
DEFAULT_MAX_CONCURRENT_BODY_BYTES = DEFAULT_MAX_BODY_BYTES
# Deadlines of the server protocol (app/server.py): a request head must arrive within this many
# seconds of its first byte, a body within this many seconds of the end of its head.
DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0
DEFAULT_BODY_TIMEOUT_SECONDS = 30.0
# Settings never printed whole: secrets as their length, URLs (which may carry a password, and a
# Slack webhook's path is its key) as scheme and host.
SECRET_VARIABLES = frozenset({"RELOAD_SECRET_TOKEN"})
URL_VARIABLES = frozenset({"MLFLOW_TRACKING_URI", "SLACK_WEBHOOK_URL", "PREVIEW_URL"})


class SettingsError(ValueError):
    """A variable is missing or invalid; the message names it."""


def _tracking_uri(value: str) -> str:
    if urlparse(value).scheme not in ("http", "https", "file", "sqlite", ""):
        raise ValueError("is not a tracking URI (http, https, file or sqlite)")
    return value


def _model_version(value: str) -> str:
    # MLflow numbers a registered model's versions 1, 2, ...; the string form is what its API
    # takes and answers, so a pin stays a string (no "07", no "+7", no "7.0")
    if value and not (value.isascii() and value.isdigit() and value[0] != "0" and len(value) < 19):
        raise ValueError("is not a model version (a positive integer, e.g. '7')")
    return value


def _webhook(value: str) -> str:
    if value and urlparse(value).scheme not in ("http", "https"):
        raise ValueError("is not an http(s) URL")
    return value


NonNegative = Annotated[float, Field(ge=0)]
Seconds = Annotated[float, Field(gt=0, le=3600)]


class Settings(BaseSettings):
    """Each field is read from the variable named by its alias; empty values mean the default."""

    model_config = SettingsConfigDict(
        frozen=True,
        populate_by_name=True,  # tests and tools build Settings(tracking_uri=...) directly
        case_sensitive=True,
        env_ignore_empty=True,
        str_strip_whitespace=True,
        extra="ignore",
    )

    tracking_uri: Annotated[
        str,
        Field(alias="MLFLOW_TRACKING_URI", min_length=1, repr=False),
        AfterValidator(_tracking_uri),
    ]
    model_name: Annotated[str, Field(alias="MODEL_NAME", min_length=1)]
    default_alias: Annotated[Literal["A", "B"], Field(alias="DEFAULT_ALIAS")] = "B"
    mode: Annotated[
        Literal["ab_test", "canary", "blue_green"], Field(alias="ALIAS_SELECTION_MODE")
    ] = "blue_green"
    canary_percent: Annotated[int, Field(alias="CANARY_PERCENT", ge=0, le=100)] = 10
    ab_split_percent: Annotated[int, Field(alias="AB_SPLIT_PERCENT", ge=0, le=100)] = 90
    reload_token: Annotated[str, Field(alias="RELOAD_SECRET_TOKEN", repr=False)] = ""
    slack_webhook_url: Annotated[
        str, Field(alias="SLACK_WEBHOOK_URL", repr=False), AfterValidator(_webhook)
    ] = ""
    log_dir: Annotated[str, Field(alias="LOG_DIR")] = "/app/logs"
    poll_interval_seconds: Annotated[NonNegative, Field(alias="ALIAS_POLL_INTERVAL_SECONDS")] = 30.0
    shadow_alias: Annotated[Literal["", "A", "B"], Field(alias="SHADOW_ALIAS")] = ""
    shadow_percent: Annotated[int, Field(alias="SHADOW_PERCENT", ge=0, le=100)] = 100
    shadow_tolerance: Annotated[NonNegative, Field(alias="SHADOW_TOLERANCE")] = 0.0
    max_batch_rows: Annotated[int, Field(alias="MAX_BATCH_ROWS", ge=1, le=10_000_000)] = 10_000
    max_body_bytes: Annotated[int, Field(alias="MAX_BODY_BYTES", ge=1024, le=1024**3)] = (
        DEFAULT_MAX_BODY_BYTES
    )
    slack_timeout_seconds: Annotated[NonNegative, Field(alias="SLACK_TIMEOUT_SECONDS")] = 3.0
    registry_timeout_seconds: Annotated[
        int, Field(alias="REGISTRY_TIMEOUT_SECONDS", ge=1, le=600)
    ] = 5
    request_log: Annotated[bool, Field(alias="REQUEST_LOG")] = True
    # blue-green of the serving image (app/mirror.py): this colour, its version, and the preview
    # Service PREVIEW_SHADOW_PERCENT of live /predict requests are copied to
    app_color: Annotated[Literal["", "blue", "green"], Field(alias="APP_COLOR")] = ""
    app_version: Annotated[str, Field(alias="APP_VERSION", max_length=128)] = ""
    preview_url: Annotated[
        str, Field(alias="PREVIEW_URL", repr=False), AfterValidator(_webhook)
    ] = ""
    preview_shadow_percent: Annotated[int, Field(alias="PREVIEW_SHADOW_PERCENT", ge=0, le=100)] = 0
    # uvicorn's own variable for its worker count (the chart's `workers`); the app reads it to run
    # its metrics and logs in multi-process mode (app/workers.py)
    workers: Annotated[int, Field(alias="WEB_CONCURRENCY", ge=1, le=64)] = 1
    request_log_sample: Annotated[int, Field(alias="REQUEST_LOG_SAMPLE", ge=1, le=1_000_000)] = (
        DEFAULT_REQUEST_LOG_SAMPLE
    )
    max_concurrent_predictions: Annotated[
        int, Field(alias="MAX_CONCURRENT_PREDICTIONS", ge=1, le=100_000)
    ] = DEFAULT_MAX_CONCURRENT_PREDICTIONS
    max_concurrent_body_bytes: Annotated[
        int, Field(alias="MAX_CONCURRENT_BODY_BYTES", ge=1024, le=64 * 1024**3)
    ] = DEFAULT_MAX_CONCURRENT_BODY_BYTES
    header_timeout_seconds: Annotated[Seconds, Field(alias="HEADER_TIMEOUT_SECONDS")] = (
        DEFAULT_HEADER_TIMEOUT_SECONDS
    )
    body_timeout_seconds: Annotated[Seconds, Field(alias="BODY_TIMEOUT_SECONDS")] = (
        DEFAULT_BODY_TIMEOUT_SECONDS
    )

    @model_validator(mode="after")
    def _a_full_body_is_admissible(self) -> Settings:
        if self.max_concurrent_body_bytes < self.max_body_bytes:
            raise ValueError(
                f"MAX_CONCURRENT_BODY_BYTES={self.max_concurrent_body_bytes} is less than "
                f"MAX_BODY_BYTES={self.max_body_bytes}: a body the limit accepts would always be "
                "refused with 503; raise MAX_CONCURRENT_BODY_BYTES or lower MAX_BODY_BYTES"
            )
        return self

    # Pins (the spec's model.versions, rendered into the values' env): a pinned alias serves
    # exactly models:/<name>/<version> and never follows the registry's alias; empty = follow
    # the alias (app/pins.py)
    model_version_a: Annotated[
        str, Field(alias="MODEL_VERSION_A"), AfterValidator(_model_version)
    ] = ""
    model_version_b: Annotated[
        str, Field(alias="MODEL_VERSION_B"), AfterValidator(_model_version)
    ] = ""

    def pins(self) -> dict[str, str]:
        """Alias -> pinned version, for the pinned aliases only."""
        given = {"A": self.model_version_a, "B": self.model_version_b}
        return {alias: version for alias, version in given.items() if version}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],  # noqa: ARG003 - pydantic-settings' signature
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what load_settings passes (read from the environment it is given) or what a caller
        # passes directly: a test's Settings(...) never picks up the developer's environment.
        return (init_settings,)


def variables() -> dict[str, str]:
    """Environment variable -> field name, for every setting."""
    return {str(f.alias): name for name, f in Settings.model_fields.items()}


def shown(name: str, value: Any) -> str:
    """A variable's value as an error message may show it: secrets and URLs redacted."""
    if name in SECRET_VARIABLES:
        return f"<{len(str(value))} characters, redacted>"
    if name in URL_VARIABLES:
        return repr(redact_url(str(value)))
    return repr(value)


def _message(error: Mapping[str, Any]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:  # a rule over several variables: its message names them
        return message
    name = str(error["loc"][0])
    if error["type"] == "missing":
        return f"{name} is not set"
    return f"{name}={shown(name, error.get('input'))}: {message}"


def settings_or_defaults() -> Settings:
    """The settings of this process's environment, or the defaults where they are invalid: for
    the limits the server needs before the lifespan runs (which then reports the error)."""
    try:
        return load_settings()
    except SettingsError:
        return Settings(tracking_uri="unset", model_name="unset")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from `env` (the process environment by default) through pydantic-settings' own
    environment source: the same parsing (empty = default, booleans, case) in tests and pods."""
    given = os.environ if env is None else env

    class _Given(EnvSettingsSource):
        def _load_env_vars(self) -> Mapping[str, str | None]:
            return {k: v for k, v in given.items() if not (self.env_ignore_empty and v == "")}

    values = _Given(Settings)()
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError("; ".join(_message(e) for e in exc.errors())) from None
