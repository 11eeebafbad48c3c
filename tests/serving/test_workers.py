"""Two real uvicorn workers over real HTTP (WEB_CONCURRENCY=2, as the chart's `workers: 2`):
/metrics counts every request exactly once whichever worker answers the scrape, a worker killed
and restarted takes nothing back and leaves no `model_version` series behind, and each worker
writes a log file of its own. The shared metrics folder is never a symlink or another's."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.conftest import Registry

pytest.importorskip("mlflow", reason="the serving extra is not installed")

import httpx  # noqa: E402
from app.workers import UnsafeMetricsDirError, forget_dead_workers, metrics_dir  # noqa: E402
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


def version_pids(url: str) -> set[int]:
    """The `pid` labels of the model_version series in one scrape."""
    text = httpx.get(f"{url}/metrics", headers={"connection": "close"}, timeout=10).text
    return {int(pid) for pid in re.findall(r'^model_version\{[^}]*pid="(\d+)"', text, re.M)}


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
    # The killed worker's live gauge is gone: `max by (alias)` sees only versions served. (The
    # new worker shows once its models are loaded: the 100 requests may all have gone to the
    # other one.)
    deadline = time.monotonic() + 120
    while version_pids(url) != after and time.monotonic() < deadline:
        time.sleep(0.5)
    assert {frozenset(version_pids(url)) for _ in range(12)} == {frozenset(after)}
    lines = predict_lines(tmp_path / "logs")
    assert len(lines) == WORKERS and sum(lines.values()) == 400  # the new worker took the slot


def victim_folder(tmp_path: Path) -> Path:
    """Someone else's folder with names a metrics clean-up would take for old runs."""
    victim = tmp_path / "victim"
    for name in ("1-1", "999999999-5", "keep"):
        (victim / name).mkdir(parents=True)
        (victim / name / "data").write_text("precious")
    return victim


def test_a_symlink_at_the_metrics_folder_is_refused_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    victim = victim_folder(tmp_path)
    base = tmp_path / "gitopsgen-metrics"
    base.symlink_to(victim)
    with pytest.raises(UnsafeMetricsDirError, match="gitopsgen-metrics is a symlink"):
        metrics_dir(base)
    assert sorted(p.name for p in victim.iterdir()) == ["1-1", "999999999-5", "keep"]


@pytest.mark.parametrize("kind", ["open to all", "another user's", "a file"])
def test_a_metrics_folder_that_is_not_only_ours_is_refused(tmp_path: Path, kind: str) -> None:
    base = tmp_path / "gitopsgen-metrics"
    if kind == "a file":
        base.write_text("")
    else:
        base.mkdir()
        (base / "999999999-5").mkdir()
    if kind == "open to all":
        base.chmod(0o1777)
    if kind == "another user's":
        if os.getuid() != 0:
            pytest.skip("giving a folder to another user needs root")
        os.chown(base, 65534, 65534)
    with pytest.raises(UnsafeMetricsDirError, match="refusing to use it"):
        metrics_dir(base)
    if kind != "a file":
        assert (base / "999999999-5").is_dir()  # nothing removed in a folder not only ours


def test_a_new_run_gets_a_private_folder(tmp_path: Path) -> None:
    base = tmp_path / "gitopsgen-metrics"
    path = metrics_dir(base)
    assert path.parent == base
    assert (base.stat().st_mode & 0o777, path.stat().st_mode & 0o777) == (0o700, 0o700)


def test_dead_workers_live_gauges_are_forgotten_and_their_counters_kept(tmp_path: Path) -> None:
    """Real processes stand in for the workers of a supervisor (this test process): one running,
    one killed with SIGKILL (reaped), and pid 1, which runs but is no worker of ours."""
    running = subprocess.Popen(["sleep", "60"])
    killed = subprocess.Popen(["sleep", "60"])
    killed.kill()
    killed.wait()
    try:
        for pid in (running.pid, killed.pid, 1, os.getpid()):
            (tmp_path / f"gauge_liveall_{pid}.db").write_bytes(b"")
        (tmp_path / f"counter_{killed.pid}.db").write_bytes(b"")
        forgotten = forget_dead_workers(tmp_path, supervisor=os.getpid())
        assert forgotten == sorted([killed.pid, 1])
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [
                f"gauge_liveall_{running.pid}.db",
                f"gauge_liveall_{os.getpid()}.db",  # a scraping worker keeps its own
                f"counter_{killed.pid}.db",  # totals never go down
            ]
        )
        # a starting worker given a dead worker's pid forgets that worker's gauges too
        assert forget_dead_workers(tmp_path, supervisor=os.getpid(), starting=True) == [os.getpid()]
    finally:
        running.kill()
        running.wait()


def test_workers_refuse_to_start_on_a_symlinked_metrics_folder(
    mlflow_registry: Registry, tmp_path: Path
) -> None:
    """The whole app, two workers, a shared /tmp where someone planted the symlink: one line
    naming the folder, no traceback, the target untouched, and the supervisor stops (with exit
    code 0: uvicorn checks its own exit code only with one worker)."""
    victim = victim_folder(tmp_path)
    (tmp_path / "gitopsgen-metrics").symlink_to(victim)
    port = free_port()
    env = app_env(mlflow_registry, tmp_path, WEB_CONCURRENCY=str(WORKERS), TMPDIR=str(tmp_path))
    server = start(app_command(port), env, tmp_path, port)
    try:
        server.process.wait(timeout=120)
    finally:
        server.stop()  # it should have stopped by itself
    log = server.log.read_text()
    assert "failed to start, stopping the parent process" in log
    assert "cannot start: the metrics folder " in log and "is a symlink" in log, log
    assert "Traceback" not in log
    assert sorted(p.name for p in victim.iterdir()) == ["1-1", "999999999-5", "keep"]
