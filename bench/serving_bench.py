"""Our /predict against `mlflow models serve`: same registered model, same machine, same wrk.

The two sides run alternately (A B A B ...) and medians are quoted, because absolute numbers on a
shared two-core machine drift from run to run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx

from bench.measure import fmt, median

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "apps/fastapi"))

from tools.local_mlflow import (  # noqa: E402
    MODEL_NAME,
    app_command,
    free_port,
    register_model,
    seed_registry,
    start_server,
)

LUA = Path(__file__).with_name("post.lua")
ROW = [5.1, 3.5, 1.4, 0.2]


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def _ms(text: str) -> float:
    value = float(re.sub(r"[a-z]+$", "", text))
    unit = re.sub(r"^[0-9.]+", "", text)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, connections: int, seconds: int, rows: int, style: str | None) -> WrkResult:
    """`style` None: plain GET; else POST `rows` rows in that body style (see post.lua)."""
    threads = "1" if connections < 2 else "2"
    script = ["-s", str(LUA)] if style else []
    command = [
        "wrk",
        "-t",
        threads,
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--latency",
        *script,
        url,
    ]
    env = {**os.environ, "ROWS": str(rows), "BODY_STYLE": style or ""}
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(g) for g in match.groups())
    return WrkResult(rps, p50, p99, errors, requests)


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up")


def start_ours(tracking: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking,
        "MODEL_NAME": MODEL_NAME,
        "ALIAS_SELECTION_MODE": "canary",
        "CANARY_PERCENT": "20",
        "DEFAULT_ALIAS": "A",
        "RELOAD_SECRET_TOKEN": "bench",
        "LOG_DIR": str(workdir / "logs"),
        "ALIAS_POLL_INTERVAL_SECONDS": "0",
    }
    process = subprocess.Popen(
        app_command(port, "--log-level", "warning"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "ours.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/health", process)
    return process, url


def start_mlflow_serve(tracking: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    # it starts `uvicorn` by name: the virtual environment's bin must be on PATH
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking, "PATH": path}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            f"models:/{MODEL_NAME}@A",
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "mlflow-serve.log").open("wb"),
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/ping", process)
    return process, url


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, 15)
        except (PermissionError, ProcessLookupError):
            process.terminate()
        process.wait(timeout=30)


def model_predict_floor(tracking: str) -> dict[str, float]:
    """In-process: the model's own predict time, raw (numpy) and through pyfunc (pandas)."""
    import mlflow.pyfunc
    import numpy as np
    import pandas as pd

    mlflow.set_tracking_uri(tracking)
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@A")
    raw = model.get_raw_model()
    out = {}
    for rows in (1, 100):
        array = np.asarray([ROW] * rows)
        frame = pd.DataFrame(array)
        for name, func, count in (
            ("raw predict (numpy)", partial(raw.predict, array), 2000),
            ("pyfunc.predict (pandas)", partial(model.predict, frame), 300),
        ):
            func()
            start = time.perf_counter()
            for _ in range(count):
                func()
            out[f"{name}, {rows} row(s)"] = (time.perf_counter() - start) / count * 1000
    return out


def reload_under_load(
    url: str, tracking: str, seconds: int = 20, reloads: int = 5
) -> tuple[WrkResult, list[str]]:
    """wrk at concurrency 8 while alias B is re-pointed and reloaded `reloads` times."""
    versions: list[str] = []

    def repoint() -> None:
        for index in range(reloads):
            time.sleep(seconds / (reloads + 1))
            version = register_model(tracking, ("logreg-weak", "tree")[index % 2], "B")
            reply = httpx.post(f"{url}/variant/B/reload", headers={"x-token": "bench"}, timeout=120)
            versions.append(f"{version}:{reply.status_code}")

    thread = threading.Thread(target=repoint)
    thread.start()
    result = wrk(f"{url}/predict", 8, seconds, 1, "data")
    thread.join()
    return result, versions


def run(pairs: int = 3, seconds: int = 5) -> str:
    lines = ["## Serving", ""]
    with tempfile.TemporaryDirectory(prefix="gitopsgen-serving-") as tmp:
        workdir = Path(tmp)
        server = start_server(workdir / "mlflow")
        try:
            seed_registry(server.url)
            ours, ours_url = start_ours(server.url, workdir)
            theirs, theirs_url = start_mlflow_serve(server.url, workdir)
            try:
                lines += _matrix(ours_url, theirs_url, pairs, seconds)
                floor = wrk(f"{ours_url}/livez", 8, seconds, 1, None)
                lines += [
                    "",
                    f"Floor, same app stack, an endpoint that does no work (`GET /livez`, "
                    f"concurrency 8): {fmt(floor.rps, 0)} requests/s, p99 {fmt(floor.p99_ms)} ms.",
                    "",
                    "Model predict in-process (ms per call):",
                    "",
                ]
                lines += [
                    f"- {name}: {fmt(ms, 3)}"
                    for name, ms in model_predict_floor(server.url).items()
                ]
                steady = wrk(f"{ours_url}/predict", 8, seconds, 1, "data")
                during, versions = reload_under_load(ours_url, server.url)
                lines += [
                    "",
                    "Reload under load: 20 s at concurrency 8 while alias B is re-pointed "
                    "and reloaded five times:",
                    "",
                    "| | requests | errors | p50 ms | p99 ms |",
                    "| --- | --- | --- | --- | --- |",
                    f"| steady ({seconds} s) | {steady.requests:,} | {steady.errors} | {fmt(steady.p50_ms)} | {fmt(steady.p99_ms)} |",
                    f"| during reloads | {during.requests:,} | {during.errors} | {fmt(during.p50_ms)} | {fmt(during.p99_ms)} |",
                    "",
                    f"Reloads (version:status): {', '.join(versions)}",
                ]
            finally:
                stop(ours)
                stop(theirs)
        finally:
            server.stop()
    return "\n".join(lines) + "\n"


def _matrix(ours: str, theirs: str, pairs: int, seconds: int) -> list[str]:
    lines = [
        f"wrk, {seconds} s per run, {pairs} pairs run alternately (mlflow, ours, mlflow, ours, ...), "
        "medians; ours with routing (canary 20%), metrics and file logging on.",
        "",
        "| rows | concurrency | mlflow models serve req/s | p50 ms | p99 ms | errors | ours req/s | p50 ms | p99 ms | errors | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for rows in (1, 100):
        for connections in (1, 8, 32):
            m_runs, o_runs = [], []
            wrk(f"{theirs}/invocations", connections, 1, rows, "inputs")  # warm up
            wrk(f"{ours}/predict", connections, 1, rows, "data")
            for _ in range(pairs):
                m_runs.append(wrk(f"{theirs}/invocations", connections, seconds, rows, "inputs"))
                o_runs.append(wrk(f"{ours}/predict", connections, seconds, rows, "data"))
            m = [median([getattr(r, f) for r in m_runs]) for f in ("rps", "p50_ms", "p99_ms")]
            o = [median([getattr(r, f) for r in o_runs]) for f in ("rps", "p50_ms", "p99_ms")]
            lines.append(
                f"| {rows} | {connections} | {fmt(m[0], 0)} | {fmt(m[1])} | {fmt(m[2])} | "
                f"{sum(r.errors for r in m_runs)} | {fmt(o[0], 0)} | {fmt(o[1])} | {fmt(o[2])} | "
                f"{sum(r.errors for r in o_runs)} | {fmt(o[0] / m[0], 1)}x |"
            )
    return lines


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
