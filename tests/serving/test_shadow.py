"""Shadow traffic's knobs: the sample rate picks exactly that share, evenly; agreement is exact
for labels and within a relative tolerance for numbers."""

from __future__ import annotations

import pytest
from app.config import SettingsError, load_settings
from app.shadow import Sampler, agree

BASE = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000", "MODEL_NAME": "m"}


@pytest.mark.parametrize(
    ("percent", "calls", "picked"),
    [(100, 50, 50), (10, 100, 10), (0, 40, 0), (25, 8, 2), (33, 300, 99)],
)
def test_sampler_picks_the_share_asked_for(percent: int, calls: int, picked: int) -> None:
    sampler = Sampler(percent)
    assert sum(sampler.pick() for _ in range(calls)) == picked


def test_ten_percent_is_every_tenth_call() -> None:
    sampler = Sampler(10)
    assert [i for i in range(40) if sampler.pick()] == [9, 19, 29, 39]


@pytest.mark.parametrize(
    ("served", "shadow", "tolerance", "agreed"),
    [
        ([1, 0, 2], [1, 0, 2], 0.0, True),
        ([1, 0, 2], [1, 1, 2], 0.0, False),
        (["setosa"], ["setosa"], 0.5, True),
        (["setosa"], ["virginica"], 0.5, False),
        ([10.0], [10.05], 0.0, False),  # exact by default
        ([10.0], [10.05], 0.01, True),  # a regressor within 1%
        ([10.0], [10.2], 0.01, False),
        ([[1.0, 2.0]], [[1.001, 2.0]], 0.01, True),  # several outputs per row
        ([1.0, 2.0], [1.0], 0.5, False),  # different lengths never agree
        ([True], [1], 0.5, False),  # a bool is a label, not the number 1
    ],
)
def test_agreement(
    served: list[object], shadow: list[object], tolerance: float, agreed: bool
) -> None:
    assert agree(served, shadow, tolerance) is agreed


def test_settings_read_both_knobs() -> None:
    settings = load_settings({**BASE, "SHADOW_PERCENT": "10", "SHADOW_TOLERANCE": "0.02"})
    assert (settings.shadow_percent, settings.shadow_tolerance) == (10, 0.02)
    unset = load_settings(BASE)
    assert (unset.shadow_percent, unset.shadow_tolerance) == (100, 0.0)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        (
            "SHADOW_PERCENT",
            "150",
            "SHADOW_PERCENT='150': Input should be less than or equal to 100",
        ),
        (
            "SHADOW_TOLERANCE",
            "-1",
            "SHADOW_TOLERANCE='-1': Input should be greater than or equal to 0",
        ),
    ],
)
def test_a_bad_knob_names_its_variable(name: str, value: str, words: str) -> None:
    with pytest.raises(SettingsError, match=words):
        load_settings({**BASE, name: value})
