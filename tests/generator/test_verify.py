"""`gitopsgen verify` judged on answers recorded from a real Prometheus (see
tests/serving/test_verify_prometheus.py, which records them), replayed over HTTP on 127.0.0.1 so
the real client parses them: each threshold passes and fails, few samples are Inconclusive,
error answers and unreachable servers are exit 2 with the URL."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.docs_support import example
from tests.support import REPO, Invoke, local_http_server
from tests.verify_support import set_prod

RECORDINGS = REPO / "tests/generator/recordings/prometheus"
SERVING = "{mode: canary, defaultAlias: A, canaryPercent: 50, shadowAlias: B}"


class Replay:
    """A Prometheus stand-in answering recorded queries; anything else gets Prometheus's own
    400 bad_data answer. `override` replaces the whole answer (status, content type, body)."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self.override: tuple[int, str, bytes] | None = None
        self.asked: list[str] = []
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                promql = query.get("query", [""])[0]
                replay.asked.append(promql)
                status, kind, body = replay.override or replay.answer(promql)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                return

        self.handler = Handler
        self.url = ""

    def answer(self, promql: str) -> tuple[int, str, bytes]:
        if promql in self.answers:
            return 200, "application/json", json.dumps(self.answers[promql]).encode()
        error = {"status": "error", "errorType": "bad_data", "error": "not recorded"}
        return 400, "application/json", json.dumps(error).encode()

    def load(self, name: str) -> None:
        self.answers = json.loads((RECORDINGS / f"{name}.json").read_text())["answers"]


@pytest.fixture
def replay() -> Iterator[Replay]:
    replay = Replay()
    with local_http_server(replay.handler) as url:
        replay.url = url
        yield replay


def repo_for(root: Path, job: str, url: str, **thresholds: object) -> Path:
    """The frozen repository with prod in the recorded state; the spec's analysis points at
    `url` and the recorded job. Defaults are the integration test's."""
    fields = {"minSamples": 60, "maxP99Seconds": 2, "maxLatencyRatio": 20, **thresholds}
    extra = "".join(f", {k}: {v}" for k, v in fields.items())
    analysis = (
        f"{{prometheus: {{url: '{url}'}}, selector: 'job=\"verify-{job}\"', window: 5m{extra}}}"
    )
    from tests.support import frozen_repository

    frozen = frozen_repository(root)
    set_prod(frozen, SERVING, analysis)
    return frozen


def verify_json(run_cli: Invoke, root: Path, expect: int, *extra: str) -> dict[str, Any]:
    result = run_cli("verify", "prod", "--root", root, "--format", "json", *extra, expect=expect)
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def verdicts(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["verdict"] for c in report["checks"]}


@pytest.mark.parametrize(
    ("recording", "thresholds", "code", "expected"),
    [
        (
            "good",
            {},
            0,
            dict.fromkeys(("errorRate", "p99", "latencyRatio", "shadowAgreement"), "passed"),
        ),
        ("good", {"maxP99Seconds": 0.0005}, 1, {"p99": "failed", "latencyRatio": "passed"}),
        ("good", {"maxLatencyRatio": 0.9}, 1, {"latencyRatio": "failed", "p99": "passed"}),
        ("good", {"minShadowAgreement": 1.0}, 0, {"shadowAgreement": "passed"}),  # >= holds
        ("good", {"minSamples": 500}, 3, dict.fromkeys(("errorRate", "p99"), "inconclusive")),
        ("scarce", {}, 3, dict.fromkeys(("errorRate", "shadowAgreement"), "inconclusive")),
        ("disagree", {}, 1, {"shadowAgreement": "failed", "errorRate": "passed"}),
        ("disagree", {"minShadowAgreement": 0.3}, 0, {"shadowAgreement": "passed"}),
        ("broken", {}, 1, {"errorRate": "failed", "p99": "inconclusive"}),
        ("broken", {"maxErrorRate": 1}, 3, {"errorRate": "passed", "p99": "inconclusive"}),
    ],
)
def test_each_threshold_on_recorded_answers(
    replay: Replay,
    run_cli: Invoke,
    tmp_path: Path,
    recording: str,
    thresholds: dict[str, object],
    code: int,
    expected: dict[str, str],
) -> None:
    replay.load(recording)
    job = "good" if recording == "scarce" else recording
    root = repo_for(tmp_path, job, replay.url, **thresholds)
    report = verify_json(run_cli, root, code)
    assert report["verdict"] == {0: "Successful", 1: "Failed", 3: "Inconclusive"}[code]
    assert {k: verdicts(report)[k] for k in expected} == expected, report


def test_json_is_stable(replay: Replay, run_cli: Invoke, tmp_path: Path) -> None:
    replay.load("disagree")
    report = verify_json(run_cli, repo_for(tmp_path, "disagree", replay.url), 1)
    assert list(report) == [
        "schemaVersion", "environment", "verdict", "mode", "candidate", "live", "shadow",
        "measuredVia", "prometheus", "selector", "window", "minSamples", "checks",
    ]  # fmt: skip
    assert (report["candidate"], report["live"], report["shadow"]) == ("B", "A", "B")
    agreement = report["checks"][3]
    assert list(agreement) == [
        "name", "title", "value", "comparison", "threshold", "unit", "samples", "verdict",
        "reason", "query", "sampleQueries",
    ]  # fmt: skip
    assert (agreement["comparison"], agreement["threshold"], agreement["samples"]) == (
        ">=",
        0.95,
        201,
    )
    assert round(agreement["value"], 3) == 0.360
    assert agreement["query"] in replay.asked


def test_text_shows_a_row_per_check_and_the_promql(
    replay: Replay, run_cli: Invoke, tmp_path: Path
) -> None:
    replay.load("broken")
    result = run_cli("verify", "prod", "--root", repo_for(tmp_path, "broken", replay.url), expect=1)
    lines = result.stdout.splitlines()
    assert lines[2].split() == ["check", "value", "threshold", "samples", "verdict"]
    assert lines[3].split() == ["error", "rate", "100.00%", "<=", "1.00%", "156", "failed"]
    assert "p99 latency" in lines[4] and lines[4].endswith("inconclusive")
    assert 'model_requests_total{job="verify-broken",variant="B",status=~"5.."}' in result.stdout
    assert lines[-1] == "Verdict: Failed"


def test_github_format_annotates_each_check(
    replay: Replay, run_cli: Invoke, tmp_path: Path
) -> None:
    replay.load("broken")
    root = repo_for(tmp_path, "broken", replay.url)
    out = run_cli("verify", "prod", "--root", root, "--format", "github", expect=1).stdout
    assert "::error title=verify prod: error rate::failed: 100.00%25 (threshold <= 1.00%25" in out
    assert "::warning title=verify prod: p99 latency::inconclusive" in out
    assert "| error rate | 100.00% | <= 1.00% | 156 | failed |" in out


def test_a_window_prometheus_refuses_is_exit_2_naming_the_url(
    replay: Replay, run_cli: Invoke, tmp_path: Path
) -> None:
    replay.load("good")
    root = repo_for(tmp_path, "good", replay.url)
    result = run_cli("verify", "prod", "--root", root, "--window", "7m", expect=2)
    assert f"Prometheus at {replay.url} refused the query (bad_data: not recorded)" in result.stderr


@pytest.mark.parametrize(
    ("status", "kind", "body", "words"),
    [
        (502, "text/html", b"<html>bad gateway</html>", "answered HTTP 502, not a Prometheus API"),
        (200, "application/json", b"{not json", "did not answer with Prometheus API JSON"),
        (
            200,
            "application/json",
            json.dumps(
                {
                    "status": "success",
                    "data": {
                        "resultType": "vector",
                        "result": [
                            {"metric": {"pod": "a"}, "value": [1, "1"]},
                            {"metric": {"pod": "b"}, "value": [1, "2"]},
                        ],
                    },
                }
            ).encode(),
            "answered 2 series where one sum was expected",
        ),
    ],
)
def test_answers_that_are_not_prometheus_are_exit_2(
    replay: Replay, run_cli: Invoke, tmp_path: Path, status: int, kind: str, body: bytes, words: str
) -> None:
    replay.override = (status, kind, body)
    root = repo_for(tmp_path, "good", replay.url)
    assert words in run_cli("verify", "prod", "--root", root, expect=2).stderr


def test_no_prometheus_url_and_an_unreachable_one_are_exit_2(
    run_cli: Invoke, tmp_path: Path
) -> None:
    root = repo_for(tmp_path, "good", "http://127.0.0.1:9")
    text = root.joinpath("environments/environments.yaml").read_text()
    url = "http://user:secret@127.0.0.1:9"
    result = run_cli("verify", "prod", "--root", root, "--prometheus", url, expect=2)
    assert "cannot reach Prometheus at http://127.0.0.1:9" in result.stderr
    assert "secret" not in result.stderr + result.stdout
    root.joinpath("environments/environments.yaml").write_text(
        text.replace("prometheus: {url: 'http://127.0.0.1:9'}, ", "")
    )
    result = run_cli("verify", "prod", "--root", root, expect=2)
    assert "no Prometheus to ask: set analysis.prometheus.url" in result.stderr
    assert (
        "not a window"
        in run_cli("verify", "prod", "--root", root, "--window", "ten", expect=2).stderr
    )


def test_docs_table_is_what_verify_prints(replay: Replay, run_cli: Invoke, tmp_path: Path) -> None:
    replay.load("disagree")
    root = repo_for(tmp_path, "disagree", replay.url)
    printed = run_cli("verify", "prod", "--root", root, expect=1).stdout
    shown = example("verify-disagree")  # docs/verify-and-canary.md
    assert shown == printed.replace(replay.url, "http://127.0.0.1:9090")
