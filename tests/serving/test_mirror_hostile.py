"""A hostile preview colour against a real live uvicorn (issue 26, item 13): one answering huge
bodies, one that never answers, one dripping its answer a byte at a time. The live process's
memory stays bounded (its resident size is measured) and every live answer is served as usual;
each mirrored call ends within its deadline and is counted."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest

from tests.serving.conftest import Registry
from tests.serving.test_limits_http import Server
from tests.support import local_http_server

pytest.importorskip("mlflow", reason="the serving extra is not installed")

import httpx  # noqa: E402
from app.config import Settings  # noqa: E402
from app.mirror import DEADLINE_SECONDS, QUEUE_BYTES, Copy, Mirror  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

MB = 1024 * 1024
ROW = [5.1, 3.5, 1.4, 0.2]
# ~1 MiB of valid rows: parsed, the old mirror held ~9 MB of Python objects per copy
BIG_BODY = json.dumps({"data": [ROW] * 50_000}).encode()
HUGE_ANSWER_MB = 32


@dataclass
class Preview:
    """The preview colour's behaviour, switched by each test."""

    url: str = ""
    mode: str = "huge"
    release: threading.Event = field(default_factory=threading.Event)


def handler_for(preview: Preview) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("content-length", "0")))
            try:
                if preview.mode == "hang":  # never answers until the test lets it go
                    preview.release.wait(120)
                elif preview.mode == "drip":
                    self.send_response(200)
                    self.send_header("content-length", "1000")
                    self.end_headers()
                    for _ in range(1000):
                        if preview.release.wait(0.5):
                            return
                        self.wfile.write(b" ")
                        self.wfile.flush()
                else:  # huge: an answer with no declared length, ended by the close
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"prediction": [')
                    piece = b"0," * (MB // 2)
                    for _ in range(HUGE_ANSWER_MB):
                        self.wfile.write(piece)
            except (BrokenPipeError, ConnectionResetError):  # the mirror gave up reading
                pass

        def log_message(self, *_: object) -> None:
            return

    return Handler


@pytest.fixture(scope="module")
def preview() -> Iterator[Preview]:
    state = Preview()
    with local_http_server(handler_for(state)) as url:
        state.url = url
        yield state
        state.release.set()


@pytest.fixture(scope="module")
def live(
    mlflow_registry: Registry, preview: Preview, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    server = Server(
        mlflow_registry,
        tmp_path_factory.mktemp("mirror-live"),
        ALIAS_SELECTION_MODE="blue_green",
        APP_COLOR="blue",
        PREVIEW_URL=preview.url,
        PREVIEW_SHADOW_PERCENT="100",
        MAX_BATCH_ROWS="100000",
        MAX_BODY_BYTES=str(8 * MB),  # the default (the limits tests' server sets 1 MiB)
        REQUEST_LOG_SAMPLE="10",
    )
    yield server
    server.stop()


def outcomes(server: Server) -> dict[str, float]:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    found: dict[str, float] = {}
    for outcome, value in re.findall(
        r'^model_mirror_requests_total\{[^}]*outcome="(\w+)"[^}]*\} (\S+)$', text, re.M
    ):
        found[outcome] = found.get(outcome, 0.0) + float(value)
    return found


def wait_for(check: object, what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def settle(server: Server, preview: Preview) -> None:
    """Let the preview go and wait until every mirrored request has an outcome."""
    preview.release.set()
    wait_for(
        lambda: sum(outcomes(server).values()) >= live_predictions(server),
        "every mirrored request counted",
        60,
    )
    preview.release.clear()


def live_predictions(server: Server) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    return sum(
        float(v)
        for v in re.findall(r'^model_requests_total\{[^}]*status="200"[^}]*\} (\S+)$', text, re.M)
    )


def predict(server: Server, body: bytes, count: int) -> list[int]:
    with httpx.Client(timeout=60) as client:
        return [
            client.post(
                f"{server.url}/predict", content=body, headers={"content-type": "application/json"}
            ).status_code
            for _ in range(count)
        ]


def test_a_hanging_preview_holds_bytes_not_parsed_requests(live: Server, preview: Preview) -> None:
    """40 live requests of 1 MiB while the preview never answers: before, each waited in the
    queue as megabytes of parsed objects (the queue was bounded by count, 256: the process grew
    129 MB here); now the copies are bytes and all they hold is bounded by QUEUE_BYTES (19 MB
    grown), the rest dropped and counted."""
    preview.mode = "huge"
    assert predict(live, BIG_BODY, 3) == [200] * 3  # the allocator grown for one request
    settle(live, preview)
    preview.mode = "hang"
    before = live.rss_kib()
    assert predict(live, BIG_BODY, 40) == [200] * 40  # the live answers do not wait
    grown_mb = (live.rss_kib() - before) / 1024
    dropped = outcomes(live).get("dropped", 0)
    settle(live, preview)
    assert grown_mb < 64, f"the live process grew {grown_mb:.0f} MB"
    # the byte bound was reached (16 MiB: 15 of these copies; the count bound of 256 never was)
    assert dropped > 0


def test_a_preview_answering_huge_bodies_is_read_up_to_a_cap(
    live: Server, preview: Preview
) -> None:
    """Before, each of the four mirror workers read a 32 MB answer whole (then failed to parse
    it): a peak 315 MB above the process's size for 8 requests; now reading stops at the cap
    and the call counts as an error (no measurable peak)."""
    preview.mode = "huge"
    before_errors = outcomes(live).get("error", 0)
    live.reset_peak()
    before = live.rss_kib()
    assert predict(live, json.dumps({"data": [ROW]}).encode(), 8) == [200] * 8
    wait_for(lambda: outcomes(live).get("error", 0) >= before_errors + 8, "8 errors", 60)
    peak_mb = (live.rss_kib("VmHWM") - before) / 1024
    assert peak_mb < 40, f"the live process peaked {peak_mb:.0f} MB above its size"
    settle(live, preview)


def test_a_dripping_preview_is_cut_at_the_deadline(live: Server, preview: Preview) -> None:
    """A byte every 0.5 s never passes httpx's 5 s per-read timeout (1,000 bytes took over 8
    minutes per call); the whole call has DEADLINE_SECONDS."""
    preview.mode = "drip"
    before_errors = outcomes(live).get("error", 0)
    start = time.monotonic()
    assert predict(live, json.dumps({"data": [ROW]}).encode(), 4) == [200] * 4
    wait_for(
        lambda: outcomes(live).get("error", 0) >= before_errors + 4,
        "4 mirrored calls cut at their deadline",
        DEADLINE_SECONDS + 20,
    )
    assert time.monotonic() - start >= DEADLINE_SECONDS - 0.5  # ended by the deadline, not sooner
    settle(live, preview)


def test_the_queue_is_bounded_by_bytes() -> None:
    async def scenario() -> tuple[int, float]:
        settings = Settings(
            tracking_uri="http://127.0.0.1:1",
            model_name="m",
            app_color="blue",
            preview_url="http://127.0.0.1:1",
            preview_shadow_percent=100,
        )
        registry = CollectorRegistry()
        mirror = Mirror(settings, registry)
        for task in mirror.workers:  # no worker takes anything: the queue fills
            task.cancel()
        await asyncio.gather(*mirror.workers, return_exceptions=True)
        body = b" " * MB
        for _ in range(40):
            mirror.offer(Copy(body, None, b'{"prediction":[0]}'))
        await mirror.client.aclose()
        dropped = registry.get_sample_value(
            "model_mirror_requests_total",
            {"color": "blue", "preview": "unknown", "outcome": "dropped"},
        )
        assert mirror.held_bytes <= QUEUE_BYTES
        return mirror.held, dropped or 0.0

    held, dropped = asyncio.run(scenario())
    assert held == QUEUE_BYTES // (MB + 18)  # whole copies only
    assert dropped == 40 - held
