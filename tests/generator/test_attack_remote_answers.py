"""Hostile remote servers (issue 26, items 5, 7 and 8): real HTTP servers on 127.0.0.1 that
redirect elsewhere, drip their answer one byte every 0.5 s, or answer malformed HTTP or JSON.
Prometheus and `schemas fetch` share one client (gitopsgen.remote); each attack is exit 2
naming the server, within bounds, and never sends credentials to another origin."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from gitopsgen.analysis.prometheus import PrometheusClient
from gitopsgen.errors import PrometheusError, RemoteError
from gitopsgen.remote import http_get
from tests.support import Invoke, local_http_server

ANSWER = json.dumps(
    {"status": "success", "data": {"resultType": "vector", "result": [{"value": [0, "7"]}]}}
).encode()
CREDENTIALS = "Basic " + base64.b64encode(b"alice:s3cret").decode()

Respond = Callable[[BaseHTTPRequestHandler], None]


class Server:
    """A local HTTP server whose every answer is `respond`; what it was asked, with headers."""

    def __init__(self) -> None:
        self.url = ""
        self.seen: list[tuple[str, str | None]] = []  # (path, Authorization)
        self.respond: Respond = lambda h: send(h, 200, ANSWER)
        self.stop = threading.Event()  # set at teardown: a dripping handler ends


@pytest.fixture
def make_server() -> Iterator[Callable[[], Server]]:
    stack: list[Iterator[str]] = []
    servers: list[Server] = []

    def start() -> Server:
        server = Server()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.seen.append((self.path, self.headers.get("Authorization")))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    server.respond(self)

            def log_message(self, *_: object) -> None:
                return

        context = local_http_server(Handler)
        server.url = context.__enter__()
        stack.append(context)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop.set()
    for context in reversed(stack):
        context.__exit__(None, None, None)  # type: ignore[attr-defined]


def send(handler: BaseHTTPRequestHandler, code: int, body: bytes, **headers: str) -> None:
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def redirect_to(target: str) -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(307)
        handler.send_header("Location", target + handler.path)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return respond


def authority(server: Server) -> str:
    return server.url.removeprefix("http://")


# --- item 5: credentials never follow a redirect to another origin -------------------------


def test_a_redirect_to_another_origin_is_refused_and_gets_no_credentials(
    make_server: Callable[[], Server],
) -> None:
    elsewhere = make_server()
    guarded = make_server()
    guarded.respond = redirect_to(elsewhere.url)
    client = PrometheusClient(f"http://alice:s3cret@{authority(guarded)}")
    with pytest.raises(PrometheusError) as raised:
        client.query("up")
    message = str(raised.value)
    assert elsewhere.seen == []  # neither the credentials nor the query went there
    assert guarded.seen[0][1] == CREDENTIALS
    assert f"redirected (307) to another origin, {elsewhere.url}/api/v1/query" in message
    assert "s3cret" not in message and "alice" not in message
    assert raised.value.exit_code == 2


def test_another_port_on_the_same_host_is_another_origin(
    make_server: Callable[[], Server],
) -> None:
    elsewhere = make_server()
    guarded = make_server()
    guarded.respond = redirect_to(elsewhere.url.replace("127.0.0.1", "localhost"))
    with pytest.raises(PrometheusError, match="another origin"):
        PrometheusClient(f"http://alice:s3cret@{authority(guarded)}").query("up")
    assert elsewhere.seen == []


def test_a_redirect_on_the_origin_is_followed_with_the_credentials(
    make_server: Callable[[], Server],
) -> None:
    guarded = make_server()

    def respond(handler: BaseHTTPRequestHandler) -> None:
        if handler.path.startswith("/prometheus/"):
            send(handler, 200, ANSWER)
        else:
            redirect_to(guarded.url + "/prometheus")(handler)

    guarded.respond = respond
    assert PrometheusClient(f"http://alice:s3cret@{authority(guarded)}").query("up") == 7.0
    assert [auth for _, auth in guarded.seen] == [CREDENTIALS, CREDENTIALS]


def test_without_credentials_a_fetch_may_follow_another_origin_when_the_caller_allows(
    make_server: Callable[[], Server],
) -> None:
    """What `schemas fetch` does for the pinned URLs: the sha256 pins check the answer."""
    elsewhere = make_server()
    first = make_server()
    first.respond = redirect_to(elsewhere.url)
    answer = http_get(first.url + "/x", timeout=5, max_bytes=1000, off_origin_redirects=True)
    assert answer.body == ANSWER and elsewhere.seen == [("/x", None)]
    with pytest.raises(RemoteError, match="another origin"):  # never with credentials
        http_get(
            f"http://u:p@{authority(first)}/x", timeout=5, max_bytes=1000, off_origin_redirects=True
        )


# --- item 7: a total deadline ----------------------------------------------------------------


def drip(server: Server, head: bytes, body: bytes, every: float = 0.5) -> Respond:
    """Write `head` at once, then `body` one byte every `every` seconds until stopped."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(head)
        handler.wfile.flush()
        for byte in body:
            if server.stop.wait(every):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()

    return respond


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_server_dripping_its_answer_is_cut_off_at_the_timeout(
    make_server: Callable[[], Server], where: str
) -> None:
    """One byte every 0.5 s: each read returns in time, so a per-read timeout never fires; the
    answer would take over 20 s (20x the timeout), the query stops within 3x of 1 s."""
    server = make_server()
    body = ANSWER + b" " * 40
    length = f"Content-Length: {len(body)}\r\n".encode()
    if where == "headers":
        server.respond = drip(server, b"HTTP/1.1 200 OK\r\n", length + b"X-Slow: " + b"a" * 60)
    else:
        server.respond = drip(server, HEAD + length + b"\r\n", body)
    started = time.monotonic()
    with pytest.raises(PrometheusError) as raised:
        PrometheusClient(server.url, timeout=1.0).query("up")
    assert time.monotonic() - started < 3.0
    assert f"Prometheus at {server.url}: no complete answer within 1s" in str(raised.value)


def test_verify_stops_at_its_query_timeout(
    make_server: Callable[[], Server],
    tmp_path: Path,
    run_cli: Invoke,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gitopsgen.analysis import prometheus
    from tests.verify_support import verify_repository

    monkeypatch.setattr(prometheus, "QUERY_TIMEOUT", 1.0)
    server = make_server()
    server.respond = drip(server, HEAD + b"Content-Length: 400\r\n\r\n", b" " * 400)
    root = verify_repository(
        tmp_path / "repo", "{mode: canary, canaryPercent: 10}", "{minSamples: 1}"
    )
    started = time.monotonic()
    result = run_cli("verify", "prod", "--root", root, "--prometheus", server.url, expect=2)
    assert time.monotonic() - started < 6.0  # nine queries would otherwise take 9 x 200 s
    assert "no complete answer within 1s" in result.stderr
    assert len(server.seen) == 1


# --- item 8: malformed answers ---------------------------------------------------------------


def raw(data: bytes) -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(data)

    return respond


MALFORMED = {
    "over 100 headers": HEAD
    + b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    + b"Content-Length: 2\r\n\r\n{}",
    "a bad status line": b"HTTP/1.1 two hundred OK\r\n\r\n{}",
    "a header line over 64 KiB": HEAD + b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    "a body past its cap": HEAD + b"\r\n" + b"[" * 2_000_000,
    "a declared length past its cap": HEAD + b"Content-Length: 99999999\r\n\r\n{}",
}


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_http_is_an_error_naming_the_server(
    make_server: Callable[[], Server], kind: str
) -> None:
    server = make_server()
    server.respond = raw(MALFORMED[kind])
    with pytest.raises(PrometheusError) as raised:
        PrometheusClient(server.url, timeout=5).query("up")
    assert f"Prometheus at {server.url}" in str(raised.value)
    assert raised.value.exit_code == 2


JSON_BODIES = {
    "100,000-deep JSON": b"[" * 100_000 + b"]" * 100_000,
    "data that is a list": b'{"status": "success", "data": [1]}',
    "a sample that is a string": b'{"status": "success", "data": {"resultType": "vector", "result": ["x"]}}',
    "a value that is a mapping": b'{"status": "success", "data": {"resultType": "vector", "result": [{"value": [0, {}]}]}}',
    "an error that is a list": b'{"status": "error", "errorType": ["x"], "error": {"a": 1}}',
}


@pytest.mark.parametrize("kind", JSON_BODIES)
def test_malformed_json_is_an_error_naming_the_server(
    make_server: Callable[[], Server], kind: str
) -> None:
    server = make_server()
    server.respond = lambda h: send(h, 200, JSON_BODIES[kind])
    with pytest.raises(PrometheusError) as raised:
        PrometheusClient(server.url, timeout=5).query("up")
    assert server.url in str(raised.value)


def test_an_error_message_from_prometheus_is_printed_escaped(
    make_server: Callable[[], Server],
) -> None:
    """Item 9: terminal escapes and forged lines in Prometheus' own error text."""
    server = make_server()
    error = {"status": "error", "errorType": "bad_data", "error": "x\x1b[2J\nVerdict: Successful"}
    server.respond = lambda h: send(h, 400, json.dumps(error).encode())
    with pytest.raises(PrometheusError) as raised:
        PrometheusClient(server.url, timeout=5).query("up")
    assert "x\\x1b[2J\\nVerdict: Successful" in str(raised.value)
    assert "\x1b" not in str(raised.value) and "\n" not in str(raised.value)


# --- item 15: passwords never printed ---------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://alice:pa/ss@127.0.0.1:9",  # an unencoded '/': a parser takes 'ss@...' for the path
        "http://alice:pa?ss@127.0.0.1:9",
        "http://alice:pa#ss@127.0.0.1:9",
    ],
)
def test_verify_never_prints_a_password_with_an_unencoded_separator(
    url: str, tmp_path: Path, run_cli: Invoke
) -> None:
    from tests.verify_support import verify_repository

    root = verify_repository(
        tmp_path / "repo", "{mode: canary, canaryPercent: 10}", "{minSamples: 1}"
    )
    result = run_cli("verify", "prod", "--root", root, "--prometheus", url, expect=2)
    assert "holds an unencoded '/', '?' or '#'" in result.stderr
    assert "http://127.0.0.1:9" in result.stderr
    for secret in ("pa/ss", "pa?ss", "pa#ss", "ss@", "alice", "alice:pa"):
        assert secret not in result.output, secret


def test_a_url_that_is_no_url_is_refused_without_quoting_it(
    tmp_path: Path, run_cli: Invoke
) -> None:
    result = run_cli(
        "schemas",
        "fetch",
        "--mirror",
        "ci:s3cret@mirror.invalid/crds",
        "--dest",
        tmp_path,
        expect=2,
    )
    assert "cannot download mirror.invalid/crds/argo-cd/application-crd.yaml" in result.stderr
    assert "s3cret" not in result.output and "ci:" not in result.output
    scheme = run_cli("schemas", "fetch", "--mirror", "gopher://ci:s3cret@host/crds", expect=2)
    assert "gopher://host/crds/argo-cd/application-crd.yaml: unknown url type" in scheme.stderr
    assert "s3cret" not in scheme.output
    bad = run_cli(
        "verify", "prod", "--prometheus", "ftp://ci:s3cret@host/", "--root", tmp_path, expect=2
    )
    assert "s3cret" not in bad.output and "'ftp://host/' is not an http(s) URL" in bad.output
