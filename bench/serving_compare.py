"""Side by side, from one run: ours, `mlflow models serve`, KServe's model server and a bare-ASGI
ceiling on the same model (models:/best_model@A, a LogisticRegression), 1 and 100 rows, wrk at
concurrency 8 and 32, with one worker process each and with two. Sides run alternately, medians.

BENCH_SKIP_SIDES (comma separated: mlflow, kserve, ceiling, multi, extras) narrows a run while
working; `make bench` runs everything."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.measure import fmt
from bench.serving_bench import model_predict_floor, reload_under_load, stop, wrk
from bench.sides import (
    KSERVE_VERSION,
    Side,
    export_model,
    kserve_python,
    seed_registry,
    start_ceiling,
    start_kserve,
    start_mlflow,
    start_ours,
    start_server,
    tree_cpu_seconds,
)

SETTINGS = ((1, 3), (2, 2))  # (worker processes per server, rounds)
ROWS = (1, 100)
CONNECTIONS = (8, 32)
SECONDS = 4
Key = tuple[int, int, int, str]  # workers, rows, connections, side
Sample = tuple[float, float, float, int]  # requests/s, p99 ms, CPU ms per request, errors


def measure(side: Side, rows: int, connections: int, seconds: int) -> Sample:
    before = tree_cpu_seconds(side.process.pid)
    result = wrk(side.url, connections, seconds, rows, side.style)
    cpu = tree_cpu_seconds(side.process.pid) - before
    return result.rps, result.p99_ms, cpu * 1000 / max(result.requests, 1), result.errors


def profile(side: Side, seconds: int = 4) -> list[str]:
    """py-spy on our (one) process under wrk -c 8, one row: own time by where it is spent."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        return ["(py-spy is not installed: `pip install py-spy`)"]
    out = Path(tempfile.mkdtemp()) / "profile.txt"
    command = [str(spy), "record", "-p", str(side.process.pid), "-d", str(seconds), "-r", "250",
               "-f", "raw", "-o", str(out)]  # fmt: skip
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wrk(side.url, 8, seconds + 1, 1, side.style)
    _, err = recorder.communicate(timeout=60)
    if not out.exists():
        return [f"(py-spy could not record: {err.decode(errors='replace').strip()[:200]})"]
    return _by_area(out.read_text())


AREAS = (
    ("scikit-learn predict", ("sklearn/",)),
    ("our app (routing, inputs, metrics, log)", ("app/",)),
    (
        "FastAPI and Starlette (routing, dependencies, request, response)",
        ("fastapi/", "starlette/"),
    ),
    ("pydantic (body validation)", ("pydantic",)),
    ("uvicorn and httptools (HTTP, transport)", ("uvicorn/", "httptools")),
    ("loguru (sampled request log)", ("loguru/",)),
    ("prometheus_client", ("prometheus_client/",)),
    ("JSON (orjson, json)", ("orjson", "json/")),
    ("numpy", ("numpy/",)),
    ("asyncio and uvloop (event loop)", ("asyncio/", "uvloop", "anyio/")),
)


IDLE = ("concurrent/futures/thread.py", "threading.py")  # a pool thread waiting for work


def _by_area(raw: str) -> list[str]:
    """Self time: each sample goes to the area of its innermost frame that has one. Samples of
    idle thread-pool threads (py-spy counts their wait as active) are left out."""
    counts: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or any(k in stack.rsplit(";", 1)[-1] for k in IDLE):
            continue
        total += int(count)
        area = "other (interpreter, standard library)"
        for frame in reversed(stack.split(";")):
            match = next((name for name, keys in AREAS if any(k in frame for k in keys)), None)
            if match:
                area = match
                break
        counts[area] += int(count)
    return [f"| {area} | {n / total * 100:.0f}% |" for area, n in counts.most_common()]


def run() -> str:
    skip = set(filter(None, os.environ.get("BENCH_SKIP_SIDES", "").split(",")))
    samples: dict[Key, list[Sample]] = {}
    notes: list[str] = []
    extras: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gitopsgen-serving-") as tmp:
        workdir = Path(tmp)
        server = start_server(workdir / "mlflow")
        try:
            seed_registry(server.url)
            model = export_model(server.url, workdir)
            python, reason = (
                (None, "skipped (BENCH_SKIP_SIDES)") if "kserve" in skip else kserve_python()
            )
            if python is None:
                notes.append(f"- KServe: not measured: {reason}")
            for workers, rounds in SETTINGS:
                if workers > 1 and "multi" in skip:
                    continue
                sides = _start(server.url, workdir, workers, model, python, skip)
                try:
                    _matrix(sides, workers, rounds, samples)
                    if workers == 1 and "extras" not in skip:
                        extras = _extras(sides[0], server.url)
                finally:
                    for side in sides:
                        stop(side.process)
        finally:
            server.stop()
            shutil.rmtree(Path(tempfile.gettempdir()) / "gitopsgen-metrics", ignore_errors=True)
    return "\n".join(_report(samples, notes) + extras) + "\n"


def _start(
    tracking: str, workdir: Path, workers: int, model: Path, python: Path | None, skip: set[str]
) -> list[Side]:
    sides = [start_ours(tracking, workdir, workers)]
    if "mlflow" not in skip:
        sides.append(start_mlflow(tracking, workdir, workers))
    if python is not None:
        sides.append(start_kserve(python, model, workdir, workers))
    if "ceiling" not in skip:
        sides.append(start_ceiling(model, workdir, workers))
    return sides


def _matrix(sides: list[Side], workers: int, rounds: int, samples: dict[Key, list[Sample]]) -> None:
    for rows in ROWS:
        for connections in CONNECTIONS:
            for side in sides:
                wrk(side.url, connections, 1, rows, side.style)  # warm up
            for _ in range(rounds):
                for side in sides:
                    key = (workers, rows, connections, side.name)
                    samples.setdefault(key, []).append(measure(side, rows, connections, SECONDS))


def _extras(ours: Side, tracking: str) -> list[str]:
    url = ours.url.removesuffix("/predict")
    floor = wrk(f"{url}/livez", 8, SECONDS, 1, None)
    lines = ["", "### Profile of ours under load", "", "py-spy, one worker, wrk -c 8, one row; "
             "own time (each sample counted in the innermost frame with a known area):", "",
             "| where | share of samples |", "| --- | --- |", *profile(ours), "",
             f"Floor, same app stack, an endpoint that does no work (`GET /livez`, concurrency 8): "
             f"{fmt(floor.rps, 0)} requests/s, p99 {fmt(floor.p99_ms)} ms.", "",
             "Model predict in-process (ms per call):", ""]  # fmt: skip
    lines += [f"- {name}: {fmt(ms, 3)}" for name, ms in model_predict_floor(tracking).items()]
    during, versions = reload_under_load(url, tracking, seconds=10, reloads=3)
    lines += ["", "Reload under load: 10 s at concurrency 8 while alias B is re-pointed and "
              f"reloaded three times: {during.requests:,} requests, {during.errors} errors, "
              f"p99 {fmt(during.p99_ms)} ms; reloads (version:status): {', '.join(versions)}."]  # fmt: skip
    return lines


def _median(values: list[Sample], index: int) -> float:
    return statistics.median(v[index] for v in values)


def _report(samples: dict[Key, list[Sample]], notes: list[str]) -> list[str]:
    lines = [
        "## Serving",
        "",
        f"wrk, {SECONDS} s per run, all servers on 127.0.0.1 taken alternately (3 rounds with one "
        "worker process each, 2 with two), medians; CPU per request is the user and system time "
        "of the server's processes during the run over the requests answered. Ours: the app as "
        "its image runs it, with routing (canary 20%), metrics and the request log on (1 in 10 "
        f"answered predictions, every failure). mlflow: `mlflow models serve --workers N`. KServe "
        f"{KSERVE_VERSION}: its model server with a custom `Model` (V1 protocol) calling the "
        "estimator's `predict` (`bench/kserve_model.py`). Ceiling: a bare ASGI endpoint parsing "
        "with orjson and calling the estimator's `predict` (`bench/ceiling_app.py`).",
        *notes,
        "",
        "| workers | rows | concurrency | server | req/s | p99 ms | CPU ms/request | errors | ours ÷ it |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (workers, rows, connections, name), values in samples.items():
        ours = samples[(workers, rows, connections, "ours")]
        ratio = _median(ours, 0) / _median(values, 0)
        lines.append(
            f"| {workers} | {rows} | {connections} | {name} | {fmt(_median(values, 0), 0)} | "
            f"{fmt(_median(values, 1))} | {fmt(_median(values, 2), 3)} | "
            f"{sum(v[3] for v in values)} | {fmt(ratio, 2)}x |"
        )
    return lines + _summary(samples)


def _ratio(ours: float, other: list[Sample] | None) -> str:
    return f"{fmt(ours / _median(other, 0), 2)}x" if other else "n/a"


def _summary(samples: dict[Key, list[Sample]]) -> list[str]:
    lines = ["", "| workers | rows | concurrency | ours req/s | × mlflow | × KServe | of ceiling | ours p99 ms |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for workers, rows, connections, name in samples:
        if name != "ours":
            continue
        ours = _median(samples[(workers, rows, connections, "ours")], 0)
        mlflow, kserve = (
            samples.get((workers, rows, connections, n)) for n in ("mlflow", "KServe")
        )
        ceiling = samples.get((workers, rows, connections, "ceiling"))
        share = f"{fmt(ours / _median(ceiling, 0) * 100, 0)}%" if ceiling else "n/a"
        p99 = _median(samples[(workers, rows, connections, "ours")], 1)
        lines.append(
            f"| {workers} | {rows} | {connections} | {fmt(ours, 0)} | {_ratio(ours, mlflow)} | "
            f"{_ratio(ours, kserve)} | {share} | {fmt(p99)} |"
        )
    return lines


if __name__ == "__main__":
    print(run())
