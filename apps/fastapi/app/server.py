"""uvicorn's httptools protocol with a bound on the request head: `--http app.server:HttpProtocol`.

httptools gathers a header value in memory until it ends, with no limit of its own (a 100 MB
header was answered 200 and cost +145 MB), and uvicorn's h11 option answers 400, not 431. This
counts the bytes of a request head while it arrives and answers 431 and closes the connection
once MAX_HEAD_BYTES is passed, so a head never costs more than that plus one read.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024

_REFUSAL = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/json\r\n"
    b"content-length: 44\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b'{"detail":"request header fields too large"}'
)


class HeadTooLargeError(Exception):
    """Raised inside a parser callback; uvicorn then answers a parser error, see below."""


class HttpProtocol(HttpToolsProtocol):
    max_head_bytes = MAX_HEAD_BYTES
    _parsed = 0  # bytes of URL and headers the parser handed over for the current request
    _received = 0  # bytes received while the current request's head was unfinished
    _in_head = False
    _too_large = False

    def data_received(self, data: bytes) -> None:
        if self._too_large:
            return
        super().data_received(data)
        if self._in_head and not self._too_large:
            # The parser holds an unfinished head (httptools buffers a header value whole).
            self._received += len(data)
            if self._received > self.max_head_bytes:
                self._refuse()

    def send_400_response(self, msg: str) -> None:
        if self._too_large:  # the parser error was our callback refusing the head
            self._refuse()
        else:
            super().send_400_response(msg)

    def _refuse(self) -> None:
        self._too_large = True
        self.logger.warning("request head over %d bytes refused with 431", self.max_head_bytes)
        if not self.transport.is_closing():
            self.transport.write(_REFUSAL)
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._parsed = self._received = 0
        self._in_head = True

    def _count(self, size: int) -> None:
        self._parsed += size
        if self._parsed > self.max_head_bytes:
            self._too_large = True
            raise HeadTooLargeError

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()
