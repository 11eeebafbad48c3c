"""Two real uvicorn workers over real HTTP (WEB_CONCURRENCY=2, as the chart's `workers: 2`):
/metrics counts every request exactly once whichever worker answers the scrape, a worker killed
and restarted takes nothing back, and each worker writes a log file of its own."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.conftest import Registry

pytest.importorskip("mlflow", reason="the serving extra is not installed")

import httpx  # noqa: E402
from tools.local_mlflow import app_command, free_port  # noqa: E402

from tests.serving.test_app_server import ROW, Server, app_env, start  # noqa: E402

WORKERS = 2


def workers_of(supervisor: int) -> set[int]:
    """uvicorn's worker processes: the spawned children of its supervisor."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == supervisor and b"spawn_main" in cmdline:
            found.add(int(stat.parent.name))
    return found


@pytest.fixture
def two_workers(mlflow_registry: Registry, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = app_env(
        mlflow_registry,
        tmp_path,
        WEB_CONCURRENCY=str(WORKERS),
        REQUEST_LOG_SAMPLE="1",  # every answered prediction in its worker's file
        TMPDIR=str(tmp_path),  # where the metrics files go
    )
    server = start(app_command(port), env, tmp_path, port)
    assert server.process.poll() is None, server.log.read_text()
    assert wait_for_workers(server.process.pid, WORKERS)
    yield server
    server.stop()


def wait_for_workers(supervisor: int, count: int, seconds: float = 120) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pids = workers_of(supervisor)
        if len(pids) == count:
            return pids
        time.sleep(0.2)
    return set()


async def send(url: str, requests: int, concurrency: int = 8) -> list[int]:
    """POST /predict `requests` times, a new connection each, so both workers accept some."""
    statuses: list[int] = []
    limits = httpx.Limits(max_keepalive_connections=0)

    async def worker(n: int, client: httpx.AsyncClient) -> None:
        for i in range(n, requests, concurrency):
            reply = await client.post(
                f"{url}/predict", json={"data": [ROW]}, headers={"x-client-id": f"c{i}"}
            )
            statuses.append(reply.status_code)

    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await asyncio.gather(*(worker(n, client) for n in range(concurrency)))
    return statuses


def counted(url: str) -> tuple[float, float]:
    """(answered requests, latency observations) in one scrape, summed over the variants."""
    text = httpx.get(f"{url}/metrics", headers={"connection": "close"}, timeout=10).text
    requests = sum(
        float(v)
        for v in re.findall(r'^model_requests_total\{[^}]*status="200"[^}]*\} (\S+)$', text, re.M)
    )
    latency = sum(
        float(v)
        for v in re.findall(r"^model_request_latency_seconds_count\{[^}]*\} (\S+)$", text, re.M)
    )
    return requests, latency


def predict_lines(log_dir: Path) -> dict[str, int]:
    return {
        path.name: sum(
            json.loads(line)["message"].startswith("predict rows=")
            for line in path.read_text().splitlines()
        )
        for path in sorted(log_dir.glob("fastapi-*.log"))
    }


def test_two_workers_count_every_request_once_and_log_apart(
    two_workers: Server, tmp_path: Path
) -> None:
    url = two_workers.url
    assert asyncio.run(send(url, 300)) == [200] * 300
    scrapes = {counted(url) for _ in range(12)}  # answered by either worker
    assert scrapes == {(300.0, 300.0)}

    host = socket.gethostname()
    lines = predict_lines(tmp_path / "logs")
    assert set(lines) == {f"fastapi-{host}-1.log", f"fastapi-{host}-2.log"}
    assert sum(lines.values()) == 300  # each request logged once, by the worker that answered
    assert all(count > 0 for count in lines.values()), lines  # both workers served
    assert list((tmp_path / "gitopsgen-metrics").glob("*/counter_*.db"))

    # A worker dies without a goodbye; uvicorn starts another. Nothing counted is lost.
    before = workers_of(two_workers.process.pid)
    os.kill(min(before), signal.SIGKILL)
    after = wait_for_workers(two_workers.process.pid, WORKERS)
    assert after and after != before
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the new worker loads its models before it accepts
        if httpx.get(f"{url}/health", headers={"connection": "close"}).status_code == 200:
            break
        time.sleep(0.2)
    assert asyncio.run(send(url, 100)) == [200] * 100
    assert {counted(url) for _ in range(12)} == {(400.0, 400.0)}
    lines = predict_lines(tmp_path / "logs")
    assert len(lines) == WORKERS and sum(lines.values()) == 400  # the new worker took the slot
