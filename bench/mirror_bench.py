"""What HTTP mirroring costs the live answer (blue-green of the serving image): the active colour
(blue) with no PREVIEW_URL, mirroring 10% and mirroring 100% of its /predict requests to a second
app process (green). Taken alternately with wrk, medians quoted; under a minute.
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


def start_app(
    tracking: str, workdir: Path, colour: str, preview: str | None, percent: int
) -> tuple[subprocess.Popen[bytes], str]:
    settings = {
        "APP_COLOR": colour,
        "PREVIEW_URL": preview or "",
        "PREVIEW_SHADOW_PERCENT": str(percent),
    }
    return start_blue_green_app(tracking, workdir, settings, "--no-access-log")


def run(rounds: int = 2, seconds: int = 5, connections: int = 8) -> str:
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
            for _, url in blues:
                wrk(f"{url}/predict", connections, 1, 1, "data")  # warm up
            p50: dict[str, list[float]] = {name: [] for name, _ in SIDES}
            p99: dict[str, list[float]] = {name: [] for name, _ in SIDES}
            rps: dict[str, list[float]] = {name: [] for name, _ in SIDES}
            for _ in range(rounds):
                for (name, _), (_, url) in zip(SIDES, blues, strict=True):
                    result = wrk(f"{url}/predict", connections, seconds, 1, "data")
                    p50[name].append(result.p50_ms)
                    p99[name].append(result.p99_ms)
                    rps[name].append(result.rps)
        finally:
            for process, _ in apps:
                stop(process)
            server.stop()
    base = median(rps["no mirroring"])
    lines = [
        "## HTTP mirroring to the preview colour",
        "",
        "The live colour's answer (blue, blue_green on A) with no PREVIEW_URL, and mirroring "
        "10% and 100% of its /predict requests over HTTP to a second app process (green, the "
        f"preview colour), on the same two cores; wrk, 1 row per request, concurrency "
        f"{connections}, {seconds} s per run, {rounds} rounds taken alternately; medians "
        "(`python -m bench.mirror_bench`).",
        "",
        "| | live p50 ms | live p99 ms | requests/s | requests/s against no mirroring |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, _ in SIDES:
        r = median(rps[name])
        lines.append(
            f"| {name} | {fmt(median(p50[name]))} | {fmt(median(p99[name]))} | {fmt(r, 0)} | "
            f"{fmt(r / base * 100, 0)}% |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
