"""HTTP shadowing for blue-green of the serving image: the active colour copies
PREVIEW_SHADOW_PERCENT of its live /predict requests to the preview Service (PREVIEW_URL), off
the request path, and compares the answers the way the in-process shadow does.

Never in the live answer's way: a sampled request is put on a bounded queue without waiting
(full: dropped and counted), a few workers send it on after the response is on its way, and
every failure of the preview is counted, never raised.

Never at the live colour's expense either, however the preview behaves (a preview answering
200 MB bodies took the live process from 277 MB to 2.6 GB in 8 requests; a hanging one to 902 MB,
with the queue then bounded by count only and holding parsed bodies):

- a copy is the request's and the live answer's bytes as they were, never parsed objects, and
  copies waiting or being sent hold at most QUEUE_BYTES (and QUEUE_SIZE copies); beyond, dropped;
- the preview's answer is read in pieces and given up once it passes ANSWER_BYTES plus
  ANSWER_RATIO times the live answer (the same request's answer should be about as large);
- each mirrored call, from connecting to the answer's last byte, has DEADLINE_SECONDS in all: a
  preview dripping a byte at a time never passes httpx's per-read timeout, but passes this.

A too large, late or failed answer is counted as `error`. Mirrored requests carry MIRROR_HEADER and
are never mirrored again, so the preview colour does not mirror its own traffic back; an answer
from the same colour (a Service selecting itself) is counted as `self`, not compared.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from dataclasses import dataclass

import httpx
import orjson
from fastapi import Request, Response
from loguru import logger
from prometheus_client import CollectorRegistry, Counter, Histogram

from app.config import Settings
from app.metrics import LATENCY_BUCKETS
from app.shadow import Sampler, agree

MIRROR_HEADER = "x-gitopsgen-mirror"
COLOR_HEADER = "x-gitopsgen-color"
VERSION_HEADER = "x-gitopsgen-version"
QUEUE_SIZE = 256  # sampled requests waiting for a worker or being sent; beyond, dropped
QUEUE_BYTES = 16 * 1024 * 1024  # and the bytes they hold (bodies and live answers) at most
WORKERS = 4
TIMEOUT_SECONDS = 5.0  # httpx's, per connect, write or read
DEADLINE_SECONDS = 5.0  # a whole mirrored call
ANSWER_BYTES = 64 * 1024
ANSWER_RATIO = 4


class AnswerTooLargeError(Exception):
    """The preview's answer passed its cap; reading stopped there."""


@dataclass(frozen=True)
class Copy:
    """One sampled live request and the answer it got, as bytes."""

    body: bytes
    client_id: str | None
    served: bytes  # the live answer's JSON

    @property
    def size(self) -> int:
        return len(self.body) + len(self.served)

    @property
    def answer_cap(self) -> int:
        return ANSWER_BYTES + ANSWER_RATIO * len(self.served)


async def read_capped(answer: httpx.Response, cap: int) -> bytes:
    """The answer's body, read in pieces; AnswerTooLargeError as soon as it passes `cap`."""
    declared = answer.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise AnswerTooLargeError
    pieces, size = [], 0
    async for piece in answer.aiter_raw():
        size += len(piece)
        if size > cap:
            raise AnswerTooLargeError
        pieces.append(piece)
    return b"".join(pieces)


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
        self.queue: asyncio.Queue[Copy] = asyncio.Queue()
        self.held = 0  # copies queued or being sent
        self.held_bytes = 0  # and their bytes
        # no connection pool wait: WORKERS calls at most, each its own connection
        self.client = httpx.AsyncClient(
            timeout=TIMEOUT_SECONDS, limits=httpx.Limits(max_connections=WORKERS)
        )
        self.workers = [asyncio.create_task(self._work()) for _ in range(WORKERS)]

    def offer(self, copy: Copy) -> None:
        if self.held >= QUEUE_SIZE or self.held_bytes + copy.size > QUEUE_BYTES:
            self.metrics.requests.labels(self.color, "unknown", "dropped").inc()
            return
        self.held += 1
        self.held_bytes += copy.size
        self.queue.put_nowait(copy)

    async def _work(self) -> None:
        while True:
            copy = await self.queue.get()
            try:
                await self._send(copy)
            except Exception as exc:  # a bug here must not stop the worker
                logger.warning("mirror to {} failed: {}", self.url, exc)
            finally:
                self.held -= 1
                self.held_bytes -= copy.size
                self.queue.task_done()

    async def _send(self, copy: Copy) -> None:
        # identity: a compressed answer could expand past the cap within one piece
        headers = {
            MIRROR_HEADER: self.color,
            "content-type": "application/json",
            "accept-encoding": "identity",
        }
        if copy.client_id:
            headers["x-client-id"] = copy.client_id
        start = time.perf_counter()
        try:
            async with (
                asyncio.timeout(DEADLINE_SECONDS),
                self.client.stream("POST", self.url, content=copy.body, headers=headers) as answer,
            ):
                answer.raise_for_status()
                body = await read_capped(answer, copy.answer_cap)
            prediction = orjson.loads(body)["prediction"]
            served = orjson.loads(copy.served)["prediction"]
        except (
            httpx.HTTPError,
            TimeoutError,
            AnswerTooLargeError,
            ValueError,
            KeyError,
            TypeError,
        ):
            self.metrics.requests.labels(self.color, "unknown", "error").inc()
            return
        elapsed = time.perf_counter() - start
        preview = answer.headers.get(COLOR_HEADER, "unknown")
        if preview == self.color:
            self.metrics.requests.labels(self.color, preview, "self").inc()
            return
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
