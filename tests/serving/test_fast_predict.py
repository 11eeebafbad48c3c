"""The fast predict paths (app.fastpredict) answer exactly what `pyfunc.predict` answers, on each
kind of model the app serves: the iris LogisticRegression and DecisionTree of
tools/local_mlflow.py from a real registry, and a custom pyfunc model (which keeps pyfunc)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serving.conftest import Registry

pytest.importorskip("mlflow", reason="the serving extra is not installed")

import mlflow.pyfunc  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from app.fastpredict import fast_sklearn_predict  # noqa: E402
from app.inputs import FLOAT32_MAX  # noqa: E402
from app.main import tune_for_serving  # noqa: E402
from app.models import ModelStore  # noqa: E402
from tools.local_mlflow import register_python_model, train_iris_model  # noqa: E402


class RowSums(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    # no type hints: MLflow would read them as a signature
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]  # noqa: ARG002
        return model_input.sum(axis=1).to_numpy()


def rows_to_compare(width: int) -> list[np.ndarray[Any, Any]]:
    """Iris itself, then rows at many scales, up to the float32 edge our input check allows."""
    from sklearn.datasets import load_iris

    rng = np.random.default_rng(7)
    batches = [load_iris().data[:, :width].astype(np.float64)]
    for scale in (1e-30, 1e-3, 1.0, 3.0, 100.0, 1e6, 1e30, FLOAT32_MAX / 10):
        batches.append(rng.normal(size=(200, width)) * scale)
    batches.append(np.full((3, width), FLOAT32_MAX))
    batches.append(np.zeros((1, width)))
    batches.append(rng.integers(-10, 10, size=(50, width)).astype(np.float64))
    return [np.ascontiguousarray(b) for b in batches]


@pytest.mark.parametrize(("alias", "path"), [("A", "linear_classifier"), ("B", "decision_tree")])
def test_sklearn_fast_path_equals_pyfunc_predict(
    mlflow_registry: Registry, alias: str, path: str
) -> None:
    store = ModelStore(mlflow_registry.url, "best_model")
    loaded = store.load_blocking(alias)
    tune_for_serving()  # as the app runs: scikit-learn's finiteness checks off
    assert loaded.predict_path == path  # the fast path is the one in use
    reference = mlflow.pyfunc.load_model(f"models:/best_model/{loaded.version}")
    for rows in rows_to_compare(4):
        expected = np.asarray(reference.predict(rows)).tolist()
        assert loaded.predict(rows, None) == expected
        for one in rows[:20]:  # one-row requests, the common case
            assert (
                loaded.predict(one.reshape(1, -1), None)
                == np.asarray(reference.predict(one.reshape(1, -1))).tolist()
            )


def test_custom_pyfunc_keeps_pyfunc(mlflow_registry: Registry) -> None:
    register_python_model(mlflow_registry.url, RowSums(), "A", "fast_path_custom")
    loaded = ModelStore(mlflow_registry.url, "fast_path_custom").load_blocking("A")
    assert loaded.predict_path == "pyfunc"
    reference = mlflow.pyfunc.load_model(f"models:/fast_path_custom/{loaded.version}")
    for rows in rows_to_compare(3):
        assert (
            loaded.predict(rows, None) == np.asarray(reference.predict(pd.DataFrame(rows))).tolist()
        )


@pytest.mark.parametrize("kind", ["logreg", "logreg-weak", "tree"])
def test_fast_path_equals_the_estimators_own_predict(kind: str) -> None:
    model, features = train_iris_model(kind)
    fast = fast_sklearn_predict(model)
    assert fast is not None
    for rows in [features, *rows_to_compare(4)]:
        assert np.array_equal(fast(rows), model.predict(rows))


def test_an_estimator_it_does_not_know_gets_no_fast_path() -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    data = load_iris()

    class Shifted(LogisticRegression):  # type: ignore[misc]  # overrides predict: not the arithmetic we mirror
        def predict(self, X):  # type: ignore[no-untyped-def]  # noqa: N803
            return super().predict(X) + 1

    for model in (KNeighborsClassifier(), Shifted(max_iter=500)):
        model.fit(data.data, data.target)
        assert fast_sklearn_predict(model) is None
