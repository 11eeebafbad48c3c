"""What HTTP mirroring costs the live answer (blue-green of the serving image): the active colour
(blue) with no PREVIEW_URL, mirroring 10% and mirroring 100% of its /predict requests to a second
app process (green), at 1 and 10,000 rows per request. Taken alternately with wrk, medians
quoted; about two minutes. The target: a mirror costs the live path no more than its share
plus half again (10% mirroring keeps at least 85% of the requests/s).
`python -m bench.mirror_bench` prints the section."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.measure import fmt, median
from bench.serving_bench import start_blue_green_app, stop, wrk

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "apps/fastapi"))

from tools.local_mlflow import (  # noqa: E402
    seed_registry,
    start_server,
)

SIDES = (("no mirroring", None), ("mirror 10%", 10), ("mirror 100%", 100))
ROWS = (1, 10_000)


def start_app(
    tracking: str, workdir: Path, colour: str, preview: str | None, percent: int
) -> tuple[subprocess.Popen[bytes], str]:
    settings = {
        "APP_COLOR": colour,
        "PREVIEW_URL": preview or "",
        "PREVIEW_SHADOW_PERCENT": str(percent),
    }
    return start_blue_green_app(tracking, workdir, settings, "--no-access-log")


def run(rounds: int = 3, seconds: int = 4, connections: int = 8) -> str:
    Cell = tuple[str, int]  # side, rows
    p50: dict[Cell, list[float]] = {}
    p99: dict[Cell, list[float]] = {}
    rps: dict[Cell, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="gitopsgen-mirror-") as tmp:
        workdir = Path(tmp)
        server = start_server(workdir / "mlflow")
        apps: list[tuple[subprocess.Popen[bytes], str]] = []
        try:
            seed_registry(server.url)
            green = start_app(server.url, workdir, "green", None, 0)
            apps.append(green)
            blues = [
                start_app(server.url, workdir, "blue", green[1] if p else None, p or 0)
                for _, p in SIDES
            ]
            apps += blues
            for rows in ROWS:
                for _, url in blues:
                    wrk(f"{url}/predict", connections, 1, rows, "data")  # warm up
                for _ in range(rounds):
                    for (name, _), (_, url) in zip(SIDES, blues, strict=True):
                        result = wrk(f"{url}/predict", connections, seconds, rows, "data")
                        p50.setdefault((name, rows), []).append(result.p50_ms)
                        p99.setdefault((name, rows), []).append(result.p99_ms)
                        rps.setdefault((name, rows), []).append(result.rps)
        finally:
            for process, _ in apps:
                stop(process)
            server.stop()
    lines = [
        "## HTTP mirroring to the preview colour",
        "",
        "The live colour's answer (blue, blue_green on A) with no PREVIEW_URL, and mirroring "
        "10% and 100% of its /predict requests over HTTP to a second app process (green, the "
        "preview colour), on the same two cores (green's work on the copies competes with "
        f"blue's for them); wrk, concurrency {connections}, {seconds} s per run, {rounds} rounds "
        "taken alternately; medians (`python -m bench.mirror_bench`). The copy is the request's "
        "own bytes and the answer's, handed to the mirror's queue; parsing the answers and "
        "comparing them happen in the mirror's workers, off the request path. Target: a mirror "
        "costs the live path no more than 1.5 times its share (10% mirroring: at least 85% of "
        "the requests/s).",
        "",
        "| | rows | live p50 ms | live p99 ms | requests/s | requests/s against no mirroring |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for rows in ROWS:
        base = median(rps[("no mirroring", rows)])
        for name, _ in SIDES:
            r = median(rps[(name, rows)])
            lines.append(
                f"| {name} | {rows:,} | {fmt(median(p50[(name, rows)]))} | "
                f"{fmt(median(p99[(name, rows)]))} | {fmt(r, 0)} | {fmt(r / base * 100, 0)}% |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
