"""Everything a request needs, built once at start: settings, models, metrics, alerts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from loguru import logger

from app.alerts import SlackNotifier
from app.config import Settings
from app.metrics import Metrics
from app.models import (
    AliasNotFoundError,
    LoadedModel,
    ModelStore,
    PinNotFoundError,
    ReloadOutcome,
)
from app.pins import AliasVersions, RegistryView, alias_versions, without_credentials
from app.requestlog import EveryNth
from app.routing import ALIASES
from app.shadow import Sampler, agree


@dataclass
class Runtime:
    settings: Settings
    store: ModelStore
    metrics: Metrics
    notifier: SlackNotifier
    health_status: str = "unhealthy"
    shadow: dict[str, int] = field(default_factory=lambda: {"compared": 0, "agreed": 0})
    shadow_seconds: float = 0.0
    _background: set[asyncio.Task[Any]] = field(default_factory=set)
    _poll_failing: set[str] = field(default_factory=set)
    _sampler: Sampler | None = None
    request_log: EveryNth = field(init=False)  # which answered predictions get a log line
    # where the registry's aliases pointed when last asked (start, every poll, after a reload)
    registry_view: RegistryView | None = None
    registry_error: str | None = None

    def __post_init__(self) -> None:
        self.request_log = EveryNth(self.settings.request_log_sample)

    def versions(self) -> list[AliasVersions]:
        """Per alias: pinned in Git, where the registry's alias points, what is served."""
        serving = {alias: model.version for alias, model in self.store.models.items()}
        return alias_versions(self.store.pins, self.registry_view, serving)

    def refresh_version_metrics(self) -> None:
        for state in self.versions():
            self.metrics.version.labels(state.alias).set(float(state.serving or 0))
            self.metrics.pinned_version.labels(state.alias).set(float(state.pinned or 0))
            self.metrics.registry_version.labels(state.alias).set(float(state.registry or 0))
            self.metrics.pin_drift.labels(state.alias).set(1.0 if state.drift else 0.0)

    async def observe_registry(self) -> dict[str, str]:
        """Ask the registry where its aliases point (one request) and record it; raises
        RegistryError, after recording it, when the registry cannot say."""
        try:
            aliases = await asyncio.to_thread(self.store.registry_aliases)
        except Exception as exc:
            self.registry_error = without_credentials(str(exc))
            raise
        self.registry_view = RegistryView(aliases, time.time())
        self.registry_error = None
        self.refresh_version_metrics()
        return aliases

    async def observe_registry_quietly(self) -> None:
        try:
            await self.observe_registry()
        except Exception as exc:  # the last view (and the loaded models) stay as they were
            logger.warning("could not read {}'s aliases: {}", self.settings.model_name, exc)

    def refresh_health(self) -> str:
        status = self.store.health()
        self.refresh_version_metrics()
        if status != self.health_status:
            logger.info("health {} -> {}", self.health_status, status)
            self.notifier.notify(
                "health_changed",
                previous=self.health_status,
                status=status,
                loaded=", ".join(self.store.loaded()) or "none",
            )
            self.health_status = status
        return status

    async def reload(self, alias: str) -> ReloadOutcome:
        """Reload one alias, alert and count the result; re-raises a failure after recording it."""
        previous = self.store.get(alias)
        try:
            outcome = await self.store.reload(alias)
        except AliasNotFoundError:
            self.metrics.reloads.labels(alias, "unloaded").inc()
            logger.warning("{}@{} no longer exists; unloaded", self.settings.model_name, alias)
            self.notifier.notify("alias_unloaded", alias=alias)
            self.refresh_health()
            raise
        except Exception as exc:
            self.metrics.reloads.labels(alias, "failed").inc()
            logger.error("reload of {} failed: {}", alias, exc)
            self.notifier.notify(
                "reload_failed",
                alias=alias,
                error=exc,
                version=previous.version if previous else "none",
            )
            raise
        self._record_reload(outcome)
        return outcome

    def _record_reload(self, outcome: ReloadOutcome) -> None:
        alias = outcome.alias
        self.metrics.reloads.labels(alias, "succeeded").inc()
        logger.info("reloaded {}: v{} -> v{}", alias, outcome.previous_version, outcome.version)
        if outcome.previous_version != outcome.version:
            self.notifier.notify(
                "reload_succeeded",
                alias=alias,
                version=outcome.version,
                previous=outcome.previous_version or "none",
            )
        self.refresh_health()

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def poll_aliases(self) -> None:
        """Every replica converges on what the aliases point to, whichever pod got a reload call;
        a pinned alias stays on its pin, and the poll only records where the registry points."""
        interval = self.settings.poll_interval_seconds
        while True:
            await asyncio.sleep(interval)
            await self.poll_once()

    async def poll_once(self) -> None:
        try:
            aliases = await self.observe_registry()
        except Exception as exc:
            for alias in ALIASES:
                self._poll_failed(alias, exc)
            return
        for alias in ALIASES:
            self._poll_failing.discard(alias)
            if alias in self.store.pins:
                await self._load_missing_pin(alias)
            else:
                await self._follow(alias, aliases.get(alias))

    def _poll_failed(self, alias: str, exc: Exception) -> None:
        """The registry (or anything in front of it) failed: keep serving what is loaded, count
        it, and alert once per outage rather than at every poll."""
        current = self.store.get(alias)
        self.metrics.reloads.labels(alias, "failed").inc()
        logger.warning("alias poll for {} failed: {}", alias, exc)
        if alias not in self._poll_failing:
            self._poll_failing.add(alias)
            self.notifier.notify(
                "reload_failed",
                alias=alias,
                error=exc,
                version=current.version if current else "none",
            )

    async def _follow(self, alias: str, version: str | None) -> None:
        """An unpinned alias: load what the registry's alias points to (None: it is gone)."""
        current = self.store.get(alias)
        if version is None:
            if current is not None:
                self.store.models = {a: m for a, m in self.store.models.items() if a != alias}
                self.metrics.reloads.labels(alias, "unloaded").inc()
                self.notifier.notify("alias_unloaded", alias=alias)
                self.refresh_health()
            return
        if current is None or version != current.version:
            try:
                await self.reload(alias)
            except Exception:
                return  # already counted, logged and alerted

    async def _load_missing_pin(self, alias: str) -> None:
        """A pinned alias is never reloaded by the poll; one that could not be loaded (the
        registry was down at start) is loaded once the registry answers."""
        if self.store.get(alias) is not None:
            return
        try:
            outcome = await self.store.reload(alias)
        except PinNotFoundError:
            return  # reported at start or when it was unloaded; still degraded
        except Exception as exc:
            self._poll_failed(alias, exc)
            return
        self._record_reload(outcome)

    def shadow_compare(self, served: LoadedModel, rows: Any, names: Any, answer: list[Any]) -> None:
        alias = self.settings.shadow_alias
        shadow = self.store.get(alias) if alias else None
        if shadow is None or shadow.alias == served.alias:
            return
        if self._sampler is None:
            self._sampler = Sampler(self.settings.shadow_percent)
        if not self._sampler.pick():
            return
        self.spawn(self._shadow(shadow, served, rows, names, answer))

    async def _shadow(
        self, shadow: LoadedModel, served: LoadedModel, rows: Any, names: Any, answer: list[Any]
    ) -> None:
        await asyncio.sleep(0)  # after the response is on its way
        start = time.perf_counter()
        try:
            result = shadow.predict(rows, names)
        except Exception as exc:
            logger.warning("shadow prediction on {} failed: {}", shadow.alias, exc)
            self.metrics.shadow_requests.labels(shadow.alias, served.alias, "error").inc()
            return
        elapsed = time.perf_counter() - start
        agreed = agree(answer, result, self.settings.shadow_tolerance)
        self.shadow["compared"] += 1
        self.shadow["agreed"] += int(agreed)
        self.shadow_seconds += elapsed
        self.metrics.shadow_requests.labels(shadow.alias, served.alias, str(agreed).lower()).inc()
        self.metrics.shadow_latency.labels(shadow.alias).observe(elapsed)

    def shadow_summary(self) -> dict[str, Any]:
        compared = self.shadow["compared"]
        return {
            "alias": self.settings.shadow_alias or None,
            "compared": compared,
            "agreement": (self.shadow["agreed"] / compared) if compared else None,
            "mean_latency_seconds": (self.shadow_seconds / compared) if compared else None,
        }

    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
        await self.notifier.aclose()


async def get_runtime(request: Request) -> Runtime:
    """`async`: FastAPI runs a plain `def` dependency in its thread pool, a hand-off per request
    (7% of the CPU of a prediction under load) for what is one attribute read."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
