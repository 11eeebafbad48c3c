"""The Prometheus HTTP API at the edge: one instant query, one number back.

Failures are classified by what Prometheus itself answers (its `status` and `errorType`), never by
the words of a message; an unreachable server and an error answer are both exit 2, naming the URL.
Each query is one `remote.http_get`: a total deadline, a byte cap, redirects on the origin only.
"""

from __future__ import annotations

import math
import urllib.parse
from typing import Any

from gitopsgen.errors import PrometheusError, RemoteError
from gitopsgen.remote import http_get, parse_json
from gitopsgen.text import printable, shown_url

MAX_ANSWER_BYTES = 1 << 20  # an instant query of one sum is a few hundred bytes
QUERY_TIMEOUT = 10.0  # seconds for each query, in total: connecting, headers and body
# Prometheus answers its API errors (400 bad_data, 422 execution, 503 timeout) with a JSON body
ERROR_STATUSES = frozenset({400, 422, 503})


def display_url(url: str) -> str:
    """The URL without any user:password@ part, for messages."""
    return shown_url(url)


def query_url(base: str, promql: str) -> str:
    return f"{base.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"


def parse_answer(body: bytes, url: str, promql: str) -> float | None:
    """The one number an instant query answered: None for no series or NaN; +Inf stays inf.
    Raises PrometheusError on an error answer, a malformed one, or more than one series."""
    shown = display_url(url)
    try:
        answer: Any = parse_json(body, shown)
    except RemoteError:
        raise PrometheusError(f"{shown} did not answer with Prometheus API JSON") from None
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error_type = _said(answer, "errorType", "error")
        error = _said(answer, "error", "no message")
        raise PrometheusError(
            f"Prometheus at {shown} refused the query ({error_type}: {error}): {promql}"
        )
    data = answer.get("data")
    data = data if isinstance(data, dict) else {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list):
        return _number(result, shown)
    if kind != "vector" or not isinstance(result, list):
        shown_kind = printable(str(kind)[:40]) if isinstance(kind, str) else "malformed answer"
        raise PrometheusError(f"Prometheus at {shown} answered a {shown_kind} to an instant query")
    if not result:
        return None
    if len(result) > 1:
        raise PrometheusError(
            f"Prometheus at {shown} answered {len(result)} series where one sum was expected: "
            f"{promql}"
        )
    sample = result[0]
    return _number(sample.get("value") if isinstance(sample, dict) else None, shown)


def _said(answer: Any, key: str, default: str) -> str:
    """A field of an error answer, as printable text of bounded length."""
    value = answer.get(key) if isinstance(answer, dict) else None
    return printable(value[:500]) if isinstance(value, str) else default


def _number(pair: Any, shown: str) -> float | None:
    text = pair[1] if isinstance(pair, list) and len(pair) == 2 else None
    try:  # the API writes sample values as strings: "1.5", "+Inf", "NaN"
        value = float(text) if isinstance(text, str) else None
    except ValueError:
        value = None
    if value is None:
        raise PrometheusError(f"Prometheus at {shown} answered a sample without a value")
    return None if math.isnan(value) else value


class PrometheusClient:
    """Instant queries against one Prometheus server."""

    def __init__(self, url: str, timeout: float | None = None) -> None:
        self.url = url
        self.timeout = QUERY_TIMEOUT if timeout is None else timeout

    def query(self, promql: str) -> float | None:
        shown = display_url(self.url)
        try:
            answer = http_get(
                query_url(self.url, promql),
                timeout=self.timeout,
                max_bytes=MAX_ANSWER_BYTES,
                headers={"Accept": "application/json"},
            )
        except RemoteError as exc:
            said = "cannot reach Prometheus at" if exc.unreachable else "Prometheus at"
            raise PrometheusError(f"{said} {shown}: {exc.reason}") from None
        if answer.status != 200 and not (
            answer.status in ERROR_STATUSES and answer.content_type == "application/json"
        ):
            raise PrometheusError(
                f"{shown} answered HTTP {answer.status}, not a Prometheus API answer"
            )
        return parse_answer(answer.body, self.url, promql)
