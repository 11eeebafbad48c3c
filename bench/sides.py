"""The servers the serving benchmark compares, each started on 127.0.0.1 with N worker processes:
ours (the app as its image runs it), `mlflow models serve`, KServe's model server (a custom
`Model` in a virtual environment of its own, `kserve` from PyPI) and a bare-ASGI ceiling."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
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

KSERVE_VERSION = "0.21.0"
KSERVE_VENV = REPO / ".venv-kserve"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Side:
    name: str
    process: subprocess.Popen[bytes]
    url: str  # where predictions are POSTed
    style: str  # the body's key (bench/post.lua): data, inputs or instances


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
    """The estimator behind models:/best_model@A, pickled for KServe and the ceiling."""
    import mlflow.sklearn

    mlflow.set_tracking_uri(tracking)
    estimator = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@A")
    path = workdir / "model.pkl"
    path.write_bytes(pickle.dumps(estimator))
    return path


def kserve_python() -> tuple[Path | None, str]:
    """The interpreter of .venv-kserve, created and filled from PyPI when missing; or None and
    the reason (the installer's last lines) when KServe cannot be installed here."""
    python = KSERVE_VENV / "bin/python"
    check = [str(python), "-c", "import kserve, sklearn"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return python, ""
    sklearn = metadata.version("scikit-learn")  # the pickle needs the same scikit-learn
    steps = [
        [sys.executable, "-m", "venv", str(KSERVE_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", f"kserve=={KSERVE_VERSION}",
         f"scikit-learn=={sklearn}"],
    ]  # fmt: skip
    for step in steps:
        print("installing KServe:", " ".join(step[-3:]), file=sys.stderr)
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return None, f"`{' '.join(step[2:])}` exited {done.returncode}: " + " / ".join(tail)
    return python, ""


def _popen(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=out, start_new_session=True
        )


def start_ours(tracking: str, workdir: Path, workers: int) -> Side:
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking,
        "MODEL_NAME": MODEL_NAME,
        "ALIAS_SELECTION_MODE": "canary",
        "CANARY_PERCENT": "20",
        "DEFAULT_ALIAS": "A",
        "RELOAD_SECRET_TOKEN": "bench",
        "LOG_DIR": str(workdir / f"logs-{workers}"),
        "ALIAS_POLL_INTERVAL_SECONDS": "0",
        "WEB_CONCURRENCY": str(workers),
    }
    process = _popen(app_command(port), env, workdir / f"ours-{workers}.log")
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


def start_kserve(python: Path, model: Path, workdir: Path, workers: int) -> Side:
    port = free_port()
    script = REPO / "bench/kserve_model.py"
    command = [str(python), str(script), str(model), str(port), str(workers)]
    process = _popen(command, dict(os.environ), workdir / f"kserve-{workers}.log")
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/v1/models/iris", process)
    return Side("KServe", process, f"{url}/v1/models/iris:predict", "instances")


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
