"""The serving comparison's tables: every sample's medians, ratios to ours, and the issue's
targets checked against them (met, or what was measured)."""

from __future__ import annotations

import statistics
from typing import Any

from bench.measure import fmt
from bench.venvs import KSERVE, LITSERVE, MLSERVER, version

TARGET_RATIO = 1.5  # ours at least 1.5x every anchor, one worker
TARGET_P99_MS = 10.0  # one row, concurrency 8
TARGET_CEILING = 80.0  # percent of the bare-ASGI ceiling, one row


def _median(values: list[Any], field: str) -> float:
    return float(statistics.median(getattr(v, field) for v in values))


def _over(ours: float, other: float) -> float:
    """ours ÷ other; a server that answered nothing in a run (0 req/s) gives infinity."""
    return ours / other if other > 0 else float("inf")


def report(
    samples: dict[tuple[int, int, int, str], list[Any]], notes: list[str], seconds: int
) -> list[str]:
    names = list(dict.fromkeys(key[3] for key in samples))
    lines = [
        "## Serving",
        "",
        f"wrk, {seconds} s per run, all servers on 127.0.0.1 taken alternately (3 rounds with one "
        "worker process each, 2 with two), medians; the servers not being measured are paused "
        "(SIGSTOP), so only the measured one and wrk share the two cores. CPU per request is the "
        "user and system time of all the server's processes during the run over the requests "
        "answered; RSS is theirs after the run (a forked worker's shared pages counted in each). "
        "Ours: the app as its image runs it, with routing (canary 20%), metrics and the request "
        "log on (1 in 10 answered predictions, every failure). mlflow: `mlflow models serve "
        f"--workers N`. KServe {version(KSERVE, 'kserve')}: its model server with a custom "
        "`Model` (V1 protocol) calling the estimator's `predict` (`bench/kserve_model.py`); "
        "`default` logs every request (uvicorn's access log and its latency line), `fast` "
        f"neither. MLServer {version(MLSERVER, 'mlserver')} with `mlserver-sklearn` (V2 "
        "protocol, FP64 tensor): `default` is its own defaults (debug on: the access log; one "
        "inference worker process), `fast` debug off and `parallel_workers: 0` (two workers: "
        f"`parallel_workers: 2`). LitServe {version(LITSERVE, 'litserve')} "
        "(`bench/litserve_model.py`): `default` its defaults, `fast` with `fast_queue=True` and "
        "the access log off; N workers are N API servers and N inference workers. Two workers: "
        "the fast settings only. Ceiling: a bare ASGI endpoint parsing with orjson and calling "
        "the estimator's `predict` (`bench/ceiling_app.py`). Each anchor runs in a virtual "
        "environment of its own, pinned (`bench/venvs.py`: made once, reused after).",
        *notes,
        "",
        "| workers | rows | concurrency | server | req/s | p50 ms | p99 ms | CPU ms/request | RSS MB | errors | ours ÷ it |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for (workers, rows, connections, name), values in samples.items():
        ours = samples[(workers, rows, connections, "ours")]
        ratio = _over(_median(ours, "rps"), _median(values, "rps"))
        lines.append(
            f"| {workers} | {rows:,} | {connections} | {name} | {fmt(_median(values, 'rps'), 0)} | "
            f"{fmt(_median(values, 'p50_ms'))} | {fmt(_median(values, 'p99_ms'))} | "
            f"{fmt(_median(values, 'cpu_ms'), 3)} | {fmt(_median(values, 'rss_mb'), 0)} | "
            f"{sum(v.errors for v in values)} | {fmt(ratio, 2)}x |"
        )
    return lines + _ratios(samples, names) + _targets(samples, names)


def _ratios(samples: dict[tuple[int, int, int, str], list[Any]], names: list[str]) -> list[str]:
    anchors = [n for n in names if n not in ("ours", "ceiling")]
    lines = ["", "Ours ÷ each server (requests/s), and ours against the ceiling:", "",
             "| workers | rows | concurrency | ours req/s | ours p99 ms | " + " | ".join(f"× {a}" for a in anchors) + " | of ceiling |",
             "| --- | --- | --- | --- | --- | " + " | ".join("---" for _ in anchors) + " | --- |"]  # fmt: skip
    for workers, rows, connections, name in samples:
        if name != "ours":
            continue
        ours = _median(samples[(workers, rows, connections, "ours")], "rps")
        cells = []
        for anchor in [*anchors, "ceiling"]:
            other = samples.get((workers, rows, connections, anchor))
            if not other:
                cells.append("n/a")
            elif anchor == "ceiling":
                cells.append(f"{fmt(_over(ours, _median(other, 'rps')) * 100, 0)}%")
            else:
                cells.append(f"{fmt(_over(ours, _median(other, 'rps')), 2)}x")
        p99 = _median(samples[(workers, rows, connections, "ours")], "p99_ms")
        lines.append(f"| {workers} | {rows:,} | {connections} | {fmt(ours, 0)} | {fmt(p99)} | "
                     + " | ".join(cells) + " |")  # fmt: skip
    return lines


def _targets(samples: dict[tuple[int, int, int, str], list[Any]], names: list[str]) -> list[str]:
    """The issue's targets, each as met / not met with the figure that decides it."""
    anchors = [n for n in names if n not in ("ours", "ceiling")]
    lines = [
        "",
        "**Targets** (one worker, routing, metrics and logs on; from the tables above):",
        "",
    ]
    worst: tuple[float, str] | None = None
    for (workers, rows, connections, name), values in samples.items():
        if workers != 1 or name not in anchors:
            continue
        ratio = _over(
            _median(samples[(1, rows, connections, "ours")], "rps"), _median(values, "rps")
        )
        where = f"{name} at {rows:,} rows, c={connections}"
        if worst is None or ratio < worst[0]:
            worst = (ratio, where)
    if worst is not None:
        below = sorted(
            f"{name} {rows:,} rows c={c} ({fmt(_over(_median(samples[(1, rows, c, 'ours')], 'rps'), _median(v, 'rps')), 2)}x)"
            for (w, rows, c, name), v in samples.items()
            if w == 1 and name in anchors
            and _over(_median(samples[(1, rows, c, "ours")], "rps"), _median(v, "rps")) < TARGET_RATIO
        )  # fmt: skip
        verdict = "met" if not below else "not met in " + "; ".join(below)
        lines.append(f"- at least {TARGET_RATIO}x every anchor at every batch size and "
                     f"concurrency: {verdict} (narrowest {fmt(worst[0], 2)}x, {worst[1]}).")  # fmt: skip
    one = samples.get((1, 1, 8, "ours"))
    if one:
        p99 = _median(one, "p99_ms")
        verdict = "met" if p99 < TARGET_P99_MS else "not met"
        lines.append(f"- p99 under {fmt(TARGET_P99_MS, 0)} ms at c=8, one row: {verdict} "
                     f"({fmt(p99)} ms).")  # fmt: skip
    for connections in (8, 64):
        ceiling = samples.get((1, 1, connections, "ceiling"))
        ours = samples.get((1, 1, connections, "ours"))
        if ceiling and ours:
            share = _over(_median(ours, "rps"), _median(ceiling, "rps")) * 100
            verdict = "met" if share >= TARGET_CEILING else "not met"
            lines.append(f"- at least {fmt(TARGET_CEILING, 0)}% of the bare-ASGI ceiling at one "
                         f"row, c={connections}: {verdict} ({fmt(share, 0)}%).")  # fmt: skip
    return lines
