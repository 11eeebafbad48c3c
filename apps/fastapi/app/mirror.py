"""HTTP shadowing for blue-green of the serving image: the active colour copies
PREVIEW_SHADOW_PERCENT of its live /predict requests to the preview Service (PREVIEW_URL), off
the request path, and compares the answers the way the in-process shadow does.

Never in the live answer's way: a sampled request is put on a bounded queue without waiting
(full: dropped and counted), a few workers send it on after the response is on its way, and
every failure of the preview is counted, never raised. Mirrored requests carry MIRROR_HEADER and
are never mirrored again, so the preview colour does not mirror its own traffic back; an answer
from the same colour (a Service selecting itself) is counted as `self`, not compared.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable
from dataclasses import dataclass

import httpx
from fastapi import Request, Response
from loguru import logger
from prometheus_client import CollectorRegistry, Counter, Histogram

from app.config import Settings
from app.metrics import LATENCY_BUCKETS
from app.shadow import Sampler, agree

MIRROR_HEADER = "x-gitopsgen-mirror"
COLOR_HEADER = "x-gitopsgen-color"
VERSION_HEADER = "x-gitopsgen-version"
QUEUE_SIZE = 256  # sampled requests waiting for a worker; beyond it they are dropped
WORKERS = 4
TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Copy:
    """One sampled live request and the answer it got, as the bytes they were: nothing is parsed
    or encoded again on the request path (at 10,000 rows that re-encoding cost the live path
    more than the mirror's share); the workers parse the answer when they compare."""

    body: bytes
    client_id: str | None
    answer: bytes


class MirrorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "model_mirror_requests_total",
            "Live requests copied to the preview colour, by outcome "
            "(agree, disagree, error, dropped, self)",
            ["color", "preview", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "model_color_latency_seconds",
            "Answer latency per colour: the live colour's own answers (in process) and the "
            "preview colour's answers to mirrored requests (over HTTP)",
            ["color", "role"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )


class Mirror:
    """Sampling, the bounded queue, the workers and the comparison."""

    def __init__(self, settings: Settings, registry: CollectorRegistry) -> None:
        self.url = settings.preview_url.rstrip("/") + "/predict"
        self.color: str = settings.app_color or "unknown"
        self.version = settings.app_version
        self.tolerance = settings.shadow_tolerance
        self.sampler = Sampler(settings.preview_shadow_percent)
        self.metrics = MirrorMetrics(registry)
        self.queue: asyncio.Queue[Copy] = asyncio.Queue(QUEUE_SIZE)
        self.client = httpx.AsyncClient(timeout=TIMEOUT_SECONDS)
        self.workers = [asyncio.create_task(self._work()) for _ in range(WORKERS)]

    def offer(self, copy: Copy) -> None:
        try:
            self.queue.put_nowait(copy)
        except asyncio.QueueFull:
            self.metrics.requests.labels(self.color, "unknown", "dropped").inc()

    async def _work(self) -> None:
        while True:
            copy = await self.queue.get()
            try:
                await self._send(copy)
            except Exception as exc:  # a bug here must not stop the worker
                logger.warning("mirror to {} failed: {}", self.url, exc)
            finally:
                self.queue.task_done()

    async def _send(self, copy: Copy) -> None:
        headers = {MIRROR_HEADER: self.color, "content-type": "application/json"}
        if copy.client_id:
            headers["x-client-id"] = copy.client_id
        start = time.perf_counter()
        try:
            answer = await self.client.post(self.url, content=copy.body, headers=headers)
            answer.raise_for_status()
            prediction = answer.json()["prediction"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            self.metrics.requests.labels(self.color, "unknown", "error").inc()
            return
        elapsed = time.perf_counter() - start
        preview = answer.headers.get(COLOR_HEADER, "unknown")
        if preview == self.color:
            self.metrics.requests.labels(self.color, preview, "self").inc()
            return
        served = json.loads(copy.answer)["prediction"]
        agreed = agree(served, prediction, self.tolerance)
        outcome = "agree" if agreed else "disagree"
        self.metrics.requests.labels(self.color, preview, outcome).inc()
        self.metrics.latency.labels(preview, "preview").observe(elapsed)

    async def aclose(self) -> None:
        for task in self.workers:
            task.cancel()
        for task in self.workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.aclose()


def start_mirror(settings: Settings, registry: CollectorRegistry) -> Mirror | None:
    """A Mirror when PREVIEW_URL is set (the chart sets it on both colours of a blueGreen
    rollout; a share of 0 mirrors nothing but still labels answers with the colour)."""
    if not settings.preview_url:
        return None
    return Mirror(settings, registry)


async def stop_mirror(mirror: Mirror | None) -> None:
    if mirror is not None:
        await mirror.aclose()


async def mirrored(
    request: Request, body: bytes, client_id: str | None, serving: Awaitable[Response]
) -> Response:
    """The hook around POST /predict: time and label the live answer, and copy a sample of
    live requests (never a mirrored one) to the preview colour."""
    mirror: Mirror | None = getattr(request.app.state, "mirror", None)
    start = time.perf_counter()
    response = await serving
    if mirror is None:
        return response
    mirror.metrics.latency.labels(mirror.color, "live").observe(time.perf_counter() - start)
    response.headers[COLOR_HEADER] = mirror.color
    if mirror.version:
        response.headers[VERSION_HEADER] = mirror.version
    if MIRROR_HEADER in request.headers or not mirror.sampler.pick():
        return response
    mirror.offer(Copy(body, client_id, bytes(response.body)))
    return response
