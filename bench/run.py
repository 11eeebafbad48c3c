"""`make bench`: every benchmark, written to BENCHMARKS.md with the machine and the versions."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from bench import (
    cel_bench,
    generator_bench,
    mirror_bench,
    services_bench,
    serving_compare,
    shadow_bench,
)

REPO = Path(__file__).resolve().parents[1]
PACKAGES = (
    "gitopsgen",
    "mlflow",
    "fastapi",
    "uvicorn",
    "scikit-learn",
    "helm-python-sdk",
    "jsonschema",
    "fastjsonschema",
    "kubernetes-validate",
    "common-expression-language",
    "PyYAML",
)


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES)
    return [
        f"- machine: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {versions}",
        f"- load generator: {(wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else 'wrk'}",
    ]


def knobs() -> list[str]:
    """The narrowing this run used, if any, so a reader knows what it left out."""
    used = [f"`{k}={os.environ[k]}`" for k in sorted(os.environ) if k.startswith("BENCH_")]
    return [f"- this run: {', '.join(used)}"] if used else []


def kept(heading: str) -> str:
    """A section of the current BENCHMARKS.md, up to the next `## ` heading, marked as kept."""
    text = (REPO / "BENCHMARKS.md").read_text()
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    section, _, earlier = text[start : end if end != -1 else len(text)].partition("\n\n(Kept from")
    if earlier:  # kept already: its origin stays
        return f"{section.rstrip()}\n\n(Kept from{earlier.rstrip()}\n"
    when = re.search(r"^Measured on (.+?) by", text, re.M)
    where = re.search(r"^- machine: (.+)$", text, re.M)
    origin = f"the run of {when.group(1) if when else 'an earlier date'}" + (
        f" on {where.group(1)}" if where else ""
    )
    return section.rstrip() + f"\n\n(Kept from {origin}: `BENCH_SKIP_GENERATOR=1`.)\n"


def main() -> int:
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    sizes = tuple(int(s) for s in os.environ.get("BENCH_SIZES", "10,100,1000").split(","))
    if os.environ.get("BENCH_SKIP_GENERATOR") == "1":  # keep those sections of the last run
        sections = [kept("## Generator and validator"), kept("## CEL rules of the CRDs")]
    else:
        sections = [generator_bench.run(sizes), cel_bench.run()]
    if os.environ.get("BENCH_SKIP_SERVING") != "1":
        sections.append(serving_compare.run())
        sections.append((REPO / "bench/notes.md").read_text())
        sections.append(shadow_bench.run())
        sections.append(mirror_bench.run())
    skip_generator = os.environ.get("BENCH_SKIP_GENERATOR") == "1"
    services = "## Several model services"
    if skip_generator and services in (REPO / "BENCHMARKS.md").read_text():
        sections.append(kept(services))
    else:  # 20 services x 50 environments: 1,000 Applications
        sections.append(services_bench.run())
    text = "\n".join(
        [
            "# Benchmarks",
            "",
            f"Measured on {started} by `make bench` (that is `.venv/bin/python -m bench.run`; "
            "`BENCH_SIZES=10,100`, `BENCH_SKIP_SERVING=1`, `BENCH_SKIP_GENERATOR=1` and `BENCH_SKIP_SIDES=mlflow,kserve,mlserver,litserve,ceiling,defaults,multi,extras,admission` "
            "narrow it). Absolute figures drift "
            "between runs on a shared two-core machine; read the ratios, which come from runs taken "
            "alternately in the same session.",
            "",
            *machine(),
            *knobs(),
            "",
            *sections,
        ]
    )
    (REPO / "BENCHMARKS.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
