"""uvicorn's httptools protocol with bounds on how a request arrives: `--http app.server:HttpProtocol`.

- **Head size.** httptools gathers a header value in memory until it ends, with no limit of its
  own (a 100 MB header was answered 200 and cost +145 MB), and uvicorn's h11 option answers 400,
  not 431. This counts the bytes of a request head while it arrives and answers 431 and closes
  the connection once MAX_HEAD_BYTES is passed, so a head never costs more than that plus one read.
- **Deadlines.** uvicorn has no timeout for a request that is arriving: its keep-alive timeout
  only runs between requests and every byte received cancels it, and it is not armed on a new
  connection at all, so 5,000 connections trickling header bytes (or sending none) stayed open as
  long as their clients liked. ASGI middleware cannot help: the app is called once the head is
  in. Here a request head must be complete within HEADER_TIMEOUT_SECONDS of its first byte and
  its body within BODY_TIMEOUT_SECONDS of the head's end, else 408 and the connection is closed;
  a new connection that sends nothing is closed after uvicorn's keep-alive timeout, as an idle
  one is. A timer is armed only when a read leaves a request unfinished, so a request that
  arrives in one read (nearly all of them) costs no timer at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import settings_or_defaults

MAX_HEAD_BYTES = 64 * 1024
_LIMITS = settings_or_defaults()


def _answer(status: bytes, detail: bytes) -> bytes:
    body = b'{"detail":"%s"}' % detail
    return (
        b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"connection: close\r\n\r\n%s" % (status, len(body), body)
    )


HEAD_TOO_LARGE = _answer(b"431 Request Header Fields Too Large", b"request header fields too large")
HEAD_TOO_SLOW = _answer(b"408 Request Timeout", b"request head not received in time")
BODY_TOO_SLOW = _answer(b"408 Request Timeout", b"request body not received in time")
HEAD_TOO_LARGE_LOG = "request head over %d bytes refused with 431"


class HeadTooLargeError(Exception):
    """Raised inside a parser callback; uvicorn then answers a parser error, see below."""


class HttpProtocol(HttpToolsProtocol):
    max_head_bytes = MAX_HEAD_BYTES
    header_timeout = _LIMITS.header_timeout_seconds
    body_timeout = _LIMITS.body_timeout_seconds
    _parsed = 0  # bytes of URL and headers the parser handed over for the current request
    _received = 0  # bytes received while the current request's head was unfinished
    _in_head = False
    _in_body = False
    _refused = False  # answered and closing: whatever else arrives is ignored
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # uvicorn arms its keep-alive timeout only after a response: a silent new connection
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        if self._refused:
            return
        if self._in_head:
            # The parser holds an unfinished head (httptools buffers a header value whole).
            self._received += len(data)
            if self._received > self.max_head_bytes:
                self._refuse(HEAD_TOO_LARGE, HEAD_TOO_LARGE_LOG, self.max_head_bytes)
            elif self._deadline is None:
                self._arm(self.header_timeout, self._head_too_slow)
        elif self._in_body and self._deadline is None:
            self._arm(self.body_timeout, self._body_too_slow)

    def send_400_response(self, msg: str) -> None:
        if self._refused:  # the parser error was our callback refusing the head
            return
        super().send_400_response(msg)

    def _arm(self, seconds: float, expired: Callable[[], None]) -> None:
        self._deadline = self.loop.call_later(seconds, expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _refuse(self, answer: bytes, log: str, *args: object) -> None:
        self._refused = True
        self._disarm()
        self.logger.warning(log, *args)
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()

    def _head_too_slow(self) -> None:
        self._deadline = None
        self._refuse(HEAD_TOO_SLOW, "request head not complete in %g s: 408", self.header_timeout)

    def _body_too_slow(self) -> None:
        self._deadline = None
        cycle = self.cycle
        answered = cycle.response_started
        cycle.disconnected = True  # the app's next receive() is a disconnect, its answer dropped
        cycle.message_event.set()
        if answered:
            self._refused = True
            self.transport.close()
        else:
            self._refuse(BODY_TOO_SLOW, "request body not complete in %g s: 408", self.body_timeout)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._parsed = self._received = 0
        self._in_head = True

    def _count(self, size: int) -> None:
        self._parsed += size
        if self._parsed > self.max_head_bytes:
            self._refuse(HEAD_TOO_LARGE, HEAD_TOO_LARGE_LOG, self.max_head_bytes)
            raise HeadTooLargeError

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._in_body = True
        self._disarm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        self._disarm()
        super().on_message_complete()
