"""Many model services in one repository: render and validate 100 to 1,000 Argo CD Applications
(services x environments), and what rendering each distinct (chart, values) once saves.

`python -m bench.services_bench [SERVICES:ENVIRONMENTS ...]` (default 5:20 10:50 20:50)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.measure import fmt, median

REPO = Path(__file__).resolve().parents[1]
SIZES = ((5, 20), (10, 50), (20, 50))


def services_spec(services: int, environments: int) -> str:
    """`services` models in each of `environments` environments, every environment on a
    cluster of its own with its own pool; the services of an environment share its namespace
    (their releases differ) and each has its own host."""
    names = [f"model{i:02d}" for i in range(services)]
    envs: dict[str, Any] = {}
    for e in range(environments):
        envs[f"env{e:02d}"] = {
            "cluster": {"name": f"c{e}", "server": f"https://c{e}.k8s.example.internal:6443"},
            "namespace": f"models-env{e:02d}",
            "mlflow": {"trackingUri": f"http://mlflow.env{e:02d}.svc:5000"},
            "ingress": {"tlsSecretName": f"env{e:02d}-tls", "whitelist": [f"10.{e}.0.0/16"]},
            "metallb": {"pool": f"pool{e}", "addresses": [f"172.16.{e}.0/28"]},
            "services": {
                name: {"ingress": {"host": f"{name}.env{e:02d}.example.internal"}} for name in names
            },
        }
    spec = {
        "apiVersion": "gitopsgen/v1",
        "kind": "Environments",
        "repo": {"url": "https://github.com/example-org/mlops-gitops.git"},
        "argocd": {"namespace": "argocd", "project": "mlops-serving"},
        "defaults": {
            "replicas": 2,
            "serving": {
                "mode": "canary",
                "defaultAlias": "A",
                "canaryPercent": 10,
                "abSplitPercent": 90,
            },
            "syncPolicy": {"automated": True, "prune": True, "selfHeal": True},
        },
        "services": {
            name: {
                "image": {"repository": f"registry.example.org/ml/{name}", "tag": "1.0.0"},
                "model": {"name": f"{name}_model"},
            }
            for name in names
        },
        "environments": envs,
    }
    return yaml.safe_dump(spec, sort_keys=False)


def make_repo(services: int, environments: int, base: Path) -> Path:
    root = base / f"repo-{services}x{environments}"
    shutil.copytree(REPO / "apps/fastapi/chart", root / "apps/fastapi/chart")
    (root / "environments").mkdir(parents=True)
    (root / "environments/environments.yaml").write_text(services_spec(services, environments))
    return root


def gitopsgen(*args: str) -> list[str]:
    """This checkout's gitopsgen (python -m from the repository root imports its code)."""
    return [sys.executable, "-m", "gitopsgen", *args]


@dataclass(frozen=True)
class Timed:
    """Wall and CPU seconds of one child process: on a machine shared with other work the wall
    time says what a user waits, the CPU time what the work costs."""

    wall: float
    cpu: float
    peak_mb: float


def timed(command: list[str]) -> Timed:
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed")
    return Timed(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def measured(root: Path, command: str, runs: int) -> list[Timed]:
    return [timed(gitopsgen(command, "--root", str(root))) for _ in range(runs)]


def helm_cache_effect(root: Path) -> tuple[float, float, int]:
    """In one process: validate, then validate again (every Helm render a cache hit), as a
    promotion's object diff reuses its validation's renders. (seconds cold, warm, renders)"""
    sys.path.insert(0, str(REPO))
    from gitopsgen.validate import helm
    from gitopsgen.validate.run import ValidateOptions, validate_repository

    options = ValidateOptions(root, root / "environments/environments.yaml")
    helm._RENDERS.clear()
    start = time.perf_counter()
    validate_repository(options)
    cold = time.perf_counter() - start
    renders = len(helm._RENDERS)
    start = time.perf_counter()
    validate_repository(options)
    return cold, time.perf_counter() - start, renders


def _median(runs: list[Timed], what: str) -> float:
    return median([getattr(r, what) for r in runs])


def run(sizes: tuple[tuple[int, int], ...] = SIZES) -> str:
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="gitopsgen-services-bench-") as tmp:
        largest = None
        for services, environments in sizes:
            root = make_repo(services, environments, Path(tmp))
            apps = services * environments
            runs = 3 if apps <= 100 else 1
            renders = measured(root, "render", runs)
            validates = measured(root, "validate", runs)
            rows.append((services, environments, apps, renders, validates))
            largest = root
        assert largest is not None
        cold, warm, distinct = helm_cache_effect(largest)
    first, last = rows[0], rows[-1]
    per_app = {row[2]: _median(row[4], "cpu") / row[2] for row in rows}
    marginal = (_median(last[4], "cpu") - _median(first[4], "cpu")) / (last[2] - first[2])
    lines = [
        "## Several model services",
        "",
        "Synthetic specs of the services form (`python -m bench.services_bench`): every "
        "environment on a cluster of its own, its services sharing its namespace, each with its "
        "own host, image and model; `gitopsgen render` and `gitopsgen validate` (real Helm for "
        "every Application, every schema, policies, preview) as child processes, medians of 3 "
        "runs at 100 Applications, one run above. Wall seconds are what a user waits on this "
        "shared machine, CPU seconds what the work costs.",
        "",
        "| services x environments | Applications | render s (CPU s) | validate s (CPU s) | "
        "validate CPU ms per Application | validate MB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for services, environments, apps, renders, validates in rows:
        lines.append(
            f"| {services} x {environments} | {apps:,} | "
            f"{fmt(_median(renders, 'wall'))} ({fmt(_median(renders, 'cpu'))}) | "
            f"{fmt(_median(validates, 'wall'))} ({fmt(_median(validates, 'cpu'))}) | "
            f"{fmt(per_app[apps] * 1000, 1)} | {fmt(max(r.peak_mb for r in validates), 0)} |"
        )
    lines += [
        "",
        f"- growth: each Application past the first {first[2]:,} adds {fmt(marginal * 1000, 1)} "
        f"ms of validate CPU; per Application, {last[2]:,} cost "
        f"{fmt(per_app[last[2]] / per_app[first[2]])}x what {first[2]:,} did (1.00 is linear; "
        "below it, the fixed start-up cost spread over more Applications)",
        f"- Helm renders each distinct (chart, values, namespace, release) once per process: "
        f"{distinct:,} renders for {last[2]:,} Applications; validating "
        f"{last[0]} x {last[1]} again in the same process (every render a cache hit, as a "
        f"promotion's object diff after its validation) took {fmt(warm)} s against "
        f"{fmt(cold)} s cold ({fmt(100 * (1 - warm / cold), 0)}% less)",
        f"- machine: {os.cpu_count()} cores, shared with other work while measured (load "
        f"average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after: where it exceeds "
        "the cores, wall time is mostly waiting for them)",
    ]
    return "\n".join(lines) + "\n"


def parse_sizes(args: list[str]) -> tuple[tuple[int, int], ...]:
    out = []
    for arg in args:
        services, _, environments = arg.partition(":")
        out.append((int(services), int(environments)))
    return tuple(out) or SIZES


if __name__ == "__main__":
    print(run(parse_sizes(sys.argv[1:])))
