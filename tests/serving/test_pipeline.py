"""The retraining DAG run end to end by a real Airflow 3 (`airflow dags test`, its own cached
virtualenv, sqlite metadata), against the real MLflow server of the suite, a real serving app
over HTTP (an environment that follows the registry's alias) and a real git origin (one that
pins versions in Git, through `python -m gitopsgen set`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.serving.conftest import Registry
from tests.support import REPO, frozen_repository, git, git_repository

pytest.importorskip("mlflow", reason="the serving extra is not installed")

from tools.local_airflow import AirflowEnv, AirflowSetupError, dags_test, ensure_airflow  # noqa: E402
from tools.local_mlflow import app_command, free_port, register_model  # noqa: E402
from tools.processes import LocalServer  # noqa: E402

pytestmark = pytest.mark.pipeline

NAME = "retrained_model"
TOKEN = "pipeline-reload-token"
PINNED_ENV = "prod"
NEEDS_SCHEMA = "needs model.versions in the spec schema (gitopsgen set refuses it with GG003)"
# Records the arguments the DAG gave, then runs the real gitopsgen with them when a command is
# saved beside it (real-command.json: the spec accepts model.versions).
RECORDER = """\
import json, pathlib, subprocess, sys
here = pathlib.Path(__file__).parent
with open(here / "recorded.jsonl", "a") as out:
    out.write(json.dumps(sys.argv[1:]) + "\\n")
real = here / "real-command.json"
if real.exists():
    sys.exit(subprocess.run(json.loads(real.read_text()) + sys.argv[1:]).returncode)
"""


@dataclass
class PipelineRun:
    result: subprocess.CompletedProcess[str]
    seconds: float
    version: str
    spec_accepts_pins: bool
    recorded: list[list[str]]
    clone: Path
    origin: Path
    app_url: str


def git_env(root: Path) -> dict[str, str]:
    """Git sees none of the machine's configuration; commits have a fixed author."""
    env = {"GIT_CONFIG_GLOBAL": str(root / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1"}
    for who in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{who}_NAME"] = "Retraining Pipeline"
        env[f"GIT_{who}_EMAIL"] = "pipeline@example.org"
    return env


def gitopsgen() -> list[str]:
    """This checkout's gitopsgen (not the one installed in the venv, which may be main's)."""
    return ["env", f"PYTHONPATH={REPO}", sys.executable, "-m", "gitopsgen"]


def spec_accepts_pins(root: Path, env: dict[str, str]) -> bool:
    """A dry attempt in a throwaway clone: does `gitopsgen set` take model.versions yet?"""
    probe = git_repository(frozen_repository(root / "probe"), bare_origin(root / "probe.git"))
    done = subprocess.run(
        [*gitopsgen(), "set", PINNED_ENV, "model.versions.B=1", "--root", str(probe)],
        cwd=probe,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    if done.returncode != 0 and "GG003" not in done.stdout + done.stderr:
        raise AssertionError(f"gitopsgen set failed for another reason:\n{done.stderr}")
    return done.returncode == 0


def bare_origin(path: Path) -> Path:
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(path)], check=True)
    return path


def start_app(registry: Registry, workdir: Path) -> LocalServer:
    """The serving app of an environment that follows the registry's aliases (nothing pinned)."""
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": registry.url,
        "MODEL_NAME": NAME,
        "RELOAD_SECRET_TOKEN": TOKEN,
        "LOG_DIR": str(workdir / "logs"),
        "ALIAS_POLL_INTERVAL_SECONDS": "0",
    }
    log = workdir / "app.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            app_command(port),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LocalServer(process, f"http://127.0.0.1:{port}", workdir)
    server.wait_until_ok("/health", log, 180)
    return server


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def run_pipeline(
    airflow: AirflowEnv, registry: Registry, root: Path, env: dict[str, str], app_url: str
) -> PipelineRun:
    """One `airflow dags test retrain_model`: pin `prod` in a clone of a bare origin, reload the
    app at `app_url`; gitopsgen's arguments recorded, and run for real when the spec takes them."""
    origin = bare_origin(root / "origin.git")
    clone = git_repository(frozen_repository(root / "clone"), origin)
    accepted = spec_accepts_pins(root, env)
    recorder = root / "recorder.py"
    recorder.write_text(RECORDER)
    record = root / "recorded.jsonl"
    command = [sys.executable, str(recorder)]
    if accepted:
        (root / "real-command.json").write_text(json.dumps(gitopsgen()))
    conf = {
        "tracking_uri": registry.url,
        "model_name": NAME,
        "alias": "B",
        "pin_environments": [PINNED_ENV],
        "reload_urls": [app_url],
        "gitopsgen_command": command,
        "gitops_repo": str(clone),
    }
    started = time.monotonic()
    result = dags_test(
        airflow,
        root / "airflow-home",
        "retrain_model",
        json.dumps(conf),
        {**env, "AIRFLOW_VAR_SERVING_RELOAD_TOKEN": TOKEN},
    )
    seconds = time.monotonic() - started
    (root / "dags-test.log").write_text(result.stdout + result.stderr)
    lines = record.read_text().splitlines() if record.exists() else []
    recorded = [json.loads(line) for line in lines]
    # v1 and v2 were registered before: the DAG's is v3
    return PipelineRun(result, seconds, "3", accepted, recorded, clone, origin, app_url)


@pytest.fixture(scope="module")
def pipeline_run(
    mlflow_registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PipelineRun]:
    try:
        airflow = ensure_airflow()
    except AirflowSetupError as exc:
        pytest.fail(str(exc))
    root = tmp_path_factory.mktemp("pipeline")
    env = git_env(root)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():  # the repositories below get the same isolation
            patch.setenv(name, value)
        register_model(mlflow_registry.url, "logreg", "A", name=NAME)
        register_model(mlflow_registry.url, "tree", "B", name=NAME)
        app = start_app(mlflow_registry, root)
        try:
            yield run_pipeline(airflow, mlflow_registry, root, env, app.url)
        finally:
            app.stop()


def test_the_dag_trains_registers_and_reloads_the_following_environment(
    pipeline_run: PipelineRun, mlflow_registry: Registry
) -> None:
    from mlflow import MlflowClient

    run = pipeline_run
    output = run.result.stdout + run.result.stderr
    assert run.result.returncode == 0, output[-6000:]
    assert "state=success" in output
    client = MlflowClient(tracking_uri=mlflow_registry.url, registry_uri=mlflow_registry.url)
    version = client.get_model_version(NAME, run.version)
    assert version.status == "READY"
    assert client.get_registered_model(NAME).aliases == {"A": "1", "B": run.version}
    accuracy = client.get_run(str(version.run_id)).data.metrics["accuracy"]
    assert 0.8 <= accuracy <= 1.0
    # the environment that follows the alias was told to reload and serves the new version
    served = get_json(f"{run.app_url}/models")
    assert served["versions"]["B"]["serving_version"] == run.version
    assert served["versions"]["A"]["serving_version"] == "1"
    assert TOKEN not in output  # the token reached the app, never the log


def test_the_dag_asks_gitopsgen_to_pin_the_version_in_the_pinned_environment(
    pipeline_run: PipelineRun,
) -> None:
    assert pipeline_run.result.returncode == 0
    assert pipeline_run.recorded == [
        [
            "set",
            PINNED_ENV,
            f"model.versions.B={pipeline_run.version}",
            "--push",
            "--root",
            str(pipeline_run.clone),
        ]
    ]


def test_the_pinning_branch_reaches_origin_with_the_version(pipeline_run: PipelineRun) -> None:
    if not pipeline_run.spec_accepts_pins:
        pytest.skip(NEEDS_SCHEMA)
    origin = pipeline_run.origin
    branches = [b for b in git(origin, "branch", "--format=%(refname:short)").split() if b]
    pinned = [b for b in branches if b != "main"]
    assert len(pinned) == 1, branches
    changed = git(origin, "diff", "--name-only", f"main...{pinned[0]}").split()
    assert changed == ["apps/fastapi/values/prod.yaml", "environments/environments.yaml"]
    spec_diff = git(origin, "diff", f"main...{pinned[0]}", "--", "environments/environments.yaml")
    lines = [ln for ln in spec_diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert lines == [f"+    model: {{versions: {{B: '{pipeline_run.version}'}}}}"], spec_diff
    # the values the chart reads in prod: the pin the serving app loads (MODEL_VERSION_B)
    values = yaml.safe_load(git(origin, "show", f"{pinned[0]}:apps/fastapi/values/prod.yaml"))
    assert values["env"]["MODEL_VERSION_B"] == pipeline_run.version
