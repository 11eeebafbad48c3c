"""Shadow traffic's two knobs: which requests are shadowed (SHADOW_PERCENT) and when two
predictions agree (SHADOW_TOLERANCE)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


class Sampler:
    """Picks `percent` of calls, evenly spaced and deterministic: the n-th call is picked when
    floor(n * percent / 100) steps up, so 10% is every tenth call and 100% is every call."""

    def __init__(self, percent: int) -> None:
        self.percent = percent
        self.calls = 0

    def pick(self) -> bool:
        before = self.calls * self.percent // 100
        self.calls += 1
        return self.calls * self.percent // 100 > before


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def agree(served: Any, shadow: Any, tolerance: float) -> bool:
    """Equal predictions; numbers agree within a relative `tolerance` (0: exactly, as labels must).
    Lists (rows, or a row's outputs) agree when every item does."""
    if isinstance(served, Sequence) and not isinstance(served, str):
        if not isinstance(shadow, Sequence) or isinstance(shadow, str):
            return False
        return len(served) == len(shadow) and all(
            agree(a, b, tolerance) for a, b in zip(served, shadow, strict=True)
        )
    a, b = _number(served), _number(shadow)
    if tolerance > 0 and a is not None and b is not None:
        return math.isclose(a, b, rel_tol=tolerance)
    if isinstance(served, bool) != isinstance(shadow, bool):
        return False  # True is a label, not the number 1
    return bool(served == shadow)
