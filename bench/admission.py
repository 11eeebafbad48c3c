"""Admission control under overload: ours at concurrency 64 with the setting that bounds the
predictions in flight (the hardening issue's; `503` with `Retry-After` beyond it) and without,
at 1 and 10,000 rows, counting the 503s (shed) apart from other failures (bench/post.lua's
COUNT_STATUS). The setting is found by name among the app's settings, so this section measures
it as soon as the app has it; BENCH_ADMISSION=NAME=VALUE names it (and its value) explicitly."""

from __future__ import annotations

import os
import re
import statistics
import sys
from pathlib import Path

from bench.measure import fmt
from bench.serving_bench import REPO, WrkResult, stop, wrk
from bench.sides import Side, start_ours

LIMIT = "8"  # predictions in flight per worker when the bench picks the setting itself
PATTERN = re.compile(r"CONCURREN|ADMISSION|IN_?FLIGHT")
ROWS = (1, 10_000)
CONNECTIONS = 64


def admission_setting() -> tuple[str, str] | None:
    """(variable, value) of the app's admission-control setting, or None if it has none."""
    if given := os.environ.get("BENCH_ADMISSION"):
        name, _, value = given.partition("=")
        return name, value or LIMIT
    sys.path.insert(0, str(REPO / "apps/fastapi"))
    from app.config import variables

    found = sorted(v for v in variables() if PATTERN.search(v) and v != "WEB_CONCURRENCY")
    return (found[0], LIMIT) if found else None


def admission_section(tracking: str, workdir: Path, ours: Side, rounds: int = 3) -> list[str]:
    lines = ["", "### Admission control at concurrency 64", ""]
    setting = admission_setting()
    if setting is None:
        return lines + [
            "Not measured: this build of the app has no setting bounding the predictions in "
            "flight (the hardening issue's admission control has not landed here yet). The "
            "bench finds it by name once it does (`bench/admission.py`)."
        ]
    name, value = setting
    try:
        bounded = start_ours(tracking, workdir, 1, {name: value})
    except RuntimeError as exc:
        return lines + [f"Not measured: ours with `{name}={value}` did not start: {exc}"]
    results: dict[tuple[str, int], list[WrkResult]] = {}
    try:
        for rows in ROWS:
            for side in (ours, bounded):
                wrk(side.url, CONNECTIONS, 1, rows, side.style)  # warm up
            for _ in range(rounds):
                for side, label in ((ours, "off"), (bounded, f"{name}={value}")):
                    result = wrk(side.url, CONNECTIONS, 3, rows, side.style, count_status=True)
                    results.setdefault((label, rows), []).append(result)
    finally:
        stop(bounded.process)
    lines += [f"wrk -c {CONNECTIONS}, 3 s runs, {rounds} rounds taken alternately, medians; a 503 "
              "is load shed (counted apart), any other failure an error.", "",
              "| admission control | rows | req/s (any status) | p50 ms | p99 ms | shed (503) | errors |",
              "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for (label, rows), runs in results.items():
        total = sum(r.requests for r in runs)
        shed = sum(r.shed for r in runs)
        med = {
            f: statistics.median(getattr(r, f) for r in runs) for f in ("rps", "p50_ms", "p99_ms")
        }
        lines.append(
            f"| {label} | {rows:,} | {fmt(med['rps'], 0)} | {fmt(med['p50_ms'])} | "
            f"{fmt(med['p99_ms'])} | {fmt(shed / max(total, 1) * 100, 1)}% | "
            f"{sum(r.errors for r in runs)} |"
        )
    return lines
