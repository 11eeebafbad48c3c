"""The steps of the retraining pipeline, without Airflow: train, register, wait until READY, pin
through gitopsgen, reload unpinned apps. `retrain_model.py` (the DAG) wires them as tasks; each
is a plain function, so it runs (and is tested) outside Airflow too.

Git is the record of what serves: an environment that pins model versions gets a pull request
(`gitopsgen set <env> model.versions.<alias>=<version> --push`), never a reload; an environment
that follows the registry's alias is told to reload once the alias points to the new version.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

ALIASES = ("A", "B")
# What one gitopsgen run may take: it renders, validates (real Helm) and pushes.
PIN_TIMEOUT_SECONDS = 600
# A reload answers once the new model is loaded; a large one takes a while to download.
RELOAD_TIMEOUT_SECONDS = 300
MAX_ANSWER_BYTES = 64 * 1024


class PipelineError(RuntimeError):
    """A step cannot go on; the message says which and why (never a token)."""


def _client(tracking_uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _experiment_id(tracking_uri: str, name: str) -> str:
    """The experiment's id, created when missing; not made the process's active experiment."""
    client = _client(tracking_uri)
    found = client.get_experiment_by_name(name)
    return str(found.experiment_id if found else client.create_experiment(name))


@dataclass(frozen=True)
class Trained:
    run_id: str
    model_uri: str
    accuracy: float


def train_and_log(tracking_uri: str, experiment: str, min_accuracy: float) -> Trained:
    """Train a scikit-learn classifier on the iris data scikit-learn ships, log it to MLflow
    with its signature and held-out accuracy; refuse a model below `min_accuracy`."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    data = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data.astype("float64"),
        data.target,
        test_size=0.3,
        random_state=0,
        stratify=data.target,
    )
    model = LogisticRegression(max_iter=500).fit(x_train, y_train)
    accuracy = float(model.score(x_test, y_test))
    mlflow.set_tracking_uri(tracking_uri)
    with mlflow.start_run(experiment_id=_experiment_id(tracking_uri, experiment)) as run:
        mlflow.log_metric("accuracy", accuracy)
        if accuracy < min_accuracy:
            raise PipelineError(f"accuracy {accuracy:.3f} is below min_accuracy {min_accuracy}")
        info = mlflow.sklearn.log_model(
            model, name="model", signature=infer_signature(x_test, model.predict(x_test))
        )
    log.info("trained run %s: accuracy %.3f", run.info.run_id, accuracy)
    return Trained(run.info.run_id, str(info.model_uri), accuracy)


def register(tracking_uri: str, model_uri: str, name: str) -> str:
    """A new version of the registered model `name` (created when missing); its number. Not
    waited for here: `wait_until_ready` is the step that does, with its own bound."""
    import mlflow

    mlflow.set_registry_uri(tracking_uri)
    version = mlflow.register_model(model_uri, name, await_registration_for=0)
    log.info("registered %s version %s", name, version.version)
    return str(version.version)


def wait_until_ready(
    tracking_uri: str,
    name: str,
    version: str,
    timeout_seconds: float,
    interval_seconds: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Return once the version is READY; fail at FAILED_REGISTRATION or after the timeout."""
    client = _client(tracking_uri)
    deadline = clock() + timeout_seconds
    while True:
        found = client.get_model_version(name, version)
        status = str(found.status)
        if status == "READY":
            log.info("%s version %s is READY", name, version)
            return
        if status == "FAILED_REGISTRATION":
            raise PipelineError(
                f"{name} version {version} failed to register: {found.status_message or '?'}"
            )
        if clock() >= deadline:
            raise PipelineError(
                f"{name} version {version} is still {status} after {timeout_seconds:.0f} s"
            )
        time.sleep(interval_seconds)


def move_alias(tracking_uri: str, name: str, alias: str, version: str) -> None:
    """Point the registry's alias at the new version: environments that follow the alias load
    it on reload; pinned ones see it as drift until their pinning pull request is merged."""
    _client(tracking_uri).set_registered_model_alias(name, alias, version)
    log.info("%s@%s -> version %s", name, alias, version)


def check_alias(alias: str) -> str:
    if alias not in ALIASES:
        raise PipelineError(f"alias {alias!r} is not one of {', '.join(ALIASES)}")
    return alias


def pin_command(
    gitopsgen: Sequence[str],
    environment: str,
    alias: str,
    version: str,
    repo_dir: str,
    push: bool,
    open_pr: bool,
) -> list[str]:
    """The gitopsgen invocation that pins `version` for `alias` in one environment."""
    if not gitopsgen:
        raise PipelineError("gitopsgen_command is empty: give the gitopsgen executable")
    if not (version.isascii() and version.isdigit()):
        raise PipelineError(f"{version!r} is not a model version")
    command = [*gitopsgen, "set", environment, f"model.versions.{check_alias(alias)}={version}"]
    command += ["--push"] if push else []
    command += ["--open-pr"] if open_pr else []
    return [*command, "--root", repo_dir]


def run_pin(command: Sequence[str], repo_dir: str) -> str:
    """Run one pinning command in the GitOps checkout; its output (the pull request's body and
    the branch it created), or PipelineError with its exit code and the end of its output."""
    try:
        done = subprocess.run(
            list(command),
            cwd=repo_dir,
            capture_output=True,
            text=True,
            timeout=PIN_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PipelineError(f"could not run {command[0]}: {exc}") from None
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        tail = "\n".join(output.splitlines()[-15:])
        raise PipelineError(f"{' '.join(command[:4])} exited {done.returncode}:\n{tail}")
    log.info("%s", output)
    return output


def reload_app(base_url: str, alias: str, token: str, expected_version: str) -> dict[str, Any]:
    """POST <base_url>/variant/<alias>/reload with the token; the app's answer. Fails when the
    app is pinned (it needs a pull request, not a reload) or loaded another version."""
    if not token:
        raise PipelineError("no reload token: set the Airflow Variable serving_reload_token")
    url = f"{base_url.rstrip('/')}/variant/{check_alias(alias)}/reload"
    request = urllib.request.Request(url, method="POST", headers={"x-token": token})
    try:
        with urllib.request.urlopen(request, timeout=RELOAD_TIMEOUT_SECONDS) as response:
            answer = json.loads(response.read(MAX_ANSWER_BYTES))
    except urllib.error.HTTPError as exc:
        detail = exc.read(MAX_ANSWER_BYTES).decode("utf-8", "replace")
        raise PipelineError(f"{url} answered {exc.code}: {detail[:500]}") from None
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{url} did not answer: {exc}") from None
    if answer.get("pinned"):
        raise PipelineError(
            f"{base_url} pins {alias} to version {answer.get('version')}: list its environment "
            "in pin_environments (a pull request), not in reload_urls"
        )
    if str(answer.get("version")) != expected_version:
        raise PipelineError(
            f"{base_url} serves {alias} version {answer.get('version')} after the reload, "
            f"not {expected_version}: the registry's alias moved again meanwhile"
        )
    log.info(
        "%s reloaded %s: %s -> %s",
        base_url,
        alias,
        answer.get("previous_version"),
        expected_version,
    )
    return dict(answer)
