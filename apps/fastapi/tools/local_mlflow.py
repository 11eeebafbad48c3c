"""Start a real MLflow tracking server (sqlite, 127.0.0.1) and register small iris models.

Used by `make serve`, the tests and the benchmarks, so all three exercise the same real parts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tools.processes import LocalServer
from tools.processes import free_port as free_port  # the one the tests and benches import

MODEL_NAME = "best_model"
APP_DIR = Path(__file__).resolve().parents[1]


def app_command(port: int, *extra: str) -> list[str]:
    """uvicorn serving the app on 127.0.0.1:`port`, as the Dockerfile's CMD does on 0.0.0.0."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:app",
        "--app-dir",
        str(APP_DIR),
        "--http",
        "app.server:HttpProtocol",  # the request head bound, as in the image
        "--no-access-log",  # as in the image: the app's request log covers it
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *extra,
    ]


class MlflowServer(LocalServer):
    """`mlflow server` on 127.0.0.1."""


def start_server(workdir: Path, port: int | None = None, timeout: float = 180.0) -> MlflowServer:
    """`mlflow server` on 127.0.0.1 with a sqlite store; returns once /health answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with (workdir / "mlflow-server.log").open("ab") as log:  # the child keeps its own handle
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--backend-store-uri",
                f"sqlite:///{workdir / 'mlflow.db'}",
                "--artifacts-destination",
                str(workdir / "artifacts"),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    server = MlflowServer(process, url, workdir)
    server.wait_until_ok("/health", workdir / "mlflow-server.log", timeout)
    return server


def train_iris_model(kind: str) -> tuple[Any, Any]:
    """(model, X): a small scikit-learn classifier trained on the iris data scikit-learn ships."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    data = load_iris()
    features = data.data.astype("float64")
    if kind == "tree":
        model: Any = DecisionTreeClassifier(max_depth=3, random_state=0)
    else:
        model = LogisticRegression(max_iter=500, C={"logreg": 1.0, "logreg-weak": 0.01}[kind])
    model.fit(features, data.target)
    return model, features


def register_model(tracking_uri: str, kind: str, alias: str | None, name: str = MODEL_NAME) -> str:
    """Log a model, register it as a new version of `name`, point `alias` at it; the version."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    model, features = train_iris_model(kind)
    signature = infer_signature(features[:5], model.predict(features[:5]))
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            registered_model_name=name,
            skops_trusted_types=["sklearn.tree._tree.Tree"] if kind == "tree" else None,
        )
    version = str(info.registered_model_version)
    if alias:
        set_alias(tracking_uri, alias, version, name)
    return version


def set_alias(tracking_uri: str, alias: str, version: str, name: str = MODEL_NAME) -> None:
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri).set_registered_model_alias(
        name, alias, version
    )


def delete_alias(tracking_uri: str, alias: str, name: str = MODEL_NAME) -> None:
    from mlflow import MlflowClient

    MlflowClient(
        tracking_uri=tracking_uri, registry_uri=tracking_uri
    ).delete_registered_model_alias(name, alias)


def seed_registry(tracking_uri: str) -> dict[str, str]:
    """best_model v1 (logistic regression) as A and v2 (decision tree) as B."""
    return {
        "A": register_model(tracking_uri, "logreg", "A"),
        "B": register_model(tracking_uri, "tree", "B"),
    }


def register_python_model(tracking_uri: str, python_model: Any, alias: str, name: str) -> str:
    """Register a custom `mlflow.pyfunc.PythonModel` (no signature) and point `alias` at it."""
    import mlflow
    import mlflow.pyfunc

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model", python_model=python_model, registered_model_name=name
        )
    version = str(info.registered_model_version)
    set_alias(tracking_uri, alias, version, name)
    return version
