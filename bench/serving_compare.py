"""Side by side, from one run: ours, `mlflow models serve`, KServe's model server, MLServer,
LitServe and a bare-ASGI ceiling on the same model (models:/best_model@A, a LogisticRegression),
1, 100 and 10,000 rows, wrk at concurrency 8 and 64, with one worker process each (every anchor
in its fastest documented setting and in its defaults) and with two (the fast settings). Sides
run alternately, each round over every side, medians; the servers not being measured are paused
(SIGSTOP) so that an idle server's pollers take no CPU from the measured one.

BENCH_SKIP_SIDES (comma separated: mlflow, kserve, mlserver, litserve, ceiling, defaults, multi,
extras, admission) narrows a run while working; `make bench` runs everything."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench import venvs
from bench.admission import admission_section
from bench.serving_bench import wrk
from bench.serving_extras import extras_section
from bench.serving_report import report
from bench.sides import (
    Side,
    export_model,
    pause,
    resume,
    seed_registry,
    start_ceiling,
    start_kserve,
    start_litserve,
    start_mlflow,
    start_mlserver,
    start_ours,
    start_server,
    tree_cpu_seconds,
    tree_rss_mb,
)

SETTINGS = ((1, 3), (2, 2))  # (worker processes per server, rounds)
ROWS = (1, 100, 10_000)
CONNECTIONS = (8, 64)
SECONDS = 3
Key = tuple[int, int, int, str]  # workers, rows, connections, side


@dataclass(frozen=True)
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # server CPU (user + system, every process of it) per answered request
    rss_mb: float  # the server's resident memory after the run
    errors: int


Starter = Callable[[Path, Path, Path, int, str], Side]  # python, model, workdir, workers, setting
ANCHORS: tuple[tuple[str, venvs.Venv, Starter], ...] = (
    ("kserve", venvs.KSERVE, start_kserve),
    ("mlserver", venvs.MLSERVER, start_mlserver),
    ("litserve", venvs.LITSERVE, start_litserve),
)


def measure(side: Side, rows: int, connections: int, seconds: int) -> Sample:
    before = tree_cpu_seconds(side.process.pid)
    result = wrk(side.url, connections, seconds, rows, side.style)
    cpu = tree_cpu_seconds(side.process.pid) - before
    rss = tree_rss_mb(side.process.pid)
    return Sample(result.rps, result.p50_ms, result.p99_ms,
                  cpu * 1000 / max(result.requests, 1), rss, result.errors)  # fmt: skip


def run() -> str:
    skip = set(filter(None, os.environ.get("BENCH_SKIP_SIDES", "").split(",")))
    samples: dict[Key, list[Sample]] = {}
    notes: list[str] = []
    tail: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gitopsgen-serving-") as tmp:
        workdir = Path(tmp)
        server = start_server(workdir / "mlflow")
        try:
            seed_registry(server.url)
            model = export_model(server.url, workdir)
            pythons = _anchor_pythons(skip, notes)
            for workers, rounds in SETTINGS:
                if workers > 1 and "multi" in skip:
                    continue
                sides = _start(server.url, workdir, workers, model, pythons, skip, notes)
                try:
                    _matrix(sides, workers, rounds, samples, notes)
                    if workers == 1:
                        for side in sides[1:]:
                            pause(side)
                        if "extras" not in skip:
                            tail += extras_section(sides[0], server.url)
                        if "admission" not in skip:
                            tail += admission_section(server.url, workdir, sides[0])
                finally:
                    for side in sides:
                        _stop(side)
        finally:
            server.stop()
            shutil.rmtree(Path(tempfile.gettempdir()) / "gitopsgen-metrics", ignore_errors=True)
    _keep(samples, notes)
    return "\n".join(report(samples, notes, SECONDS) + tail) + "\n"


def _keep(samples: dict[Key, list[Sample]], notes: list[str]) -> None:
    """The raw samples, in bench/results/ (ignored by git), before any table is made: a run
    of half an hour is never lost to a report's bug."""
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    rows = [
        {"key": list(key), "samples": [vars(s) for s in values]} for key, values in samples.items()
    ]
    (out / "serving-samples.json").write_text(json.dumps({"notes": notes, "cells": rows}, indent=1))


def _anchor_pythons(skip: set[str], notes: list[str]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name, spec, _ in ANCHORS:
        if name in skip:
            notes.append(f"- {spec.name}: not measured in this run (BENCH_SKIP_SIDES).")
            continue
        python, reason = venvs.python_of(spec)
        if python is None:
            notes.append(f"- {spec.name}: **could not be run here**: {reason}")
        else:
            found[name] = python
    return found


def _start(
    tracking: str,
    workdir: Path,
    workers: int,
    model: Path,
    pythons: dict[str, Path],
    skip: set[str],
    notes: list[str],
) -> list[Side]:
    """Ours first, then each anchor; one that fails to start is noted (with its log's last
    line) and left out, never the whole run."""
    sides = [start_ours(tracking, workdir, workers)]
    pause(sides[0])
    starters: list[tuple[str, Callable[[], Side]]] = []
    if "mlflow" not in skip:
        starters.append(("mlflow", lambda: start_mlflow(tracking, workdir, workers)))
    settings = ("fast",) if workers > 1 or "defaults" in skip else ("fast", "default")
    for name, _, start in ANCHORS:
        if name in pythons:
            for setting in settings:
                begin = partial(start, pythons[name], model, workdir, workers, setting)
                starters.append((f"{name} {setting}", begin))
    if "ceiling" not in skip:
        starters.append(("ceiling", lambda: start_ceiling(model, workdir, workers)))
    for name, starter in starters:
        try:
            side = starter()
        except RuntimeError as exc:
            notes.append(f"- {name}, {workers} worker(s): **could not be started**: {exc}")
            continue
        pause(side)
        sides.append(side)
    return sides


def _matrix(
    sides: list[Side],
    workers: int,
    rounds: int,
    samples: dict[Key, list[Sample]],
    notes: list[str],
) -> None:
    """Every cell, every side in turn; a side whose wrk run fails (it crashed) is noted and
    dropped, the others go on."""
    dropped: set[str] = set()
    for rows in ROWS:
        for connections in CONNECTIONS:
            for side in sides:
                resume(side)
                with contextlib.suppress(subprocess.CalledProcessError):  # noted when measured
                    wrk(side.url, connections, 1, rows, side.style)  # warm up
                pause(side)
            for _ in range(rounds):
                for side in sides:
                    if side.name in dropped:
                        continue
                    resume(side)
                    key = (workers, rows, connections, side.name)
                    try:
                        sample = measure(side, rows, connections, SECONDS)
                    except (subprocess.CalledProcessError, AttributeError) as exc:
                        notes.append(f"- {side.name}, {workers} worker(s), {rows:,} rows, "
                                     f"c={connections}: **failed under load** ({exc}); dropped.")  # fmt: skip
                        dropped.add(side.name)
                        continue
                    samples.setdefault(key, []).append(sample)
                    pause(side)
    for side in sides:
        resume(side)


def _stop(side: Side) -> None:
    from bench.serving_bench import stop

    resume(side)
    stop(side.process)


def median(values: list[Sample], field: str) -> float:
    return float(statistics.median(getattr(v, field) for v in values))
