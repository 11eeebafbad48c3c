from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli

REPO = Path(__file__).resolve().parents[1]
SHARED_CRDS = REPO.parent / "shared" / "crds"
SPEC = "environments/environments.yaml"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_crds() -> Path:
    if not (SHARED_CRDS / "argo-cd").is_dir():
        pytest.skip(
            f"upstream CRDs not found at {SHARED_CRDS} (only CI and developers have ../shared)"
        )
    return SHARED_CRDS


Invoke = Callable[..., Result]


@pytest.fixture
def run_cli() -> Invoke:
    """Run the CLI in-process; a failure message shows what it printed."""

    def invoke(*args: str | Path, expect: int | None = 0) -> Result:
        result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (
                f"exit {result.exit_code} != {expect}\nstdout:\n{result.stdout}\n"
                f"stderr:\n{result.stderr}"
            )
        return result

    return invoke


def copy_repository(dest: Path) -> Path:
    """The parts of this repository a render and a validate read, and what they write."""
    for part in (
        "environments",
        "apps/fastapi/chart",
        "apps/fastapi/values",
        "applicationsets",
        "bootstrap",
        "metallb",
    ):
        shutil.copytree(REPO / part, dest / part)
    # the serving app's routing function, which `simulate` and promotion bodies load
    (dest / "apps/fastapi/app").mkdir()
    shutil.copy2(REPO / "apps/fastapi/app/routing.py", dest / "apps/fastapi/app/routing.py")
    return dest


@pytest.fixture
def tmp_repo(tmp_path: Path) -> Path:
    return copy_repository(tmp_path / "repo")


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below root, for checking that nothing changed."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- the serving app: a real MLflow server, real registered models, a real webhook ---------------

import json  # noqa: E402
import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402


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

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Webhook(f"http://127.0.0.1:{server.server_address[1]}/hook", received)
    finally:
        server.shutdown()
        server.server_close()
