"""Per-estimator predict for scikit-learn models, without the checks our input already passed.

A request reaches `predict` as a C-contiguous float64 array of the model's width whose values are
finite and within float32 (`app.inputs`). scikit-learn's `predict` checks all of that again on
every call (`validate_data`: about 100 µs of a one-row prediction, against 2 µs of arithmetic
for a linear model). For estimators whose `predict` we know, this does the same arithmetic
directly; anything else keeps `raw.predict`.

- A linear classifier (`LinearClassifierMixin`: LogisticRegression, RidgeClassifier, SGD...):
  `X @ coef_.T + intercept_`, then `scores > 0` (two classes) or the arg-max, taken from
  `classes_`: the very operations of `decision_function` and `predict` after `validate_data`,
  which leaves a float64 array as it is.
- A decision tree: its own `predict` with `check_input=False`, given float32 as `validate_data`
  would have made it (values within float32 convert exactly as they would there).

Every fast function is also checked against `raw.predict` when the model loads, on rows drawn
at several scales; a difference, or an error, keeps `raw.predict` for that model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]
PROBE_ROWS = 64
PROBE_SCALES = (0.1, 1.0, 10.0, 1000.0)


def _linear(raw: Any) -> Callable[[Array], Array] | None:
    from sklearn.linear_model._base import LinearClassifierMixin

    cls = type(raw)
    if (
        not isinstance(raw, LinearClassifierMixin)
        or cls.predict is not LinearClassifierMixin.predict
        or cls.decision_function is not LinearClassifierMixin.decision_function
        or not isinstance(
            raw.coef_, np.ndarray
        )  # a sparse coef_ (after sparsify()) goes by sklearn
    ):
        return None
    coef_t = raw.coef_.T if raw.coef_.ndim == 2 else raw.coef_
    intercept = raw.intercept_
    classes = raw.classes_

    def linear_classifier(rows: Array) -> Array:
        scores = rows @ coef_t + intercept
        if scores.ndim > 1 and scores.shape[1] == 1:
            indices = (scores.reshape(-1) > 0).astype(np.intp)
        else:
            indices = np.argmax(scores, axis=1)
        return np.asarray(classes.take(indices, axis=0))

    return linear_classifier


def _tree(raw: Any) -> Callable[[Array], Array] | None:
    from sklearn.tree import BaseDecisionTree

    cls = type(raw)
    if not isinstance(raw, BaseDecisionTree) or cls.predict is not BaseDecisionTree.predict:
        return None
    predict = raw.predict

    def decision_tree(rows: Array) -> Array:
        return np.asarray(predict(np.ascontiguousarray(rows, dtype=np.float32), check_input=False))

    return decision_tree


def _equal_on_probes(fast: Callable[[Array], Array], raw: Any, width: int) -> bool:
    rng = np.random.default_rng(0)
    for scale in PROBE_SCALES:
        rows = np.ascontiguousarray(rng.normal(size=(PROBE_ROWS, width)) * scale)
        try:
            if not np.array_equal(np.asarray(fast(rows)), np.asarray(raw.predict(rows))):
                return False
        except Exception:
            return False
    return True


def fast_sklearn_predict(raw: Any) -> Callable[[Array], Array] | None:
    """A predict for `raw` equal to `raw.predict` on arrays our input check lets through, or
    None when the estimator is not one we know (or the probe rows tell them apart)."""
    width = getattr(raw, "n_features_in_", None)
    if not isinstance(width, int) or width < 1:
        return None
    for build in (_linear, _tree):
        try:
            fast = build(raw)
        except (AttributeError, ImportError):
            fast = None
        if fast is not None:
            return fast if _equal_on_probes(fast, raw, width) else None
    return None
