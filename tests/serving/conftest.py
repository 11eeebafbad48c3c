"""Fixtures of the serving app's tests: a real MLflow server with real registered models, and a
real HTTP server standing in for Slack. Every test here needs the serving extra."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.support import local_http_server

# MLflow's telemetry client sets and unsets a variable of os.environ from its own thread when it
# gives up on its (unreachable) endpoint; a request iterating os.environ for proxies meanwhile
# raises KeyError '_MLFLOW_TELEMETRY_SESSION_ID'. The tests reach nothing but 127.0.0.1 anyway.
# Set before mlflow is imported; the servers and apps started here inherit it.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@dataclass
class Registry:
    url: str
    versions: dict[str, str]
    workdir: Path


@pytest.fixture(scope="session")
def mlflow_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """`mlflow server` (sqlite, 127.0.0.1) with best_model v1 as A and v2 as B."""
    pytest.importorskip(
        "mlflow", reason="the serving extra is not installed (pip install -e '.[serve]')"
    )
    from tools.local_mlflow import seed_registry, start_server

    workdir = tmp_path_factory.mktemp("mlflow")
    server = start_server(workdir)
    try:
        versions = seed_registry(server.url)
        yield Registry(server.url, versions, workdir)
    finally:
        server.stop()


@dataclass
class PinnedApp:
    url: str
    port: int
    token: str


@pytest.fixture(scope="session")
def pinned_app(
    mlflow_registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PinnedApp]:
    """The serving app over HTTP (uvicorn, as in the image) on best_model, B pinned to v1 while
    the registry's B points to v2 (drift), A following the registry (v1); no poll."""
    from tools.local_mlflow import app_command, free_port
    from tools.processes import LocalServer

    workdir = tmp_path_factory.mktemp("pinned-app")
    port, token = free_port(), "pinned-app-token"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": mlflow_registry.url,
        "MODEL_NAME": "best_model",
        "MODEL_VERSION_B": mlflow_registry.versions["A"],
        "RELOAD_SECRET_TOKEN": token,
        "LOG_DIR": str(workdir / "logs"),
        "ALIAS_POLL_INTERVAL_SECONDS": "0",
    }
    log = workdir / "app.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            app_command(port), env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = LocalServer(process, f"http://127.0.0.1:{port}", workdir)
    server.wait_until_ok("/health", log, 180)
    try:
        yield PinnedApp(server.url, port, token)
    finally:
        server.stop()


@dataclass
class Webhook:
    url: str
    received: list[dict[str, object]] = field(default_factory=list)

    def events(self) -> list[object]:
        return [m.get("event") for m in self.received]


@pytest.fixture
def slack_webhook() -> Iterator[Webhook]:
    """A real HTTP server on 127.0.0.1 standing in for Slack; it records every message."""
    received: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("content-length", "0"))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_: object) -> None:
            return

    with local_http_server(Handler) as url:
        yield Webhook(f"{url}/hook", received)
