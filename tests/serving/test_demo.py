"""`make serve` says what is wrong before it does any work: a busy port, a stale registry."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support import REPO

DEMO = REPO / "apps" / "fastapi" / "tools" / "demo.py"


def run_demo(env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEMO)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_busy_port_is_named_before_any_work(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        result = run_demo({"DEMO_DIR": str(tmp_path / "demo"), "PORT": str(port)}, timeout=60)
    assert result.returncode == 2
    assert f"port {port} (the app, PORT) already in use" in result.stderr
    assert "make serve PORT=8001" in result.stderr
    assert not (tmp_path / "demo").exists()  # no MLflow started, no model trained
    assert time.monotonic() - started < 30


def test_a_registry_changed_since_seeding_is_reported_with_the_reset(tmp_path: Path) -> None:
    from tools.local_mlflow import free_port, start_server

    demo = tmp_path / "demo"
    start_server(demo / "mlflow").stop()  # a registry without best_model
    (demo / "seeded").write_text("{}")
    result = run_demo(
        {"DEMO_DIR": str(demo), "PORT": str(free_port()), "MLFLOW_PORT": str(free_port())},
        timeout=240,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "has no alias A, B of best_model" in result.stderr
    assert f"rm -rf {demo}" in result.stderr
