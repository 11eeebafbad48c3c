"""Hostile Kubernetes API servers (issue 26, items 5, 7, 8, 9 and 15): the real `kubernetes`
client against a local HTTP server on 127.0.0.1 replaying the recorded API answers of
test_status.py, slowly (one byte every 0.5 s), malformed, redirected, or with terminal escapes.
No cluster runs here. Every case is exit 2 naming the server, within its bound, with no
traceback; `wait` and `status` print what the cluster says escaped."""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.generator.test_status import REVISION, frozen_at, kubeconfig, routes
from tests.support import Invoke, local_http_server

pytest.importorskip("kubernetes", reason="the status extra is not installed")

APP = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/fastapi-prod"
DEPLOYMENTS = "/apis/apps/v1/namespaces/fastapi-prod/deployments"


@dataclass
class SlowApi:
    """Recorded answers; `mode` says how they are spoiled. `seen`: (path, Authorization)."""

    url: str = ""
    answers: dict[str, Any] = field(default_factory=routes)
    mode: str = "plain"
    body: bytes | None = None  # answered to every request instead of the recorded object
    raw: dict[str, bytes] = field(default_factory=dict)  # a path's answer, serialised already
    redirect_to: str = ""
    seen: list[tuple[str, str | None]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def serve(api: SlowApi) -> Iterator[SlowApi]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            api.seen.append((self.path, self.headers.get("Authorization")))
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.answer()

        def answer(self) -> None:
            path = urlparse(self.path).path
            recorded = api.answers.get(path)
            body = api.body if api.body is not None else json.dumps(recorded).encode()
            body = api.raw.get(path, body)
            if recorded is None and api.body is None:
                body = json.dumps({"kind": "Status", "code": 404}).encode()
            # one answer per connection, as http.server does: no reuse of a closed connection
            head = b"HTTP/1.1 %d OK\r\nConnection: close\r\nContent-Type: application/json\r\n" % (
                404 if recorded is None and api.body is None else 200
            )
            length = b"Content-Length: %d\r\n" % len(body)
            if api.mode == "redirect":
                self.send_response(307)
                self.send_header("Location", api.redirect_to + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif api.mode == "drip-body":
                self.drip(head + length + b"\r\n", body)
            elif api.mode == "drip-headers":
                self.drip(
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\n", length + b"X-Slow: " + b"a" * 200
                )
            elif api.mode == "too-many-headers":
                many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
                self.wfile.write(head + many + length + b"\r\n" + body)
            elif api.mode == "bad-status-line":
                self.wfile.write(b"HTTP/1.1 two hundred\r\n\r\n" + body)
            else:
                self.wfile.write(head + length + b"\r\n" + body)

        def drip(self, first: bytes, rest: bytes) -> None:
            self.wfile.write(first)
            self.wfile.flush()
            for byte in rest:
                if api.stop.wait(0.5):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()

        def log_message(self, *_: object) -> None:
            return

    with local_http_server(Handler) as url:
        api.url = url
        try:
            yield api
        finally:
            api.stop.set()


@pytest.fixture
def slow_api() -> Iterator[SlowApi]:
    yield from serve(SlowApi())


def status(run_cli: Invoke, config: Path, timeout: str, *args: str, expect: int) -> Any:
    root = frozen_at(config.parent)
    return run_cli(
        "status", "prod", *args, "--kubeconfig", config, "--root", root,
        "--request-timeout", timeout, expect=expect,
    )  # fmt: skip


def wait(run_cli: Invoke, config: Path, timeout: str, *args: str, expect: int) -> Any:
    root = frozen_at(config.parent)
    return run_cli(
        "wait", "prod", "--revision", REVISION, "--interval", "0.05", "--timeout", timeout,
        *args, "--kubeconfig", config, "--root", root, expect=expect,
    )  # fmt: skip


# --- item 7: whole-call deadlines ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["drip-body", "drip-headers"])
def test_status_holds_its_request_timeout_against_a_dripping_server(
    slow_api: SlowApi, tmp_path: Path, run_cli: Invoke, mode: str
) -> None:
    """Each read returns within the timeout, so a per-read timeout never fires: the recorded
    Application would take over 1,000 s at this pace; status stops within 3x of 2 s."""
    slow_api.mode = mode
    started = time.monotonic()
    result = status(run_cli, kubeconfig(tmp_path, slow_api.url), "2", expect=2)
    assert time.monotonic() - started < 6.0
    assert f"server {slow_api.url}): timeout: no answer within 2s" in result.stderr
    assert "Traceback" not in result.output


def test_wait_holds_its_timeout_against_a_dripping_server(
    slow_api: SlowApi, tmp_path: Path, run_cli: Invoke
) -> None:
    """--timeout 5 bounds the whole wait, also a call the --request-timeout (10 s) allows."""
    slow_api.mode = "drip-body"
    started = time.monotonic()
    result = wait(run_cli, kubeconfig(tmp_path, slow_api.url), "5", expect=2)
    assert time.monotonic() - started < 15.0
    assert "timeout: no answer within" in result.stderr


# --- item 8: malformed answers ---------------------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("mode", "body", "words"),
    [
        ("too-many-headers", None, "answered malformed HTTP"),
        ("bad-status-line", None, "answered malformed HTTP"),
        ("plain", b'{"status": {"sync": ', "did not answer with JSON"),
        ("plain", b"\xff\xfe not utf-8", "did not answer with JSON"),
        ("plain", DEEP, "JSON nested too deeply"),
        ("plain", b'{"status": [1, 2], "spec": "x", "items": {"a": 1}}', "DRIFT"),
    ],
)
def test_malformed_answers_are_exit_2_naming_the_server(
    slow_api: SlowApi, tmp_path: Path, run_cli: Invoke, mode: str, body: bytes | None, words: str
) -> None:
    slow_api.mode, slow_api.body = mode, body
    expect = 1 if words == "DRIFT" else 2  # JSON of another shape: read as missing fields
    result = status(run_cli, kubeconfig(tmp_path, slow_api.url), "5", expect=expect)
    assert words in result.output
    if expect == 2:
        assert f"context 'argocd' (server {slow_api.url})" in result.stderr
    assert "Traceback" not in result.output and "internal error" not in result.output


def test_a_20000_item_list_is_refused_in_bounded_time_and_memory(
    slow_api: SlowApi, tmp_path: Path, run_cli: Invoke
) -> None:
    """The recorded Deployment 20,000 times (about 60 MB of JSON): the client once took 12 s and
    650 MB building model objects; the answer is cut at its cap instead."""
    listed = copy.deepcopy(slow_api.answers[DEPLOYMENTS])
    listed["items"] = listed["items"] * 20_000
    slow_api.raw[DEPLOYMENTS] = json.dumps(listed).encode()
    assert len(slow_api.raw[DEPLOYMENTS]) > 40_000_000
    config = kubeconfig(tmp_path, slow_api.url)
    frozen_at(tmp_path)  # rendered before memory is measured
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = status(run_cli, config, "10", expect=2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 10.0
    assert "answered more than 8,388,608 bytes; refused" in result.stderr
    assert peak < 100 << 20, f"{peak / 2**20:.0f} MiB"


# --- item 5: the token never follows a redirect ----------------------------------------------


def test_a_redirect_is_not_followed_and_the_token_stays(
    slow_api: SlowApi, tmp_path: Path, run_cli: Invoke
) -> None:
    for elsewhere in serve(SlowApi()):
        slow_api.mode, slow_api.redirect_to = "redirect", elsewhere.url
        result = status(run_cli, kubeconfig(tmp_path, slow_api.url), "5", expect=2)
        assert "answered a redirect (307" in result.stderr and "not followed" in result.stderr
        assert elsewhere.seen == []
        assert slow_api.seen[0][1] == "Bearer recorded-token"


# --- items 9 and 15: what is printed ---------------------------------------------------------

FORGED = "\x1b[2J\x1b[1;1Hok\r\nprod is Synced and Healthy at 4f2c1d8e9a7b\u202e"


def test_wait_prints_the_health_message_escaped(
    slow_api: SlowApi, tmp_path: Path, run_cli: Invoke
) -> None:
    app = slow_api.answers[APP]
    app["status"]["health"] = {"status": "Degraded", "message": FORGED}
    app["status"]["sync"]["status"] = "Out\x1b]0;title\x07OfSync"
    result = wait(run_cli, kubeconfig(tmp_path, slow_api.url), "5", expect=1)
    assert "\\x1b[2J\\x1b[1;1Hok\\r\\nprod is Synced" in result.stderr
    assert "Out\\x1b]0;title\\x07OfSync" in result.stderr
    assert (
        "\x1b" not in result.output and "\r" not in result.output and "\u202e" not in result.output
    )
    assert "\nprod is Synced" not in result.output


def test_status_prints_live_fields_escaped(
    slow_api: SlowApi, tmp_path: Path, run_cli: Invoke
) -> None:
    deployment = slow_api.answers[DEPLOYMENTS]["items"][0]
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "evil\x1b[31m\nforged ok"
    result = status(run_cli, kubeconfig(tmp_path, slow_api.url), "5", expect=1)
    assert "evil\\x1b[31m\\nforged ok" in result.stdout
    assert "\x1b" not in result.stdout and "\nforged" not in result.stdout
    as_json = status(run_cli, kubeconfig(tmp_path, slow_api.url), "5", "--format", "json", expect=1)
    (prod,) = json.loads(as_json.stdout)
    images = [c["live"] for c in prod["checks"] if c["item"] == "image"]
    assert images == ["evil\x1b[31m\nforged ok"]  # JSON carries it exactly, escaped by JSON


@pytest.mark.parametrize(
    "server", ["http://admin:hunter2@127.0.0.1:9", "http://admin:hun/ter2@127.0.0.1:9"]
)
def test_status_never_prints_the_userinfo_of_a_server_url(
    tmp_path: Path, run_cli: Invoke, server: str
) -> None:
    result = status(run_cli, kubeconfig(tmp_path, server), "2", expect=2)
    assert "hunter2" not in result.output and "hun/ter2" not in result.output
    assert "ter2" not in result.output and "admin" not in result.output
    assert "server URL http://127.0.0.1:9 holds a user:password@ part" in result.stderr
