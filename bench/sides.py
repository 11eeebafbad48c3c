"""The servers the serving benchmark compares, each started on 127.0.0.1 with N worker processes:
ours (the app as its image runs it), `mlflow models serve`, KServe's model server (a custom
`Model`), MLServer with its scikit-learn runtime, LitServe (each anchor in a virtual environment
of its own, bench/venvs.py) and a bare-ASGI ceiling. The anchors run in their fastest documented
one-process setting (`fast`: no per-request log lines) and with their defaults (`default`)."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.serving_bench import REPO, wait_ready

sys.path.insert(0, str(REPO / "apps/fastapi"))

from tools.local_mlflow import (  # noqa: E402
    MODEL_NAME,
    app_command,
    free_port,
    seed_registry,
    start_server,
)

__all__ = ["seed_registry", "start_server"]  # for bench.serving_compare

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Side:
    name: str
    process: subprocess.Popen[bytes]
    url: str  # where predictions are POSTed
    style: str  # the body's shape (bench/post.lua): data, inputs, instances or v2


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += [child for child, parent in parents.items() if parent == pid]
    return found


def tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and every live process below it (shared pages counted in each,
    as `ps` does: an upper bound for forked workers)."""
    total = 0
    for pid in _tree(root):
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def tree_cpu_seconds(root: int) -> float:
    """User and system CPU of `root` and every live process below it."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


def export_model(tracking: str, workdir: Path) -> Path:
    """The estimator behind models:/best_model@A, pickled for the anchors and the ceiling (and
    saved with joblib beside it, `model.joblib`, which is what MLServer's runtime loads)."""
    import joblib  # type: ignore[import-untyped]
    import mlflow.sklearn

    mlflow.set_tracking_uri(tracking)
    estimator = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@A")
    path = workdir / "model.pkl"
    path.write_bytes(pickle.dumps(estimator))
    joblib.dump(estimator, workdir / "model.joblib")
    return path


def _popen(
    command: list[str], env: dict[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=out, start_new_session=True, cwd=cwd
        )


def pause(side: Side) -> None:
    """SIGSTOP the side's process group: an idle server's timers and pollers (LitServe's queue
    loop, MLServer's workers) must not take CPU from the one being measured."""
    os.killpg(side.process.pid, signal.SIGSTOP)


def resume(side: Side) -> None:
    os.killpg(side.process.pid, signal.SIGCONT)


def start_ours(
    tracking: str, workdir: Path, workers: int, settings: dict[str, str] | None = None
) -> Side:
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking,
        "MODEL_NAME": MODEL_NAME,
        "ALIAS_SELECTION_MODE": "canary",
        "CANARY_PERCENT": "20",
        "DEFAULT_ALIAS": "A",
        "RELOAD_SECRET_TOKEN": "bench",
        "LOG_DIR": str(workdir / f"logs-{port}"),
        "ALIAS_POLL_INTERVAL_SECONDS": "0",
        "WEB_CONCURRENCY": str(workers),
        **(settings or {}),
    }
    process = _popen(app_command(port), env, workdir / f"ours-{workers}-{port}.log")
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/health", process)
    return Side("ours", process, f"{url}/predict", "data")


def start_mlflow(tracking: str, workdir: Path, workers: int) -> Side:
    port = free_port()
    # it starts `uvicorn` by name: the virtual environment's bin must be on PATH
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking, "PATH": path}
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{MODEL_NAME}@A",
               "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers)]  # fmt: skip
    process = _popen(command, env, workdir / f"mlflow-{workers}.log")
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/ping", process)
    return Side("mlflow", process, f"{url}/invocations", "inputs")


def start_kserve(python: Path, model: Path, workdir: Path, workers: int, setting: str) -> Side:
    port = free_port()
    script = REPO / "bench/kserve_model.py"
    command = [str(python), str(script), str(model), str(port), str(workers), setting]
    process = _popen(command, dict(os.environ), workdir / f"kserve-{setting}-{workers}.log")
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/v1/models/iris", process)
    return Side(f"KServe {setting}", process, f"{url}/v1/models/iris:predict", "instances")


def start_mlserver(python: Path, model: Path, workdir: Path, workers: int, setting: str) -> Side:
    """`mlserver start` on a folder holding settings.json and the model's model-settings.json
    (runtime `mlserver_sklearn.SKLearnModel`). `default`: MLServer's defaults (debug on, which
    is uvicorn's access log; one inference worker process per worker). `fast`: debug off and,
    at one worker, `parallel_workers: 0` (inference in the HTTP process), its fastest here."""
    folder = workdir / f"mlserver-{setting}-{workers}"
    (folder / "iris").mkdir(parents=True)
    port, grpc, metrics = free_port(), free_port(), free_port()
    settings: dict[str, object] = {"host": "127.0.0.1", "http_port": port, "grpc_port": grpc,
                                   "metrics_port": metrics, "parallel_workers": workers}  # fmt: skip
    if setting == "fast":
        settings |= {"debug": False, "parallel_workers": 0 if workers == 1 else workers}
    (folder / "settings.json").write_text(json.dumps(settings))
    model_settings = {"name": "iris", "implementation": "mlserver_sklearn.SKLearnModel",
                      "parameters": {"uri": str(model.with_suffix(".joblib"))}}  # fmt: skip
    (folder / "iris/model-settings.json").write_text(json.dumps(model_settings))
    mlserver = python.with_name("mlserver")
    command = [str(mlserver), "start", str(folder)]
    log = workdir / f"mlserver-{setting}-{workers}.log"
    process = _popen(command, dict(os.environ), log, cwd=folder)  # its .metrics folder goes there
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/v2/models/iris/ready", process)
    return Side(f"MLServer {setting}", process, f"{url}/v2/models/iris/infer", "v2")


def start_litserve(python: Path, model: Path, workdir: Path, workers: int, setting: str) -> Side:
    port = free_port()
    script = REPO / "bench/litserve_model.py"
    command = [str(python), str(script), str(model), str(port), str(workers), setting]
    process = _popen(command, dict(os.environ), workdir / f"litserve-{setting}-{workers}.log")
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/health", process)
    return Side(f"LitServe {setting}", process, f"{url}/predict", "data")


def start_ceiling(model: Path, workdir: Path, workers: int) -> Side:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.ceiling_app:app", "--app-dir", str(REPO),
               "--http", "httptools", "--no-access-log", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers)]  # fmt: skip
    env = {**os.environ, "CEILING_MODEL": str(model)}
    process = _popen(command, env, workdir / f"ceiling-{workers}.log")
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/health", process)
    return Side("ceiling", process, f"{url}/predict", "data")
