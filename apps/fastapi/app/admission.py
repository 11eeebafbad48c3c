"""Admission control: how many predictions one process reads, parses and answers at once.

Parsing a body runs on the event loop (orjson, then the schema, then the array: about 0.5 to 1 s
of CPU for an 8 MiB body of one long row) and costs up to ~17 times the body in memory. Without a
bound, 64 clients sending 8 MiB bodies kept the loop parsing for tens of seconds, so every /livez
probe missed its 1 s timeout (the kubelet restarts such a pod), and 128 of them asked for far more
memory than the pod has. So a prediction is admitted only while both hold:

- fewer than MAX_CONCURRENT_PREDICTIONS are in progress, and
- their bodies and its own add up to at most MAX_CONCURRENT_BODY_BYTES, a body counting as its
  Content-Length (a framing the parser enforces), or as MAX_BODY_BYTES without one (chunked).

Beyond that the answer is an immediate 503 with Retry-After, before a byte of the body is read
(the connection is closed: the unread body is not waited for), counted in
`model_requests_shed_total`. Only the predict routes are gated: /livez, /health and /metrics
never wait for a slot, and what waits ahead of them on the loop is bounded by the budget.

Plain ASGI and two integers: Starlette's BaseHTTPMiddleware would cost a task and a stream per
request. A small body costs its length, so ordinary traffic never meets the byte budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from loguru import logger
from prometheus_client import Counter
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings

RETRY_AFTER_SECONDS = 1
LOG_EVERY_SECONDS = 10.0  # shed requests are logged as a count: an attack must not flood the log


def _refusal(limit: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = b'{"detail":"too many predictions in progress (%s); retry after %d s"}' % (
        limit.encode(),
        RETRY_AFTER_SECONDS,
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        (b"connection", b"close"),
    ]
    return body, headers


@dataclass
class Admission:
    """What is in progress in this process, and the limits it is held to."""

    max_predictions: int
    max_body_bytes: int  # the budget of all bodies in progress
    body_limit: int  # MAX_BODY_BYTES: what a body without Content-Length may become
    predictions: int = 0
    body_bytes: int = 0
    shed: Counter | None = None  # model_requests_shed_total, once the runtime's metrics exist
    _unlogged: int = 0
    _logged_at: float = field(default=float("-inf"))

    @classmethod
    def from_settings(cls, settings: Settings) -> Admission:
        return cls(
            settings.max_concurrent_predictions,
            settings.max_concurrent_body_bytes,
            settings.max_body_bytes,
        )

    def cost(self, headers: list[tuple[bytes, bytes]]) -> int:
        for name, value in headers:
            if name == b"content-length":
                try:
                    declared = int(value)  # uvicorn's parsers refuse a malformed length
                except ValueError:
                    return self.body_limit
                # over the limit: refused with 413 before it is read, so it costs nothing here
                return declared if declared <= self.body_limit else 0
        return self.body_limit

    def refused(self, cost: int) -> str | None:
        """The limit a new prediction of `cost` bytes would pass, or None (then it is counted)."""
        if self.predictions >= self.max_predictions:
            return "predictions"
        if self.body_bytes + cost > self.max_body_bytes:
            return "body_bytes"
        self.predictions += 1
        self.body_bytes += cost
        return None

    def release(self, cost: int) -> None:
        self.predictions -= 1
        self.body_bytes -= cost

    def count_shed(self, limit: str) -> None:
        if self.shed is not None:
            self.shed.labels(limit).inc()
        self._unlogged += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_SECONDS:
            logger.warning(
                "refused {} prediction(s) with 503: {} in progress of {}, {} of {} body bytes",
                self._unlogged,
                self.predictions,
                self.max_predictions,
                self.body_bytes,
                self.max_body_bytes,
            )
            self._unlogged, self._logged_at = 0, now


class AdmissionGate:
    """The ASGI layer in front of the app that admits or sheds POST .../predict requests."""

    def __init__(self, app: ASGIApp, admission: Admission) -> None:
        self.app = app
        self.admission = admission
        self.refusals = {limit: _refusal(limit) for limit in ("predictions", "body_bytes")}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].endswith("/predict")
        ):
            await self.app(scope, receive, send)
            return
        admission = self.admission
        cost = admission.cost(scope["headers"])
        limit = admission.refused(cost)
        if limit is not None:
            admission.count_shed(limit)
            body, headers = self.refusals[limit]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            admission.release(cost)
