"""What shadow traffic costs: requests/s of blue_green on A with no shadow, with B shadowing every
request, and at the default sample rate (serving.shadowPercent 10). Three app processes, taken
alternately with wrk, medians quoted. `python -m bench.shadow_bench` prints the section."""

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

DEFAULT_PERCENT = 10  # serving.shadowPercent's default
SIDES = (("no shadow", None), ("shadow 100%", 100), (f"shadow {DEFAULT_PERCENT}%", DEFAULT_PERCENT))


def start_app(
    tracking: str, workdir: Path, percent: int | None
) -> tuple[subprocess.Popen[bytes], str]:
    settings = {
        "SHADOW_ALIAS": "B" if percent is not None else "",
        "SHADOW_PERCENT": str(percent or 0),
    }
    return start_blue_green_app(tracking, workdir, settings)


def run(rounds: int = 2, seconds: int = 5, connections: int = 8) -> str:
    with tempfile.TemporaryDirectory(prefix="gitopsgen-shadow-") as tmp:
        workdir = Path(tmp)
        server = start_server(workdir / "mlflow")
        apps: list[tuple[subprocess.Popen[bytes], str]] = []
        try:
            seed_registry(server.url)
            apps = [start_app(server.url, workdir, percent) for _, percent in SIDES]
            for _, url in apps:
                wrk(f"{url}/predict", connections, 1, 1, "data")  # warm up
            results: dict[str, list[float]] = {name: [] for name, _ in SIDES}
            p99: dict[str, list[float]] = {name: [] for name, _ in SIDES}
            for _ in range(rounds):
                for (name, _), (_, url) in zip(SIDES, apps, strict=True):
                    result = wrk(f"{url}/predict", connections, seconds, 1, "data")
                    results[name].append(result.rps)
                    p99[name].append(result.p99_ms)
        finally:
            for process, _ in apps:
                stop(process)
            server.stop()
    base = median(results["no shadow"])
    lines = [
        "## Shadow traffic",
        "",
        f"blue_green on A (logistic regression), B (decision tree) as `serving.shadowAlias`; "
        f"wrk, 1 row per request, concurrency {connections}, {seconds} s per run, {rounds} rounds "
        "taken alternately across the three app processes; medians "
        "(`python -m bench.shadow_bench`).",
        "",
        "| | requests/s | p99 ms | requests/s against no shadow |",
        "| --- | --- | --- | --- |",
    ]
    for name, _ in SIDES:
        rps = median(results[name])
        lines.append(
            f"| {name} | {fmt(rps, 0)} | {fmt(median(p99[name]))} | {fmt(rps / base * 100, 0)}% |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
