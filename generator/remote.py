"""One GET from a server we do not control, bounded in every way that matters to the caller.

- A total deadline: `timeout` covers connecting, the headers and the whole body. A socket
  timeout alone bounds each read, so a server dripping one byte every 0.5 s once held `verify`
  past 100 s on a 10 s timeout; here a watchdog shuts the sockets down when the time is up.
- A byte cap, counted while reading (a declared Content-Length over it is refused unread).
- Redirects stay on the origin (scheme, host and port), at most 5: basic auth from the URL's
  `user:password@` is never sent anywhere else, and another origin's answers never decide
  anything. `off_origin_redirects` lets a caller without credentials whose answers are checked
  anyway (pinned sha256 sums) follow a redirect elsewhere.
- Malformed HTTP (a bad status line, over 100 headers, a 64 KiB header line) and JSON nested
  past the parser's recursion limit are errors, never crashes.

Proxies (`https_proxy`, `no_proxy`) and `file://` URLs work as they do for urllib, on which it
is built. Every message shows URLs through `shown_url`: no credentials, no query.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import IO, Any

from gitopsgen.errors import RemoteError
from gitopsgen.text import printable, shown_url

MAX_REDIRECTS = 5
_CHUNK = 1 << 16
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Answer:
    url: str  # the URL that answered (after redirects on the origin)
    status: int
    content_type: str
    body: bytes


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise RemoteError(shown_url(url), "a malformed host or port") from None
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def _credentials(url: str) -> tuple[str, dict[str, str]]:
    """The URL without `user:password@`, and a basic-auth header made of it (percent-decoded).
    A `@` past the authority means a password with an unencoded `/`, `?` or `#`: refused, since
    a parser would take its rest for the path and send it there."""
    parts = urllib.parse.urlsplit(url)
    beyond = "@" in parts.path or "@" in parts.query or "@" in parts.fragment
    if beyond and "@" not in parts.netloc:
        raise RemoteError(
            shown_url(url),
            "the user:password@ part holds an unencoded '/', '?' or '#'; "
            "percent-encode it (%2F, %3F, %23)",
        )
    if parts.username is None:
        return url, {}
    netloc = parts.netloc.rpartition("@")[2]
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    bare = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return bare, {"Authorization": f"Basic {token}"}


class _Watchdog:
    """Shuts down every socket of one call when its deadline passes."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.fired = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.fired.is_set():
                _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired.set()
            for sock in self._sockets:
                _shutdown(sock)

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.001)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    # the plain socket's shutdown, also under TLS: the blocked reader sees the end and returns
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watched(base: type[http.client.HTTPConnection], dog: _Watchdog) -> Any:
    class Watched(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            super().connect()
            dog.watch(self.sock)

    return Watched


class _HttpHandler(urllib.request.HTTPHandler):
    def __init__(self, dog: _Watchdog) -> None:
        super().__init__()
        self.dog = dog

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched(http.client.HTTPConnection, self.dog), req)


class _HttpsHandler(urllib.request.HTTPSHandler):
    def __init__(self, dog: _Watchdog) -> None:
        super().__init__(context=ssl.create_default_context())
        self.dog = dog

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = _watched(http.client.HTTPSConnection, self.dog)
        return self.do_open(connection, req, context=self._context)  # type: ignore[attr-defined]


class _OriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect on the origin; another origin is refused (or, where allowed and no
    credentials were given, followed without any Authorization header)."""

    max_redirections = MAX_REDIRECTS

    def __init__(self, start: str, credentials: bool, off_origin: bool) -> None:
        super().__init__()
        self.start, self.credentials, self.off_origin = start, credentials, off_origin

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if origin(newurl) != origin(self.start) and (self.credentials or not self.off_origin):
            fp.close()
            raise RemoteError(
                shown_url(req.full_url),
                f"redirected ({code}) to another origin, {shown_url(newurl)}: not followed "
                "(credentials and answers stay with the server named)",
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def http_get(
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    headers: dict[str, str] | None = None,
    off_origin_redirects: bool = False,
) -> Answer:
    """The answer to one GET (any HTTP status), all of it within `timeout` seconds and
    `max_bytes` bytes; RemoteError otherwise, naming the URL without credentials."""
    return http_request(
        url,
        timeout=timeout,
        max_bytes=max_bytes,
        headers=headers,
        off_origin_redirects=off_origin_redirects,
    )


def http_request(
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    headers: dict[str, str] | None = None,
    off_origin_redirects: bool = False,
    data: bytes | None = None,
) -> Answer:
    """`http_get`, or a POST of `data` when given: the same bounds. urllib never re-sends a
    POST on a redirect, so only a GET follows one."""
    bare, auth = _credentials(url)
    shown = shown_url(url)
    with _Watchdog(timeout) as dog:
        opener = urllib.request.build_opener(
            _HttpHandler(dog),
            _HttpsHandler(dog),
            _OriginRedirects(bare, bool(auth), off_origin_redirects),
        )
        request = urllib.request.Request(bare, data=data, headers={**(headers or {}), **auth})
        try:
            return _fetch(opener, request, dog, max_bytes, shown)
        except RemoteError:
            raise
        except (http.client.HTTPException, urllib.error.URLError, OSError, ValueError) as exc:
            if dog.fired.is_set():
                raise RemoteError(shown, f"no complete answer within {timeout:g}s") from None
            if isinstance(exc, ValueError | http.client.InvalidURL):  # their text quotes the URL
                raise RemoteError(shown, "not a usable http(s):// or file:// URL") from None
            if isinstance(exc, http.client.HTTPException):
                reason = printable(f"{type(exc).__name__}: {exc}"[:200])
                raise RemoteError(shown, f"answered malformed HTTP ({reason})") from None
            reason = printable(str(getattr(exc, "reason", exc)))
            raise RemoteError(shown, reason, unreachable=True) from None


def _fetch(
    opener: urllib.request.OpenerDirector,
    request: urllib.request.Request,
    dog: _Watchdog,
    max_bytes: int,
    shown: str,
) -> Answer:
    try:
        response = opener.open(request, timeout=dog.remaining())
    except urllib.error.HTTPError as exc:  # an answer all the same: the caller judges it
        response = exc
    with response:
        status = 200 if response.status is None else response.status  # None: a file:// URL
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise RemoteError(shown, f"answered {int(declared):,} bytes, over {max_bytes:,}")
        body = bytearray()
        while chunk := response.read(min(_CHUNK, max_bytes + 1 - len(body))):
            body += chunk
            if len(body) > max_bytes:
                raise RemoteError(shown, f"answered more than {max_bytes:,} bytes; refused")
        if dog.fired.is_set():  # the watchdog ended the body: it is not whole
            raise TimeoutError
        content_type = response.headers.get_content_type()
        return Answer(response.geturl(), status, content_type, bytes(body))


def parse_json(body: bytes, shown: str) -> Any:
    """JSON from a remote: a malformed or too deeply nested answer is a RemoteError."""
    try:
        return json.loads(body)
    except RecursionError:
        raise RemoteError(shown, "answered JSON nested too deeply to read") from None
    except (ValueError, UnicodeDecodeError):
        raise RemoteError(shown, "did not answer with JSON") from None
