"""A real Airflow for the retraining DAG: apache-airflow 3 in a virtualenv of its own (never the
project's: its pins are not the serving app's), built once per machine and reused, and `airflow
dags test` run against a fresh sqlite metadata database.

Measured on two shared cores: building the environment takes about 90 s (PyPI, no constraints
file reachable), `airflow db migrate` about 11 s, so it is done once into a template database
that every run copies; a run of `dags test` of the retraining DAG takes about 20-30 s."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[1]
PIPELINES = APP_DIR / "pipelines"
REQUIREMENTS = PIPELINES / "requirements.txt"
CACHE = Path(os.environ.get("GITOPSGEN_TEST_CACHE", Path.home() / ".cache" / "gitopsgen-test"))
# Airflow publishes the versions it was tested with; used when it can be fetched (it cannot
# where only the package registries are reachable), else pip resolves from PyPI alone.
CONSTRAINTS_URL = "https://raw.githubusercontent.com/apache/airflow/constraints-{airflow}/constraints-{python}.txt"
INSTALL_TIMEOUT_SECONDS = 1800


class AirflowSetupError(RuntimeError):
    """The Airflow environment could not be built; the message names the log."""


@dataclass(frozen=True)
class AirflowEnv:
    venv: Path

    @property
    def airflow(self) -> Path:
        return self.venv / "bin" / "airflow"

    @property
    def template_db(self) -> Path:
        return self.venv / "metadata-template" / "airflow.db"


def airflow_version() -> str:
    for line in REQUIREMENTS.read_text().splitlines():
        if line.startswith("apache-airflow=="):
            return line.split("==", 1)[1].strip()
    raise AirflowSetupError(f"{REQUIREMENTS} pins no apache-airflow version")


def venv_path() -> Path:
    """Keyed by the pinned Airflow version, the requirements' bytes and the Python version: a
    change of any builds a new environment beside the old one."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes() + sys.version.encode()).hexdigest()[:12]
    return CACHE / f"airflow-venv-{airflow_version()}-{digest}"


def _constraints(dest: Path) -> Path | None:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    url = CONSTRAINTS_URL.format(airflow=airflow_version(), python=python)
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            dest.write_bytes(response.read())
    except OSError:
        return None
    return dest


def _run(command: list[str], log: Path, env: dict[str, str] | None = None) -> bool:
    with log.open("ab") as out:
        done = subprocess.run(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=INSTALL_TIMEOUT_SECONDS
        )
    return done.returncode == 0


def _build(venv: Path) -> None:
    log = venv.parent / f"{venv.name}.log"
    log.write_text("")
    _run([sys.executable, "-m", "venv", "--clear", str(venv)], log)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    installed = False
    constraints = _constraints(venv / "constraints.txt")
    if constraints is not None:  # Airflow's tested set, when it agrees with our own pins
        installed = _run([*pip, "-r", str(REQUIREMENTS), "-c", str(constraints)], log)
    if not installed and not _run([*pip, "-r", str(REQUIREMENTS)], log):
        raise AirflowSetupError(f"pip could not install {REQUIREMENTS}: see {log}")
    home = venv / "metadata-template"
    home.mkdir(exist_ok=True)
    if not _run([str(venv / "bin" / "airflow"), "db", "migrate"], log, airflow_environ(home)):
        raise AirflowSetupError(f"airflow db migrate failed: see {log}")


def ensure_airflow() -> AirflowEnv:
    """The cached environment, built first when missing or left half-built by an interrupted
    build (no stamp). A lock keeps two test runs from building it at once."""
    venv = venv_path()
    stamp = venv / ".complete"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "airflow-venv.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists():
            shutil.rmtree(venv, ignore_errors=True)
            _build(venv)
            stamp.write_text(airflow_version() + "\n")
    return AirflowEnv(venv)


def airflow_environ(
    home: Path, extra: Mapping[str, str] | None = None, dags: Path = PIPELINES
) -> dict[str, str]:
    """Only what Airflow needs: its home (sqlite metadata there), the DAG folder, no examples;
    nothing of the caller's environment beyond PATH, HOME, the locale and telemetry opt-outs."""
    kept = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK")
    base = {k: v for k, v in os.environ.items() if k in kept}
    return {
        **base,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        **(extra or {}),
    }


def dags_test(
    env: AirflowEnv,
    home: Path,
    dag_id: str,
    conf: str,
    extra_env: dict[str, str],
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """`airflow dags test DAG_ID -c CONF` in a fresh AIRFLOW_HOME (a copy of the migrated
    template database): the DAG parsed from the DAG folder and every task run in this process
    tree, as the scheduler and a worker would. Exit status 1 when a task failed."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy2(env.template_db, home / "airflow.db")
    return subprocess.run(
        [str(env.airflow), "dags", "test", dag_id, "-c", conf],
        env=airflow_environ(home, extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
