"""py-spy on our one worker under wrk: own time by the area it is spent in (scikit-learn, our
app, FastAPI/Starlette, pydantic, uvicorn, JSON, numpy...)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.serving_bench import wrk
from bench.sides import Side


def profile(side: Side, rows: int = 1, seconds: int = 4) -> dict[str, float]:
    """py-spy on our (one) process under wrk -c 8 with `rows` rows: own time by where it is
    spent, as shares of the samples (an empty dict when py-spy is missing or cannot record)."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        return {}
    out = Path(tempfile.mkdtemp()) / "profile.txt"
    command = [str(spy), "record", "-p", str(side.process.pid), "-d", str(seconds), "-r", "250",
               "-f", "raw", "-o", str(out)]  # fmt: skip
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wrk(side.url, 8, seconds + 1, rows, side.style)
    _, err = recorder.communicate(timeout=60)
    if not out.exists():
        print(
            "py-spy could not record:", err.decode(errors="replace").strip()[:200], file=sys.stderr
        )
        return {}
    return _by_area(out.read_text())


AREAS = (
    ("scikit-learn predict", ("sklearn/",)),
    ("our body parsing (app/jsonbody.py, orjson)", ("app/jsonbody.py", "app/fastbody.py")),
    ("our input checks and array conversion (app/inputs.py)", ("app/inputs.py",)),
    ("our app (routing, predict, metrics, log)", ("app/",)),
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


def _by_area(raw: str) -> dict[str, float]:
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
    return {area: n / max(total, 1) * 100 for area, n in counts.most_common()}
