"""After the comparison, on our one-worker server: py-spy profiles at 1, 100 and 10,000 rows,
the `GET /livez` floor of the same stack, the model's own predict in-process and a reload under
load."""

from __future__ import annotations

from bench.measure import fmt
from bench.profile import profile
from bench.serving_bench import model_predict_floor, reload_under_load, wrk
from bench.sides import Side

PROFILE_ROWS = (1, 100, 10_000)


def extras_section(ours: Side, tracking: str, seconds: int = 4) -> list[str]:
    url = ours.url.removesuffix("/predict")
    floor = wrk(f"{url}/livez", 8, seconds, 1, None)
    shares = {rows: profile(ours, rows) for rows in PROFILE_ROWS}
    lines = ["", "### Profile of ours under load", ""]
    if not any(shares.values()):
        lines.append("(py-spy is not installed or could not record: `pip install py-spy`.)")
    else:
        areas = list(dict.fromkeys(a for s in shares.values() for a in s))
        lines += ["py-spy, one worker, wrk -c 8; own time (each sample counted in the innermost "
                  "frame with a known area), share of the samples at each batch size:", "",
                  "| where | " + " | ".join(f"{r:,} row(s)" for r in PROFILE_ROWS) + " |",
                  "| --- | " + " | ".join("---" for _ in PROFILE_ROWS) + " |"]  # fmt: skip
        for area in areas:
            cells = [f"{fmt(shares[r].get(area, 0.0), 0)}%" for r in PROFILE_ROWS]
            lines.append(f"| {area} | " + " | ".join(cells) + " |")
    lines += ["", f"Floor, same app stack, an endpoint that does no work (`GET /livez`, "
              f"concurrency 8): {fmt(floor.rps, 0)} requests/s, p99 {fmt(floor.p99_ms)} ms.", "",
              "Model predict in-process (ms per call):", ""]  # fmt: skip
    lines += [f"- {name}: {fmt(ms, 3)}" for name, ms in model_predict_floor(tracking).items()]
    during, versions = reload_under_load(url, tracking, seconds=10, reloads=3)
    lines += ["", "Reload under load: 10 s at concurrency 8 while alias B is re-pointed and "
              f"reloaded three times: {during.requests:,} requests, {during.errors} errors, "
              f"p99 {fmt(during.p99_ms)} ms; reloads (version:status): {', '.join(versions)}."]  # fmt: skip
    return lines
