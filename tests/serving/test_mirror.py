"""Blue-green of the serving image over real HTTP: two uvicorn processes of the same code against
a real MLflow server, told apart by APP_COLOR and APP_VERSION; the active colour (blue) mirrors a
share of its live /predict requests to the preview colour (green) and compares the answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.conftest import Registry
from tests.serving.test_app_server import ROW, Server, app_env, start

pytest.importorskip("mlflow", reason="the serving extra is not installed")

import httpx  # noqa: E402
from app.config import Settings  # noqa: E402
from app.mirror import QUEUE_SIZE, Copy, Mirror  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from tools.local_mlflow import app_command, free_port  # noqa: E402

MIRRORED = "model_mirror_requests_total"


def colour(registry: Registry, tmp_path: Path, name: str, preview: str, percent: int) -> Server:
    port = free_port()
    env = app_env(
        registry,
        tmp_path / name,
        ALIAS_SELECTION_MODE="blue_green",
        DEFAULT_ALIAS="A",  # both colours serve A: they differ by version, so all agree
        APP_COLOR=name,
        APP_VERSION={"blue": "1.4.0", "green": "1.5.0"}[name],
        PREVIEW_URL=preview or f"http://127.0.0.1:{port}",  # like the chart: the preview Service
        PREVIEW_SHADOW_PERCENT=str(percent),
    )
    server = start(app_command(port), env, tmp_path, port)
    assert server.process.poll() is None, server.log.read_text()
    return server


def samples(server: Server, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def mirrored(server: Server, outcome: str, preview: str = "green") -> float:
    key = (("color", "blue"), ("outcome", outcome), ("preview", preview))
    return samples(server, MIRRORED).get(key, 0.0)


def wait_for(check: object, what: str, timeout: float = 30) -> None:
    """Mirroring is asynchronous by design: wait (bounded) until the counter arrives."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def send(server: Server, count: int) -> list[httpx.Response]:
    with httpx.Client(timeout=10) as client:
        return [
            client.post(
                f"{server.url}/predict", json={"data": [ROW]}, headers={"x-client-id": f"c{i}"}
            )
            for i in range(count)
        ]


@pytest.fixture
def green(mlflow_registry: Registry, tmp_path: Path) -> Iterator[Server]:
    server = colour(mlflow_registry, tmp_path, "green", "", 100)
    yield server
    server.stop()


@pytest.fixture
def blue(mlflow_registry: Registry, tmp_path: Path, green: Server) -> Iterator[Server]:
    server = colour(mlflow_registry, tmp_path, "blue", green.url, 50)
    yield server
    server.stop()


def test_the_active_colour_mirrors_its_share_and_counts_agreement(
    blue: Server, green: Server
) -> None:
    answers = send(blue, 40)
    assert [a.status_code for a in answers] == [200] * 40
    assert {a.headers["x-gitopsgen-color"] for a in answers} == {"blue"}
    assert {a.headers["x-gitopsgen-version"] for a in answers} == {"1.4.0"}
    wait_for(lambda: mirrored(blue, "agree") == 20, "20 agreeing comparisons")
    assert mirrored(blue, "disagree") == mirrored(blue, "error") == 0
    # green answered exactly the mirrored requests and mirrored none of them back
    served = samples(green, "model_requests_total")
    assert served[(("status", "200"), ("variant", "A"))] == 20
    assert not any(v for k, v in samples(green, MIRRORED).items() if dict(k)["outcome"] != "self")
    # latency per colour: the live colour's own answers and the preview's
    latency = samples(blue, "model_color_latency_seconds_count")
    assert latency[(("color", "blue"), ("role", "live"))] == 40
    assert latency[(("color", "green"), ("role", "preview"))] == 20


def test_preview_traffic_to_the_idle_colour_is_not_compared_with_itself(green: Server) -> None:
    """A tester on the preview host reaches green, whose PREVIEW_URL is its own Service."""
    assert [a.status_code for a in send(green, 4)] == [200] * 4
    key = (("color", "green"), ("outcome", "self"), ("preview", "green"))
    wait_for(lambda: samples(green, MIRRORED).get(key) == 4, "4 self answers")


def test_nothing_is_lost_when_the_preview_colour_is_down(blue: Server, green: Server) -> None:
    green.stop()
    answers = send(blue, 40)
    assert [a.status_code for a in answers] == [200] * 40
    wait_for(lambda: mirrored(blue, "error", "unknown") == 20, "20 failed mirrors counted")
    assert mirrored(blue, "agree") == 0


def test_a_full_queue_drops_and_counts_and_never_waits() -> None:
    async def scenario() -> float:
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
        start = time.perf_counter()
        for _ in range(QUEUE_SIZE + 7):
            mirror.offer(Copy(b'{"data": [[5.1, 3.5, 1.4, 0.2]]}', None, b'{"prediction":[0]}'))
        elapsed = time.perf_counter() - start
        await mirror.client.aclose()
        dropped = registry.get_sample_value(
            MIRRORED, {"color": "blue", "preview": "unknown", "outcome": "dropped"}
        )
        assert mirror.queue.qsize() == mirror.held == QUEUE_SIZE
        assert elapsed < 1.0  # offering never awaits; generous bound, not a timing claim
        return dropped or 0.0

    assert asyncio.run(scenario()) == 7
