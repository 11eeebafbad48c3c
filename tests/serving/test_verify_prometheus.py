"""`gitopsgen verify` against a real Prometheus scraping the real serving app, which serves real
MLflow models: a good candidate passes, a disagreeing one fails on agreement, a broken one fails
on error rate and is rolled back through Git, too little traffic is Inconclusive, and an
unreachable or refusing Prometheus is exit 2.

Set GITOPSGEN_RECORD_PROMETHEUS=1 to refresh the recorded answers the generator's unit tests
replay (tests/generator/recordings/prometheus/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.serving.conftest import Registry
from tests.support import REPO, SPEC
from tests.verify_support import git, isolate_git, verify_repository

pytest.importorskip("mlflow", reason="the serving extra is not installed")

import httpx  # noqa: E402
import mlflow.pyfunc  # noqa: E402
from tools.local_mlflow import (  # noqa: E402
    app_command,
    free_port,
    register_model,
    register_python_model,
    set_alias,
)
from tools.local_prometheus import PrometheusServer, ensure_prometheus, start_prometheus  # noqa: E402

SCRIPT = Path(sys.executable).parent / "gitopsgen"
RECORDINGS = REPO / "tests/generator/recordings/prometheus"
SERVING = "{mode: canary, defaultAlias: A, canaryPercent: 50, shadowAlias: B}"
MIN_SAMPLES = 60
SCENARIOS = ("good", "disagree", "broken")


class Constant(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    """Predicts class 0 for every row: it disagrees with a real classifier on 2 rows in 3."""

    # no type hints: MLflow would read them as a signature
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]  # noqa: ARG002
        import numpy as np

        return np.zeros(len(model_input), dtype="int64")


class Broken(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    """A candidate whose every prediction raises, as a model with a bug would."""

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]  # noqa: ARG002
        raise RuntimeError("feature store unavailable")


@dataclass
class Stack:
    prometheus: PrometheusServer
    apps: dict[str, str]  # scenario -> app URL
    rows: list[list[float]]


def analysis(prometheus_url: str, job: str) -> str:
    # Latency thresholds are wide: both variants run on two shared cores, so their p99 is noise
    # here; the unit tests hold each threshold against recorded answers.
    return (
        f"{{prometheus: {{url: '{prometheus_url}'}}, selector: 'job=\"verify-{job}\"', "
        f"window: 5m, minSamples: {MIN_SAMPLES}, maxP99Seconds: 2, maxLatencyRatio: 20}}"
    )


def _register(url: str) -> dict[str, str]:
    """One registered model per scenario: A is a real classifier; B the candidate."""
    good_a = register_model(url, "logreg", "A", name="verify-good")
    set_alias(url, "B", good_a, name="verify-good")  # the same model: a good candidate
    register_model(url, "logreg", "A", name="verify-disagree")
    register_python_model(url, Constant(), "B", "verify-disagree")
    register_model(url, "logreg", "A", name="verify-broken")
    register_python_model(url, Broken(), "B", "verify-broken")
    return {name: f"verify-{name}" for name in SCENARIOS}


def _start_app(registry: Registry, model: str, port: int, logs: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": registry.url,
        "MODEL_NAME": model,
        "DEFAULT_ALIAS": "A",
        "ALIAS_SELECTION_MODE": "canary",
        "CANARY_PERCENT": "50",
        "SHADOW_ALIAS": "B",
        "LOG_DIR": str(logs),
        "ALIAS_POLL_INTERVAL_SECONDS": "0",
        "REQUEST_LOG": "false",
    }
    with (logs / f"{model}.log").open("wb") as log:  # the child keeps its own handle
        return subprocess.Popen(app_command(port), env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the app at {url} exited"
        try:
            if httpx.get(f"{url}/health", timeout=1).json().get("status") == "ok":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"the app at {url} did not load both aliases")


@pytest.fixture(scope="module")
def stack(mlflow_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary, reason = ensure_prometheus()
    if binary is None:
        pytest.skip(f"no Prometheus server: {reason}")
    from sklearn.datasets import load_iris

    models = _register(mlflow_registry.url)
    workdir = tmp_path_factory.mktemp("verify")
    ports = {name: free_port() for name in SCENARIOS}
    prometheus = start_prometheus(
        binary, workdir / "prometheus", {f"verify-{n}": p for n, p in ports.items()}
    )
    processes = {n: _start_app(mlflow_registry, models[n], ports[n], workdir) for n in SCENARIOS}
    try:
        apps = {n: f"http://127.0.0.1:{ports[n]}" for n in SCENARIOS}
        deadline = time.monotonic() + 120
        for name, url in apps.items():
            _wait_healthy(url, processes[name], deadline)
        rows = [[float(x) for x in row] for row in load_iris().data]
        yield Stack(prometheus, apps, rows)
    finally:
        for process in processes.values():
            process.terminate()
            process.wait(timeout=30)
        prometheus.stop()


def send(stack: Stack, scenario: str, count: int, prefix: str) -> Counter[str]:
    """`count` routed requests (bounded), each one iris row under its own client id; the
    answers' variants and statuses counted."""
    seen: Counter[str] = Counter()
    url = stack.apps[scenario]
    with httpx.Client(timeout=10) as client:
        for i in range(count):
            row = stack.rows[(i * 7) % len(stack.rows)]
            answer = client.post(
                f"{url}/predict", json={"data": [row]}, headers={"x-client-id": f"{prefix}-{i}"}
            )
            variant = answer.json().get("variant") if answer.status_code == 200 else "B"
            seen[f"{variant} {answer.status_code}"] += 1
    return seen


def wait_scraped(stack: Stack, scenario: str, sent: Counter[str], timeout: float = 30) -> None:
    """Poll Prometheus until it has scraped every request sent, and every shadow comparison."""
    job = f'job="verify-{scenario}"'
    total = sum(sent.values())
    shadowed = sum(n for key, n in sent.items() if key.startswith("A "))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        requests = stack.prometheus.value(f"sum(model_requests_total{{{job}}})")
        shadows = stack.prometheus.value(f"sum(model_shadow_requests_total{{{job}}})")
        if requests >= total and shadows >= shadowed:
            return
        time.sleep(0.5)
    raise AssertionError(f"Prometheus saw {requests}/{total} requests within {timeout}s")


@pytest.fixture(scope="module")
def traffic(stack: Stack) -> Callable[[str, int, str], Counter[str]]:
    totals: dict[str, Counter[str]] = {n: Counter() for n in SCENARIOS}

    def run(scenario: str, count: int, prefix: str) -> Counter[str]:
        totals[scenario] += send(stack, scenario, count, prefix)
        wait_scraped(stack, scenario, totals[scenario])
        return totals[scenario]

    return run


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in isolate_git({}, tmp_path).items():
        monkeypatch.setenv(key, value)


def gitopsgen(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], cwd=root, capture_output=True, text=True, check=False, timeout=120
    )


def repository(tmp_path: Path, stack: Stack, scenario: str) -> Path:
    return verify_repository(tmp_path / "repo", SERVING, analysis(stack.prometheus.url, scenario))


def verify_json(root: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = gitopsgen(root, "verify", "prod", "--format", "json", *extra)
    assert result.returncode in (0, 1, 3), result.stdout + result.stderr
    return result.returncode, json.loads(result.stdout)


def checks(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["verdict"] for c in report["checks"]}


def record(stack: Stack, name: str, report: dict[str, Any]) -> None:
    """Save what Prometheus answered to each query, for the unit tests to replay."""
    if not os.environ.get("GITOPSGEN_RECORD_PROMETHEUS"):
        return
    queries = [q for c in report["checks"] for q in (c["query"], *c["sampleQueries"])]
    answers = {q: stack.prometheus.query(q) for q in dict.fromkeys(queries)}
    RECORDINGS.mkdir(parents=True, exist_ok=True)
    recording = {"serving": SERVING, "selector": report["selector"], "answers": answers}
    (RECORDINGS / f"{name}.json").write_text(json.dumps(recording, indent=1) + "\n")


def test_too_little_traffic_is_inconclusive_then_a_good_candidate_passes(
    stack: Stack, traffic: Callable[[str, int, str], Counter[str]], tmp_path: Path
) -> None:
    root = repository(tmp_path, stack, "good")
    sent = traffic("good", 20, "warm")
    assert set(sent) == {"A 200", "B 200"}
    code, report = verify_json(root)
    assert (code, report["verdict"]) == (3, "Inconclusive"), report
    assert all(c["samples"] < MIN_SAMPLES for c in report["checks"]), report
    record(stack, "scarce", report)

    sent = traffic("good", 260, "main")
    assert min(sent["A 200"], sent["B 200"]) >= MIN_SAMPLES + 20, sent
    code, report = verify_json(root)
    assert (code, report["verdict"]) == (0, "Successful"), report
    assert checks(report) == dict.fromkeys(
        ("errorRate", "p99", "latencyRatio", "shadowAgreement"), "passed"
    )
    assert report["checks"][3]["value"] == 1.0  # the same model agrees on every row
    assert report["checks"][0]["value"] == 0.0
    record(stack, "good", report)
    text = gitopsgen(root, "verify", "prod")
    assert text.returncode == 0 and "Verdict: Successful" in text.stdout
    assert 'model_requests_total{job="verify-good",variant="B"}' in text.stdout


def test_a_candidate_that_disagrees_fails_on_agreement(
    stack: Stack, traffic: Callable[[str, int, str], Counter[str]], tmp_path: Path
) -> None:
    root = repository(tmp_path, stack, "disagree")
    traffic("disagree", 20, "warm")
    traffic("disagree", 260, "main")
    code, report = verify_json(root)
    assert (code, report["verdict"]) == (1, "Failed"), report
    verdicts = checks(report)
    assert verdicts["shadowAgreement"] == "failed" and verdicts["errorRate"] == "passed"
    agreement = report["checks"][3]["value"]
    assert 0.2 < agreement < 0.5, agreement  # iris: one row in three is class 0
    record(stack, "disagree", report)


def test_a_broken_candidate_fails_on_error_rate_and_is_rolled_back_through_git(
    stack: Stack, traffic: Callable[[str, int, str], Counter[str]], tmp_path: Path
) -> None:
    root = repository(tmp_path, stack, "broken")
    traffic("broken", 20, "warm")
    sent = traffic("broken", 260, "main")
    assert sent["B 500"] >= MIN_SAMPLES and "B 200" not in sent, sent
    code, report = verify_json(root)
    assert (code, report["verdict"]) == (1, "Failed"), report
    assert checks(report)["errorRate"] == "failed"
    assert report["checks"][0]["value"] == 1.0
    record(stack, "broken", report)

    result = gitopsgen(root, "verify", "prod", "--rollback-on-failure")
    assert result.returncode == 1, result.stderr
    assert "created branch rollback/prod-A" in result.stderr
    assert "# Roll back prod to A (blue): end the canary of B at 50%" in result.stdout
    assert "### Why" in result.stdout and "- error rate: beyond the threshold" in result.stdout
    assert git(root, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(root, "status", "--porcelain") == ""
    rolled = git(root, "show", f"rollback/prod-A:{SPEC}")
    assert "mode: blue_green" in rolled and "defaultAlias: A" in rolled
    values = git(root, "show", "rollback/prod-A:apps/fastapi/values/prod.yaml")
    assert "ALIAS_SELECTION_MODE: blue_green" in values and "DEFAULT_ALIAS: A" in values


def test_prometheus_down_or_refusing_is_exit_2_with_the_url(stack: Stack, tmp_path: Path) -> None:
    root = repository(tmp_path, stack, "good")
    down = f"http://127.0.0.1:{free_port()}"
    result = gitopsgen(root, "verify", "prod", "--prometheus", down)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"cannot reach Prometheus at {down}" in result.stderr
    # a selector Prometheus cannot parse: its own 400 bad_data answer
    spec = root / SPEC
    spec.write_text(spec.read_text().replace('job="verify-good"', 'job=~"("'))
    assert "job=~" in spec.read_text()
    result = gitopsgen(root, "verify", "prod")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"Prometheus at {stack.prometheus.url} refused the query (bad_data" in result.stderr


def test_scrape_targets_are_the_apps(stack: Stack) -> None:
    with ThreadPoolExecutor() as pool:
        up = list(pool.map(stack.prometheus.value, [f'up{{job="verify-{n}"}}' for n in SCENARIOS]))
    assert up == [1.0, 1.0, 1.0]
