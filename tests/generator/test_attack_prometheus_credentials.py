"""A Prometheus URL with user:password@ (a Prometheus behind basic auth) sends the credentials as
an Authorization header, never as part of the host, and no message ever shows them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from gitopsgen.analysis.prometheus import PrometheusClient
from gitopsgen.errors import PrometheusError
from tests.support import local_http_server

ANSWER = {"status": "success", "data": {"resultType": "vector", "result": [{"value": [0, "7"]}]}}


@pytest.fixture
def guarded() -> Iterator[tuple[str, list[str | None]]]:
    """A Prometheus stand-in on 127.0.0.1 answering only `alice:s3cret`; the Authorization
    headers it saw."""
    seen: list[str | None] = []
    expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            ok = self.headers.get("Authorization") == expected
            body = json.dumps(ANSWER if ok else {"status": "error"}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json" if ok else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    with local_http_server(Handler) as url:
        yield url.removeprefix("http://"), seen


def test_credentials_in_the_url_are_sent_as_basic_auth(
    guarded: tuple[str, list[str | None]],
) -> None:
    host, seen = guarded
    assert PrometheusClient(f"http://alice:s3cret@{host}/").query("up") == 7.0
    assert seen and seen[-1] is not None and seen[-1].startswith("Basic ")


def test_wrong_credentials_are_exit_2_without_showing_them(
    guarded: tuple[str, list[str | None]],
) -> None:
    host, _ = guarded
    with pytest.raises(PrometheusError) as raised:
        PrometheusClient(f"http://alice:wrong-pw@{host}/").query("up")
    assert raised.value.exit_code == 2
    assert f"http://{host}/" in str(raised.value)
    assert "wrong-pw" not in str(raised.value) and "alice" not in str(raised.value)


def test_percent_encoded_credentials_are_decoded(guarded: tuple[str, list[str | None]]) -> None:
    host, _ = guarded
    assert PrometheusClient(f"http://%61lice:s3cre%74@{host}").query("up") == 7.0
