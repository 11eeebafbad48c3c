"""The request log: one line for every failed request, one for every N-th answered prediction.

uvicorn's access log is off in the image: it wrote a line per request through the logging module
(8% of a prediction's CPU under load), and the app's own lines cover it. Every failure (any 4xx
or 5xx the app answers) is logged with its method, path, status and reason; answered predictions
are logged one in `REQUEST_LOG_SAMPLE` (the first, then every N-th), because a log line cost
about as much as the prediction itself. Counters and histograms (`/metrics`) still see every
request, so rates and latencies never depend on the sample.
"""

from __future__ import annotations

from typing import Any

from loguru import logger
from starlette.requests import Request

DETAIL_CHARS = 200  # a reason is cut here: error texts may echo input


class EveryNth:
    """Picks the first call and then every n-th one, deterministically (no random numbers)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def pick(self) -> bool:
        picked = self.calls % self.n == 0
        self.calls += 1
        return picked


def failure(request: Request, status: int, reason: Any) -> None:
    """One line per failed request: WARNING for a 4xx, ERROR for a 5xx."""
    client = (request.headers.get("x-client-id") or "-")[:256]
    text = str(reason)
    if len(text) > DETAIL_CHARS:
        text = text[:DETAIL_CHARS] + "..."
    logger.bind(client_id=client).log(
        "ERROR" if status >= 500 else "WARNING",
        "{} {} {}: {}",
        request.method,
        request.url.path,
        status,
        text,
    )


def validation_reason(errors: list[Any]) -> str:
    """`2 validation error(s), first at body.data.0.1: Input should be ...` (no input values)."""
    if not errors:
        return "validation error"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{len(errors)} validation error(s), first at {where}: {first.get('msg', '')}"
