"""The serving benchmark's tools: wrk, waiting for and stopping servers, the model's own predict
time in-process, reload under load. `bench.serving_compare` runs the comparison."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "apps/fastapi"))

from tools.local_mlflow import (  # noqa: E402
    MODEL_NAME,
    app_command,
    free_port,
    register_model,
)

LUA = Path(__file__).with_name("post.lua")
ROW = [5.1, 3.5, 1.4, 0.2]


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # failures other than a 503 when 503s are counted apart (count_status)
    requests: int
    shed: int = 0  # 503 answers (load shed by admission control), counted with count_status


def _ms(text: str) -> float:
    value = float(re.sub(r"[a-z]+$", "", text))
    unit = re.sub(r"^[0-9.]+", "", text)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(
    url: str,
    connections: int,
    seconds: int,
    rows: int,
    style: str | None,
    *,
    count_status: bool = False,
) -> WrkResult:
    """`style` None: plain GET; else POST `rows` rows in that body style (see post.lua).
    `count_status`: 503 answers (load shed) are counted apart from the other failures."""
    threads = "1" if connections < 2 else "2"
    script = ["-s", str(LUA)] if style else []
    # a 10,000-row request to a slow server at concurrency 64 can take seconds: wrk's default 2 s
    # timeout would count it as an error rather than as latency
    command = ["wrk", "-t", threads, "-c", str(connections), "-d", f"{seconds}s", "--timeout",
               "30s", "--latency", *script, url]  # fmt: skip
    env = {
        **os.environ,
        "ROWS": str(rows),
        "BODY_STYLE": style or "",
        "COUNT_STATUS": "1" if count_status else "",
    }
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> WrkResult:
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    # anchored: a "Req/Sec ... 72.50%" line would otherwise match "50%"
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = shed = 0
    if match := re.search(r"^status 503: (\d+)$", out, re.M):  # post.lua's own count
        shed = int(match.group(1))
        errors += int(re.search(r"^status other: (\d+)$", out, re.M).group(1))  # type: ignore[union-attr]
    elif match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(g) for g in match.groups())
    return WrkResult(rps, p50, p99, errors, requests, shed)


def start_blue_green_app(
    tracking: str, workdir: Path, settings: dict[str, str], *uvicorn_args: str
) -> tuple[subprocess.Popen[bytes], str]:
    """The app serving alias A in blue_green on a free port, with `settings` on top, its own log
    folder and no request log (what the shadow and mirror benchmarks compare)."""
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking,
        "MODEL_NAME": MODEL_NAME,
        "ALIAS_SELECTION_MODE": "blue_green",
        "DEFAULT_ALIAS": "A",
        "LOG_DIR": str(workdir / f"logs-{port}"),
        "ALIAS_POLL_INTERVAL_SECONDS": "0",
        "REQUEST_LOG": "false",
        **settings,
    }
    with (workdir / f"app-{port}.log").open("wb") as log:
        process = subprocess.Popen(
            app_command(port, "--log-level", "warning", *uvicorn_args),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/health", process)
    return process, url


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


def stop(process: subprocess.Popen[bytes], grace: float = 20) -> None:
    """SIGTERM the server's process group (it was started in a session of its own), then
    SIGKILL the group if it has not exited after `grace` seconds (MLServer, stopped with a
    pending inference pool, can hang on shutdown)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except (PermissionError, ProcessLookupError):
        process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(PermissionError, ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.kill()
        process.wait(timeout=grace)


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
