"""The Prometheus HTTP API at the edge: one instant query, one number back.

Failures are classified by what Prometheus itself answers (its `status` and `errorType`), never by
the words of a message; an unreachable server and an error answer are both exit 2, naming the URL.
"""

from __future__ import annotations

import base64
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from gitopsgen.errors import PrometheusError

MAX_ANSWER_BYTES = 1 << 20  # an instant query of one sum is a few hundred bytes


def display_url(url: str) -> str:
    """The URL without any user:password@ part, for messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _without_credentials(url: str) -> str:
    """The URL with any user:password@ removed: urllib would take it for part of the host."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _basic_auth(url: str) -> dict[str, str]:
    """An Authorization header for the URL's user:password@, percent-decoded; else none."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return {}
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def query_url(base: str, promql: str) -> str:
    return f"{base.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"


def parse_answer(body: bytes, url: str, promql: str) -> float | None:
    """The one number an instant query answered: None for no series or NaN; +Inf stays inf.
    Raises PrometheusError on an error answer, a malformed one, or more than one series."""
    shown = display_url(url)
    try:
        answer: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PrometheusError(f"{shown} did not answer with Prometheus API JSON") from None
    if not isinstance(answer, dict) or answer.get("status") != "success":
        kind = answer.get("errorType", "error") if isinstance(answer, dict) else "error"
        error = answer.get("error", "no message") if isinstance(answer, dict) else "no message"
        raise PrometheusError(
            f"Prometheus at {shown} refused the query ({kind}: {error}): {promql}"
        )
    data = answer.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list):
        return _number(result, shown)
    if kind != "vector" or not isinstance(result, list):
        raise PrometheusError(f"Prometheus at {shown} answered a {kind} to an instant query")
    if not result:
        return None
    if len(result) > 1:
        raise PrometheusError(
            f"Prometheus at {shown} answered {len(result)} series where one sum was expected: "
            f"{promql}"
        )
    return _number(result[0].get("value"), shown)


def _number(pair: Any, shown: str) -> float | None:
    try:
        value = float(pair[1])
    except (TypeError, ValueError, IndexError):
        raise PrometheusError(f"Prometheus at {shown} answered a sample without a value") from None
    return None if math.isnan(value) else value


class PrometheusClient:
    """Instant queries against one Prometheus server."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def query(self, promql: str) -> float | None:
        shown = display_url(self.url)
        request = urllib.request.Request(
            query_url(_without_credentials(self.url), promql),
            headers={"Accept": "application/json", **_basic_auth(self.url)},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as exc:
            # Prometheus answers 400, 422 and 503 with a JSON error body; anything else is not it
            with exc:
                body = exc.read(MAX_ANSWER_BYTES + 1)
            if exc.headers.get_content_type() != "application/json":
                raise PrometheusError(
                    f"{shown} answered HTTP {exc.code}, not a Prometheus API answer"
                ) from None
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PrometheusError(f"cannot reach Prometheus at {shown}: {reason}") from None
        if len(body) > MAX_ANSWER_BYTES:
            raise PrometheusError(f"Prometheus at {shown} answered more than 1 MiB; refused")
        return parse_answer(body, self.url, promql)
