"""Kubernetes API calls with a whole-call deadline and bounded answers, through the client library.

The `kubernetes` client keeps its configuration (TLS, client certificates, tokens, proxies), but
three of its habits do not suit answers from a server we do not control:
- its `_request_timeout` bounds each socket read, so a server dripping one byte every 0.5 s held
  `status --request-timeout 2` past 60 s: each call here runs in a worker thread the caller
  waits for at most `timeout` seconds (a late worker is left to its socket timeout; the
  command ends right after);
- it reads whole answers and builds model objects: a 20,000-item list took 12 s and 650 MB.
  Here the pool manager reads at most MAX_ANSWER_BYTES of each answer, follows no redirect
  (the token never goes elsewhere) and retries nothing, and the JSON is parsed as plain data;
- it raises on malformed JSON deep inside deserialisation; here that is ClusterUnreachable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from gitopsgen.errors import ClusterUnreachable, RemoteError
from gitopsgen.remote import parse_json
from gitopsgen.text import printable

MAX_ANSWER_BYTES = 8 << 20  # an Application with a thousand resources in its status is ~1 MiB
_CHUNK = 1 << 16


class BoundedAnswer:
    """What the client reads of an answer: status, reason, headers and at most the cap of the
    body (none for an error status: only its code is reported)."""

    def __init__(self, status: int, reason: str, headers: Any, data: bytes) -> None:
        self.status, self.reason, self.data = status, reason, data
        self._headers = headers

    def getheaders(self) -> Any:
        return self._headers

    def getheader(self, name: str, default: str | None = None) -> str | None:
        value = self._headers.get(name, default)
        return None if value is None else str(value)


class BoundedPoolManager:
    """Stands in for the client's urllib3 pool manager: no redirects, no retries, capped reads."""

    def __init__(self, inner: Any, max_bytes: int = MAX_ANSWER_BYTES) -> None:
        self.inner, self.max_bytes = inner, max_bytes

    def request(self, method: str, url: str, **kwargs: Any) -> BoundedAnswer:
        kwargs.update(preload_content=False, redirect=False, retries=False)
        response = self.inner.request(method, url, **kwargs)
        try:
            if not 200 <= response.status <= 299:
                return BoundedAnswer(response.status, response.reason or "", response.headers, b"")
            body = bytearray()
            while chunk := response.read(min(_CHUNK, self.max_bytes + 1 - len(body))):
                body += chunk
                if len(body) > self.max_bytes:
                    raise ClusterUnreachable(
                        f"the API server answered more than {self.max_bytes:,} bytes; refused"
                    )
            return BoundedAnswer(
                response.status, response.reason or "", response.headers, bytes(body)
            )
        finally:  # one answer per connection: no half-read or stale socket left to reuse
            response.close()


def bound(api: Any) -> Any:
    """The ApiClient `api`, its answers bounded as above."""
    rest = api.rest_client
    if not isinstance(rest.pool_manager, BoundedPoolManager):
        rest.pool_manager = BoundedPoolManager(rest.pool_manager)
    return api


def within(seconds: float, work: Callable[[], Any]) -> Any:
    """`work()` in a worker thread; TimeoutError when it has not finished within `seconds`."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except Exception as exc:  # handed to the caller's thread, raised there
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="gitopsgen-api-call", daemon=True)
    worker.start()
    worker.join(max(seconds, 0.0))
    if worker.is_alive():
        raise TimeoutError
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def call(func: Callable[..., Any], timeout: float, *args: Any, **kwargs: Any) -> Any:
    """One API call as plain JSON data, all of it within `timeout` seconds; None for 404;
    ClusterUnreachable with the reason for the rest."""
    # slow to import: only status and wait need the Kubernetes client
    from kubernetes.client.exceptions import ApiException  # the client's (see above)
    from urllib3.exceptions import HTTPError as Urllib3Error  # with the Kubernetes client
    from urllib3.exceptions import NewConnectionError, ProtocolError  # with the client
    from urllib3.exceptions import TimeoutError as Urllib3Timeout  # with the client

    def request() -> Any:
        return func(*args, _request_timeout=timeout, _preload_content=False, **kwargs)

    try:
        answer = within(timeout, request)
    except TimeoutError as exc:
        raise ClusterUnreachable(f"timeout: no answer within {timeout:g}s") from exc
    except ApiException as exc:
        if exc.status == 404:
            return None
        reason = printable(str(exc.reason or "")[:200])
        if not exc.status:  # the client's own wrapping of a TLS error
            raise ClusterUnreachable(f"cannot reach the API server: {reason}") from exc
        if exc.status in (401, 403):
            raise ClusterUnreachable(
                f"unauthorised ({exc.status} {reason}): check the credentials of the kube context"
            ) from exc
        if exc.status is not None and 300 <= exc.status <= 399:
            raise ClusterUnreachable(
                f"the API server answered a redirect ({exc.status} {reason}); not followed"
            ) from exc
        raise ClusterUnreachable(f"the API server answered {exc.status} {reason}") from exc
    except NewConnectionError as exc:
        reason = printable(str(exc))
        raise ClusterUnreachable(f"connection refused or unreachable: {reason}") from exc
    except Urllib3Timeout as exc:
        raise ClusterUnreachable(f"timeout: no answer within {timeout:g}s") from exc
    except ProtocolError as exc:
        detail = printable(str(exc.args[-1] if exc.args else exc)[:200])
        raise ClusterUnreachable(f"the API server answered malformed HTTP ({detail})") from exc
    except (Urllib3Error, OSError) as exc:
        raise ClusterUnreachable(f"cannot reach the API server: {printable(str(exc))}") from exc
    try:
        return parse_json(answer.data, "the API server")
    except RemoteError as exc:
        raise ClusterUnreachable(f"the API server {exc.reason}") from exc


def dig(data: Any, *path: str | int) -> Any:
    """The value at `path` in JSON data, or None where any step is missing or of another shape."""
    for part in path:
        if isinstance(part, int):
            data = data[part] if isinstance(data, list) and -len(data) <= part < len(data) else None
        else:
            data = data.get(part) if isinstance(data, dict) else None
        if data is None:
            return None
    return data


def text_at(data: Any, *path: str | int) -> str | None:
    """A string (or number) at `path` as text; None where absent or not a scalar."""
    value = dig(data, *path)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)


def dicts_at(data: Any, *path: str | int) -> list[dict[str, Any]]:
    """The mappings of the list at `path` (other entries and other shapes left out)."""
    value = dig(data, *path)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def strings_at(data: Any, *path: str | int) -> list[str]:
    value = dig(data, *path)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def container_env(container: Any) -> dict[str, str | None]:
    """A container's literal environment variables (JSON data), by name."""
    entries = dig(container, "env")
    return {
        str(e["name"]): text_at(e, "value")
        for e in (entries if isinstance(entries, list) else [])
        if isinstance(e, dict) and isinstance(e.get("name"), str)
    }
