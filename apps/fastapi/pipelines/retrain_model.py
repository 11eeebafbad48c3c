"""Retraining of the served model, as an Airflow 3 DAG (`retrain_model`):

    train -> register -> wait_until_ready -> pin          (environments pinned in Git: a PR)
                                          -> move_alias -> reload   (environments following it)

Configured per run by its Params (a run's conf overrides them), their defaults read from the
environment of the DAG processor: MLFLOW_TRACKING_URI, MODEL_NAME, RETRAIN_ALIAS,
RETRAIN_PIN_ENVIRONMENTS and RETRAIN_RELOAD_URLS (comma-separated), GITOPSGEN_COMMAND (the
executable, split like a shell would: `gitopsgen`, or `python -m gitopsgen`), GITOPS_REPO_DIR
(a checkout of the GitOps repository whose `origin` gitopsgen pushes to) and GITOPSGEN_OPEN_PR
(`true`: also open the pull request with the GitHub CLI). The reload token is the Airflow
Variable `serving_reload_token` (a secrets backend, or AIRFLOW_VAR_SERVING_RELOAD_TOKEN), never
a Param: Params are shown in the UI and stored with the run.

The steps live in retraining.py beside this file (the DAG folder is on sys.path)."""

from __future__ import annotations

import os
import shlex
from typing import Any

import retraining
from airflow.sdk import Param, Variable, dag, task


def _listed(variable: str) -> list[str]:
    return [item.strip() for item in os.environ.get(variable, "").split(",") if item.strip()]


STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}
PARAMS = {
    "tracking_uri": Param(
        os.environ.get("MLFLOW_TRACKING_URI", "http://mlflow:5000"), type="string"
    ),
    "model_name": Param(os.environ.get("MODEL_NAME", "best_model"), type="string", minLength=1),
    "experiment": Param("retraining", type="string", minLength=1),
    "min_accuracy": Param(0.8, type="number", minimum=0, maximum=1),
    "alias": Param(os.environ.get("RETRAIN_ALIAS", "B"), enum=list(retraining.ALIASES)),
    "move_registry_alias": Param(True, type="boolean"),
    "ready_timeout_seconds": Param(300, type="integer", minimum=1),
    "pin_environments": Param(_listed("RETRAIN_PIN_ENVIRONMENTS"), **STRINGS),
    "reload_urls": Param(_listed("RETRAIN_RELOAD_URLS"), **STRINGS),
    "gitopsgen_command": Param(
        shlex.split(os.environ.get("GITOPSGEN_COMMAND", "gitopsgen")), **STRINGS, minItems=1
    ),
    "gitops_repo": Param(os.environ.get("GITOPS_REPO_DIR", ""), type="string"),
    "push": Param(True, type="boolean"),
    "open_pr": Param(os.environ.get("GITOPSGEN_OPEN_PR", "") == "true", type="boolean"),
}


@dag(
    dag_id="retrain_model",
    schedule=None,
    catchup=False,
    params=PARAMS,
    tags=["mlops", "model-serving"],
    doc_md=__doc__,
)
def retrain_model() -> None:
    @task
    def train(params: dict[str, Any] | None = None) -> dict[str, Any]:
        p = params or {}
        trained = retraining.train_and_log(p["tracking_uri"], p["experiment"], p["min_accuracy"])
        return {"run_id": trained.run_id, "model_uri": trained.model_uri}

    @task
    def register(trained: dict[str, Any], params: dict[str, Any] | None = None) -> str:
        p = params or {}
        return retraining.register(p["tracking_uri"], trained["model_uri"], p["model_name"])

    @task
    def wait_until_ready(version: str, params: dict[str, Any] | None = None) -> str:
        p = params or {}
        retraining.wait_until_ready(
            p["tracking_uri"], p["model_name"], version, p["ready_timeout_seconds"]
        )
        return version

    @task
    def pin(version: str, params: dict[str, Any] | None = None) -> list[str]:
        """One branch (and PR) per environment pinned in Git."""
        p = params or {}
        environments: list[str] = p["pin_environments"]
        if environments and not p["gitops_repo"]:
            raise retraining.PipelineError("pin_environments is set but gitops_repo is not")
        outputs = []
        for environment in environments:
            command = retraining.pin_command(
                p["gitopsgen_command"],
                environment,
                p["alias"],
                version,
                p["gitops_repo"],
                p["push"],
                p["open_pr"],
            )
            outputs.append(retraining.run_pin(command, p["gitops_repo"]))
        return outputs

    @task
    def move_alias(version: str, params: dict[str, Any] | None = None) -> str:
        p = params or {}
        if p["move_registry_alias"]:
            retraining.move_alias(p["tracking_uri"], p["model_name"], p["alias"], version)
        return version

    @task
    def reload(version: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Environments that follow the registry's alias load the new version now."""
        p = params or {}
        if not p["move_registry_alias"]:
            return []  # the alias did not move: a reload would load what it already serves
        token = str(Variable.get("serving_reload_token", default="") or "")
        return [retraining.reload_app(url, p["alias"], token, version) for url in p["reload_urls"]]

    ready = wait_until_ready(register(train()))
    pin(ready)
    reload(move_alias(ready))


retrain_model()
