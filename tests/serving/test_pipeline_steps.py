"""The retraining pipeline's steps outside Airflow (apps/fastapi/pipelines/retraining.py): the
refusals the DAG run in test_pipeline.py does not reach, against the real MLflow server and a
real serving app over HTTP."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.serving.conftest import PinnedApp, Registry

pytest.importorskip("mlflow", reason="the serving extra is not installed")

import retraining  # noqa: E402
from tools.local_mlflow import free_port  # noqa: E402


def test_reloading_a_pinned_environment_is_refused_it_needs_a_pull_request(
    pinned_app: PinnedApp,
) -> None:
    with pytest.raises(retraining.PipelineError, match="pins B to version 1: list its environment"):
        retraining.reload_app(pinned_app.url, "B", pinned_app.token, "3")


def test_a_reload_that_loads_another_version_fails_the_step(pinned_app: PinnedApp) -> None:
    with pytest.raises(
        retraining.PipelineError, match="serves A version 1 after the reload, not 9"
    ):
        retraining.reload_app(pinned_app.url, "A", pinned_app.token, "9")
    assert retraining.reload_app(pinned_app.url, "A", pinned_app.token, "1")["version"] == "1"


def test_a_wrong_or_missing_token_is_reported_never_printed(pinned_app: PinnedApp) -> None:
    with pytest.raises(retraining.PipelineError, match="answered 401") as refused:
        retraining.reload_app(pinned_app.url, "A", "not-the-token", "1")
    assert "not-the-token" not in str(refused.value)
    with pytest.raises(retraining.PipelineError, match="Variable serving_reload_token"):
        retraining.reload_app(pinned_app.url, "A", "", "1")
    with pytest.raises(retraining.PipelineError, match="did not answer"):
        retraining.reload_app(f"http://127.0.0.1:{free_port()}", "A", pinned_app.token, "1")


def test_the_pin_command_is_one_gitopsgen_set() -> None:
    command = retraining.pin_command(
        ["python", "-m", "gitopsgen"], "prod", "B", "7", "/repo", push=True, open_pr=True
    )
    assert command == [
        "python",
        "-m",
        "gitopsgen",
        "set",
        "prod",
        "model.versions.B=7",
        "--push",
        "--open-pr",
        "--root",
        "/repo",
    ]
    plain = retraining.pin_command(["gitopsgen"], "dev", "A", "3", "/r", push=False, open_pr=False)
    assert plain == ["gitopsgen", "set", "dev", "model.versions.A=3", "--root", "/r"]
    with pytest.raises(retraining.PipelineError, match="alias 'C' is not one of A, B"):
        retraining.pin_command(["gitopsgen"], "dev", "C", "3", "/r", push=True, open_pr=False)
    with pytest.raises(retraining.PipelineError, match="'3\\\\n' is not a model version"):
        retraining.pin_command(["gitopsgen"], "dev", "A", "3\n", "/r", push=True, open_pr=False)
    with pytest.raises(retraining.PipelineError, match="gitopsgen_command is empty"):
        retraining.pin_command([], "dev", "A", "3", "/r", push=True, open_pr=False)


def test_a_refused_pin_fails_the_step_with_gitopsgens_own_message(tmp_path: Path) -> None:
    refuse = "import sys; print('environments.prod.model.versions: unknown field [GG003]', file=sys.stderr); sys.exit(1)"
    with pytest.raises(retraining.PipelineError, match=r"(?s)exited 1:\n.*\[GG003\]"):
        retraining.run_pin([sys.executable, "-c", refuse], str(tmp_path))
    with pytest.raises(retraining.PipelineError, match="could not run /no/such/gitopsgen"):
        retraining.run_pin(["/no/such/gitopsgen", "set"], str(tmp_path))
    said = retraining.run_pin([sys.executable, "-c", "print('created branch x')"], str(tmp_path))
    assert said == "created branch x"


def test_a_model_below_the_accuracy_bar_is_never_registered(mlflow_registry: Registry) -> None:
    from mlflow import MlflowClient

    with pytest.raises(retraining.PipelineError, match="is below min_accuracy 1.01"):
        retraining.train_and_log(mlflow_registry.url, "retraining-bar", 1.01)
    client = MlflowClient(tracking_uri=mlflow_registry.url, registry_uri=mlflow_registry.url)
    experiment = client.get_experiment_by_name("retraining-bar")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FAILED"
    assert runs[0].data.metrics["accuracy"] <= 1.0  # measured and kept, for whoever looks


def test_a_registered_version_is_waited_for_until_ready(mlflow_registry: Registry) -> None:
    trained = retraining.train_and_log(mlflow_registry.url, "retraining-steps", 0.5)
    version = retraining.register(mlflow_registry.url, trained.model_uri, "steps_model")
    assert version == "1"
    retraining.wait_until_ready(mlflow_registry.url, "steps_model", version, timeout_seconds=60)
