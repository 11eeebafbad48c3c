"""The models being served: loaded from the MLflow registry by alias (or, for an alias pinned in
Git, by version), swapped atomically.

A reload loads the new version beside the old one (in a worker thread, so requests keep being
served), then replaces one dict entry: a request that already holds the old model finishes on it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.fastpredict import fast_sklearn_predict
from app.routing import ALIASES


class RegistryError(RuntimeError):
    """The registry could not be reached or the model could not be loaded."""


class AliasNotFoundError(RegistryError):
    """MLflow itself answered that the alias does not exist (any more): the only failure that
    unloads a model."""


class PinNotFoundError(AliasNotFoundError):
    """MLflow itself answered that the version pinned for an alias does not exist (deleted).
    It unloads the alias like a deleted alias does, so a replica that reloads or restarts and
    one that does not agree on what is served."""


# MLflow's client reads these for every HTTP request it makes (mlflow/utils/rest_utils.py).
# Its defaults (7 retries, backoff factor 2, 120 s timeout) make a call to an unreachable
# registry take about four minutes.
REGISTRY_RETRIES = 2
REGISTRY_BACKOFF_FACTOR = 1


def bound_registry_calls(timeout_seconds: int) -> None:
    """Every MLflow HTTP request waits at most `timeout_seconds` for a connection or a byte, and is
    tried at most 1 + REGISTRY_RETRIES times with 0 then 2 s between tries: a call to a registry
    that cannot be reached gives up within 3 * timeout + 2 s. A download that keeps receiving bytes
    is not cut short, however large the model."""
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(timeout_seconds)
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(REGISTRY_RETRIES)
    os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] = str(REGISTRY_BACKOFF_FACTOR)
    os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"] = "0"


def registry_says_missing(exc: BaseException, tracking_uri: str, alias: str) -> bool:
    """True only for MLflow's own answer that the alias (or its model) does not exist.

    MLflow answers a missing model or version with error code RESOURCE_DOES_NOT_EXIST, and a
    missing alias with INVALID_PARAMETER_VALUE and the exact message `Registered model alias <alias>
    not found.` (mlflow/store/model_registry/*_store.py). Over HTTP these arrive as MLflow's JSON
    error body, which the client raises as a RestException; a local store (file:, sqlite:) raises
    them directly. Nothing else unloads: not a 404 page of a proxy or ingress (MLflow raises it as
    ENDPOINT_NOT_FOUND), not a 5xx, a timeout or a refused connection, and not any other text that
    happens to say "not found"."""
    from mlflow.exceptions import MlflowException, RestException

    if isinstance(exc, RestException):
        body = exc.json if isinstance(exc.json, dict) else {}
        code, message = body.get("error_code"), body.get("message")
    elif isinstance(exc, MlflowException) and tracking_uri.split(":", 1)[0].lower() not in (
        "http",
        "https",
    ):
        code, message = exc.error_code, exc.message
    else:
        return False
    if code == "RESOURCE_DOES_NOT_EXIST":
        return True
    return code == "INVALID_PARAMETER_VALUE" and message == (
        f"Registered model alias {alias} not found."
    )


@dataclass(frozen=True)
class LoadedModel:
    alias: str
    name: str
    version: str
    run_id: str
    model_uri: str
    loaded_at: float
    predict: Callable[[np.ndarray[Any, Any], list[str] | None], list[Any]]
    n_features: int | None
    columns: tuple[str, ...] | None
    # how predict runs: "pyfunc", "raw" (the flavour's own object) or a fast path of
    # app.fastpredict ("linear_classifier", "decision_tree")
    predict_path: str = "pyfunc"

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            "run_id": self.run_id,
            "model_uri": self.model_uri,
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.loaded_at)),
            "n_features": self.n_features,
            "columns": list(self.columns) if self.columns else None,
        }


@dataclass(frozen=True)
class ReloadOutcome:
    alias: str
    version: str | None
    previous_version: str | None


def _build_predict(
    pyfunc_model: Any,
) -> tuple[Callable[..., list[Any]], int | None, tuple[str, ...] | None, str]:
    """A predict function over a float array and the name of its path; the raw model skips
    pyfunc's per-call conversion when the signature is a tensor (no column names to honour), and
    a scikit-learn estimator app.fastpredict knows skips scikit-learn's own input checks too."""
    import pandas as pd

    schema = pyfunc_model.metadata.get_input_schema()
    columns: tuple[str, ...] | None = None
    n_features: int | None = None
    if schema is not None and not schema.is_tensor_spec():
        columns = tuple(schema.input_names())
        n_features = len(columns)
    elif schema is not None:
        shape = schema.inputs[0].shape
        n_features = int(shape[-1]) if shape and len(shape) == 2 and shape[-1] > 0 else None
    raw = None
    # Only a scikit-learn model's raw object is known to take a plain float array (an XGBoost
    # Booster, for one, wants a DMatrix); every other flavour goes through pyfunc.
    if "sklearn" in (pyfunc_model.metadata.flavors or {}):
        try:
            raw = pyfunc_model.get_raw_model()
        except Exception:  # an older model without a raw object: use pyfunc as it is
            raw = None

    if columns is None and raw is not None and hasattr(raw, "predict"):
        known = fast_sklearn_predict(raw)
        if known is not None:

            def fast(rows: np.ndarray[Any, Any], _names: list[str] | None = None) -> list[Any]:
                return list(known(rows).tolist())

            return fast, n_features, columns, known.__name__

        def direct(rows: np.ndarray[Any, Any], _names: list[str] | None = None) -> list[Any]:
            return list(np.asarray(raw.predict(rows)).tolist())

        return direct, n_features, columns, "raw"

    def via_pyfunc(rows: np.ndarray[Any, Any], names: list[str] | None = None) -> list[Any]:
        frame = pd.DataFrame(rows, columns=list(names or columns or []) or None)
        return list(np.asarray(pyfunc_model.predict(frame)).tolist())

    return via_pyfunc, n_features, columns, "pyfunc"


@dataclass
class ModelStore:
    """What is loaded, per alias. Reads are lock-free; reloads of one alias are serialised."""

    tracking_uri: str
    model_name: str
    registry_timeout_seconds: int = 5
    # alias -> version pinned in Git: loaded as models:/<name>/<version>, never by alias
    pins: dict[str, str] = field(default_factory=dict)
    models: dict[str, LoadedModel] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bound_registry_calls(self.registry_timeout_seconds)

    def get(self, alias: str) -> LoadedModel | None:
        return self.models.get(alias)

    def loaded(self) -> list[str]:
        return [a for a in ALIASES if a in self.models]

    def missing(self) -> list[str]:
        return [a for a in ALIASES if a not in self.models]

    def _client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def resolve_version(self, alias: str) -> Any:
        """The registry's model version behind `alias` (blocking)."""
        from mlflow.exceptions import MlflowException

        try:
            return self._client().get_model_version_by_alias(self.model_name, alias)
        except MlflowException as exc:
            if registry_says_missing(exc, self.tracking_uri, alias):
                raise AliasNotFoundError(f"{self.model_name}@{alias} does not exist") from exc
            raise RegistryError(f"cannot resolve {self.model_name}@{alias}: {exc}") from exc
        except Exception as exc:  # connection errors come in many types
            raise RegistryError(
                f"cannot reach the registry for {self.model_name}@{alias}: {exc}"
            ) from exc

    def pinned_version(self, alias: str) -> Any:
        """The registry's record of the version pinned for `alias` (blocking); it must be READY."""
        from mlflow.exceptions import MlflowException

        pin = self.pins[alias]
        try:
            version = self._client().get_model_version(self.model_name, pin)
        except MlflowException as exc:
            if registry_says_missing(exc, self.tracking_uri, alias):
                raise PinNotFoundError(
                    f"{self.model_name} version {pin} (pinned for {alias}) does not exist"
                ) from exc
            raise RegistryError(f"cannot look up {self.model_name}/{pin}: {exc}") from exc
        except Exception as exc:
            raise RegistryError(
                f"cannot reach the registry for {self.model_name}/{pin}: {exc}"
            ) from exc
        status = str(getattr(version, "status", "READY") or "READY")
        if status != "READY":  # PENDING_REGISTRATION or FAILED_REGISTRATION: nothing to load yet
            raise RegistryError(f"{self.model_name} version {pin} is {status}, not READY")
        return version

    def registry_aliases(self) -> dict[str, str]:
        """Where the registry's aliases point now, alias -> version, in one request (blocking).

        Asked through `GET /api/2.0/mlflow/registered-models/get`, whose `aliases` are filled in;
        the search endpoints answer every version with empty aliases (mlflow/mlflow#16734). A
        registered model MLflow says does not exist has no aliases."""
        from mlflow.exceptions import MlflowException

        try:
            model = self._client().get_registered_model(self.model_name)
        except MlflowException as exc:
            if registry_says_missing(exc, self.tracking_uri, ""):
                return {}
            raise RegistryError(f"cannot read {self.model_name}'s aliases: {exc}") from exc
        except Exception as exc:
            raise RegistryError(f"cannot reach the registry for {self.model_name}: {exc}") from exc
        return {str(a): str(v) for a, v in (model.aliases or {}).items() if a in ALIASES}

    def load_blocking(self, alias: str) -> LoadedModel:
        import mlflow.pyfunc

        pinned = alias in self.pins
        version = self.pinned_version(alias) if pinned else self.resolve_version(alias)
        uri = f"models:/{self.model_name}/{version.version}"  # exactly the version resolved
        try:
            model = mlflow.pyfunc.load_model(uri)
        except Exception as exc:
            raise RegistryError(f"cannot load {uri} ({self.model_name}@{alias}): {exc}") from exc
        predict, n_features, columns, path = _build_predict(model)
        return LoadedModel(
            alias,
            self.model_name,
            str(version.version),
            str(version.run_id or ""),
            uri if pinned else f"models:/{self.model_name}@{alias}",
            time.time(),
            predict,
            n_features,
            columns,
            path,
        )

    def lock(self, alias: str) -> asyncio.Lock:
        return self._locks.setdefault(alias, asyncio.Lock())

    async def load_all(self) -> dict[str, Exception]:
        """Load every alias concurrently; returns the errors of those that failed."""
        results = await asyncio.gather(*(self.reload(a) for a in ALIASES), return_exceptions=True)
        return {a: r for a, r in zip(ALIASES, results, strict=True) if isinstance(r, Exception)}

    async def reload(self, alias: str) -> ReloadOutcome:
        """Load what `alias` points to now (its pinned version, when pinned) and swap it in; on
        failure the old model stays."""
        async with self.lock(alias):
            previous = self.models.get(alias)
            try:
                fresh = await asyncio.to_thread(self.load_blocking, alias)
            except AliasNotFoundError:
                self.models = {a: m for a, m in self.models.items() if a != alias}
                raise
            self.models = {**self.models, alias: fresh}  # one atomic swap of the mapping
            return ReloadOutcome(alias, fresh.version, previous.version if previous else None)

    def health(self) -> str:
        count = len(self.models)
        return "ok" if count == len(ALIASES) else ("degraded" if count else "unhealthy")
