"""Impossible values from Prometheus (issue 26, item 6): the recorded good answers, each with one
value replaced by one no real series gives (NaN, +-Inf, a negative, a share over 1, an endless
sample count), replayed over HTTP on 127.0.0.1. None of them is Successful, and `canary` takes
no step on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.generator.test_canary import committed, isolated_git
from tests.generator.test_verify import Replay, replay, repo_for, verdicts, verify_json
from tests.support import Invoke
from tests.verify_support import git

__all__ = ["isolated_git", "replay"]  # fixtures, used by name

ERROR_RATE = "errorRate"
CASES = {
    # (check, which of its queries: value or samples, the value answered) -> verdict of the check
    "a negative error rate": (ERROR_RATE, "value", "-5"),
    "an error rate over 100%": (ERROR_RATE, "value", "1.5"),
    "an error rate of +Inf": (ERROR_RATE, "value", "+Inf"),
    "a p99 of -1": ("p99", "value", "-1"),
    "a p99 of -Inf": ("p99", "value", "-Inf"),
    "a negative latency ratio": ("latencyRatio", "value", "-0.5"),
    "a shadow agreement of -Inf": ("shadowAgreement", "value", "-Inf"),
    "a sample count of +Inf": (ERROR_RATE, "samples", "+Inf"),
    "a sample count of -Inf": ("p99", "samples", "-Inf"),
    "a negative sample count": ("p99", "samples", "-300"),
}
QUERY_OF = {
    ERROR_RATE: 'status=~"5.."',
    "p99": "histogram_quantile",
    "latencyRatio": ") / histogram_quantile",
    "shadowAgreement": 'agreement="true"',
}


def tamper(replay: Replay, check: str, which: str, value: str) -> None:
    """One recorded answer of the check (its value, or its first sample query) says `value`."""
    replay.load("good")
    queries = list(replay.answers)
    if which == "value":
        marker = QUERY_OF[check]
        matches = [q for q in queries if marker in q and not q.startswith("sum(increase")]
        if check == "p99":
            matches = [q for q in matches if ") / histogram_quantile" not in q]
    else:
        sample_metric = "model_requests_total" if check == ERROR_RATE else "_count"
        matches = [q for q in queries if q.startswith("sum(increase") and sample_metric in q]
    answer: dict[str, Any] = replay.answers[matches[0]]
    answer["data"]["result"][0]["value"][1] = value


@pytest.mark.parametrize("case", CASES)
def test_an_impossible_value_is_inconclusive_naming_the_query(
    replay: Replay, run_cli: Invoke, tmp_path: Path, case: str
) -> None:
    check, which, value = CASES[case]
    tamper(replay, check, which, value)
    root = repo_for(tmp_path, "good", replay.url)
    report = verify_json(run_cli, root, 3)
    assert report["verdict"] == "Inconclusive"
    assert verdicts(report)[check] == "inconclusive"
    (result,) = [c for c in report["checks"] if c["name"] == check]
    assert result["reason"].startswith("an impossible")
    named = result["query"] if which == "value" else result["sampleQueries"][0]
    assert named in result["reason"]
    text = run_cli("verify", "prod", "--root", root, expect=3).stdout
    assert "Verdict: Inconclusive" in text and "an impossible" in text


def test_nan_is_no_data_and_a_p99_of_inf_fails(
    replay: Replay, run_cli: Invoke, tmp_path: Path
) -> None:
    """NaN is what Prometheus answers for 0/0 (no requests): no data. A p99 of +Inf is real (the
    quantile fell in the +Inf bucket) and beyond every threshold."""
    tamper(replay, "p99", "value", "NaN")
    root = repo_for(tmp_path, "good", replay.url)
    report = verify_json(run_cli, root, 3)
    (p99,) = [c for c in report["checks"] if c["name"] == "p99"]
    assert (p99["verdict"], p99["reason"]) == ("inconclusive", "no data in the window")
    tamper(replay, "p99", "value", "+Inf")
    report = verify_json(run_cli, root, 1)
    assert verdicts(report)["p99"] == "failed" and report["verdict"] == "Failed"


@pytest.mark.parametrize(
    "case", ["a negative error rate", "a p99 of -Inf", "a sample count of +Inf"]
)
def test_canary_takes_no_step_on_an_impossible_value(
    replay: Replay, run_cli: Invoke, tmp_path: Path, case: str
) -> None:
    tamper(replay, *CASES[case])
    root = committed(repo_for(tmp_path, "good", replay.url))
    head = git(root, "rev-parse", "HEAD")
    result = run_cli("canary", "prod", "--root", root, expect=1)
    assert "verify prod is Inconclusive, not Successful" in result.stderr
    assert git(root, "branch", "--list").split() == ["*", "main"]
    assert git(root, "rev-parse", "HEAD") == head
    assert "Traceback" not in result.output
