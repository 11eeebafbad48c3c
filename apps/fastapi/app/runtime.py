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
from app.models import AliasNotFoundError, LoadedModel, ModelStore, ReloadOutcome
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

    def __post_init__(self) -> None:
        self.request_log = EveryNth(self.settings.request_log_sample)

    def refresh_health(self) -> str:
        status = self.store.health()
        for alias in ALIASES:
            model = self.store.get(alias)
            self.metrics.version.labels(alias).set(float(model.version) if model else 0)
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
        return outcome

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def poll_aliases(self) -> None:
        """Every replica converges on what the aliases point to, whichever pod got a reload call."""
        interval = self.settings.poll_interval_seconds
        while True:
            await asyncio.sleep(interval)
            for alias in ALIASES:
                await self._poll_one(alias)

    async def _poll_one(self, alias: str) -> None:
        current = self.store.get(alias)
        try:
            version = await asyncio.to_thread(self.store.resolve_version, alias)
        except AliasNotFoundError:
            if current is not None:
                self.store.models = {a: m for a, m in self.store.models.items() if a != alias}
                self.metrics.reloads.labels(alias, "unloaded").inc()
                self.notifier.notify("alias_unloaded", alias=alias)
                self.refresh_health()
            return
        except Exception as exc:
            # The registry (or anything in front of it) failed: keep serving what is loaded,
            # count it, and alert once per outage rather than at every poll.
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
            return
        self._poll_failing.discard(alias)
        if current is None or str(version.version) != current.version:
            try:
                await self.reload(alias)
            except Exception:
                return  # already counted, logged and alerted

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
