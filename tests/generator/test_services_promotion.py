"""Promotion per service on real git repositories (a temporary clone and a bare origin): only
the promoted pair's values change, trailers and branches name the service, and `rollback
--service` follows that service's history alone."""

from __future__ import annotations

import json
import shutil
import urllib.parse
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml

from tests.support import (
    REPO,
    SPEC,
    Invoke,
    git,
    git_repository,
    golden_repository,
    local_http_server,
    state,
)

VALUES = "apps/fastapi/values"


@pytest.fixture
def services_clone(tmp_path: Path, origin: Path) -> Path:
    """The two-services golden case, committed on main, with the serving app's routing."""
    root = golden_repository(tmp_path / "clone", "two-services")
    (root / "apps/fastapi/app").mkdir(parents=True)
    shutil.copy2(REPO / "apps/fastapi/app/routing.py", root / "apps/fastapi/app/routing.py")
    return git_repository(root, origin)


def changed(root: Path, branch: str) -> list[str]:
    """The files a branch changes, the spec first."""
    files = git(root, "diff", "--name-only", "main", branch).splitlines()
    return sorted(files, key=lambda p: (p != SPEC, p))


def trailers(root: Path, branch: str) -> list[str]:
    body = git(root, "log", "-1", "--format=%B", branch)
    return [line for line in body.splitlines() if line.startswith("Gitopsgen-Change: ")]


def merge(root: Path, branch: str) -> None:
    git(root, "merge", "--quiet", "--ff-only", branch)


def spec_data(root: Path, ref: str = "HEAD") -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load(git(root, "show", f"{ref}:{SPEC}"))
    return data


def test_promote_changes_only_the_promoted_pair(services_clone: Path, run_cli: Invoke) -> None:
    result = run_cli("promote", "prod", "--service", "fraud", "--to", "B", "--root", services_clone)
    branch = "promote/fraud-prod-B"
    assert f"created branch {branch}" in result.stderr
    assert changed(services_clone, branch) == [SPEC, f"{VALUES}/fraud/prod.yaml"]
    assert trailers(services_clone, branch) == [
        "Gitopsgen-Change: prod/fraud serving.defaultAlias A -> B"
    ]
    after = spec_data(services_clone, branch)
    fraud = after["environments"]["prod"]["services"]["fraud"]  # type: ignore[index]
    assert fraud["serving"] == {"defaultAlias": "B"}  # the pair's own level, nothing shared
    assert after["services"] == spec_data(services_clone)["services"]
    body = result.stdout
    for words in (
        "# Promote fraud in prod to B (green): defaultAlias A -> B",
        "- `prod/fraud`: serving.defaultAlias A -> B",
        "**prod/fraud** (cluster `prod`, namespace `fraud-prod`)",
        "gitopsgen rollback prod --service fraud",
        "gitopsgen set prod --service fraud serving.defaultAlias=A",
    ):
        assert words in body, words
    assert "churn" not in body


def test_set_writes_the_service_in_the_environment_unless_told_a_level(
    services_clone: Path, run_cli: Invoke
) -> None:
    run_cli("set", "prod", "--service", "churn", "replicas=3", "--root", services_clone)
    assert changed(services_clone, "set/churn-prod-replicas-3") == [
        SPEC,
        f"{VALUES}/churn/prod.yaml",
    ]
    envs = spec_data(services_clone, "set/churn-prod-replicas-3")["environments"]
    assert envs["prod"]["services"]["churn"]["replicas"] == 3  # type: ignore[index]
    run_cli(
        "set", "dev", "--service", "churn", "--level", "service", "serving.canaryPercent=30",
        "--root", services_clone,
    )  # fmt: skip
    branch = "set/churn-canarypercent-30"
    assert changed(services_clone, branch) == [
        SPEC,
        f"{VALUES}/churn/dev.yaml",
        f"{VALUES}/churn/prod.yaml",
    ]
    assert trailers(services_clone, branch) == [
        "Gitopsgen-Change: dev/churn serving.canaryPercent 20 -> 30",
        "Gitopsgen-Change: prod/churn serving.canaryPercent 20 -> 30",
    ]
    assert spec_data(services_clone, branch)["services"]["churn"]["serving"] == {  # type: ignore[index]
        "mode": "canary",
        "canaryPercent": 30,
    }
    run_cli(
        "set", "dev", "--service", "fraud", "--level", "environment", "replicas=2",
        "--root", services_clone,
    )  # fmt: skip
    branch = "set/dev-replicas-2"
    assert changed(services_clone, branch) == [
        SPEC,
        f"{VALUES}/churn/dev.yaml",
        f"{VALUES}/fraud/dev.yaml",
    ]


def test_rollback_of_a_service_follows_its_own_history(
    services_clone: Path, run_cli: Invoke
) -> None:
    root = services_clone
    run_cli("promote", "prod", "--service", "fraud", "--to", "B", "--root", root)
    merge(root, "promote/fraud-prod-B")
    promoted = git(root, "rev-parse", "HEAD")
    run_cli("set", "prod", "--service", "churn", "replicas=3", "--root", root)
    merge(root, "set/churn-prod-replicas-3")  # a later change of another service
    result = run_cli("rollback", "prod", "--service", "fraud", "--root", root)
    branch = f"rollback/fraud-prod-{promoted[:8]}"
    assert f"created branch {branch}" in result.stderr
    assert changed(root, branch) == [SPEC, f"{VALUES}/fraud/prod.yaml"]
    assert trailers(root, branch) == ["Gitopsgen-Change: prod/fraud serving.defaultAlias B -> A"]
    envs = spec_data(root, branch)["environments"]
    assert envs["prod"]["services"]["churn"]["replicas"] == 3  # type: ignore[index]
    # churn's last change is its own set, not fraud's promotion
    run_cli("rollback", "prod", "--service", "churn", "--root", root)
    branch = f"rollback/churn-prod-{git(root, 'rev-parse', 'HEAD')[:8]}"
    assert trailers(root, branch) == ["Gitopsgen-Change: prod/churn replicas 3 -> 2"]
    assert changed(root, branch) == [SPEC, f"{VALUES}/churn/prod.yaml"]


def test_canary_steps_one_service(services_clone: Path, run_cli: Invoke) -> None:
    result = run_cli(
        "canary", "prod", "--service", "churn", "--skip-verify", "--root", services_clone
    )
    branch = "canary/churn-prod-25"
    assert f"created branch {branch}" in result.stderr
    assert "# Canary churn in prod: B (green) from 20% to 25%" in result.stdout
    assert changed(services_clone, branch) == [SPEC, f"{VALUES}/churn/prod.yaml"]
    assert trailers(services_clone, branch) == [
        "Gitopsgen-Change: prod/churn serving.canaryPercent 20 -> 25"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("promote", "prod", "--to", "B"),
            "prod: the spec has several services (fraud, churn); name one with --service NAME",
        ),
        (("set", "prod", "replicas=3"), "the spec has several services (fraud, churn)"),
        (("rollback", "prod"), "the spec has several services (fraud, churn)"),
        (("canary", "prod", "--skip-verify"), "the spec has several services (fraud, churn)"),
        (("verify", "prod"), "the spec has several services (fraud, churn)"),
        (
            ("promote", "prod", "--service", "frod", "--to", "B"),
            "unknown service 'frod'; known: fraud, churn",
        ),
        (("simulate", "prod", "--service", "frod"), "unknown service 'frod'; known: fraud, churn"),
        (("preview", "prod", "--service", "frod"), "unknown service 'frod'; known: fraud, churn"),
        (("status", "prod", "--service", "frod"), "unknown service 'frod'; known: fraud, churn"),
        (("wait", "prod", "--service", "frod"), "unknown service 'frod'; known: fraud, churn"),
    ],
    ids=lambda v: "-".join(v) if isinstance(v, tuple) else None,
)
def test_a_missing_or_unknown_service_is_exit_2_and_leaves_nothing(
    services_clone: Path, run_cli: Invoke, args: tuple[str, ...], message: str
) -> None:
    before = state(services_clone)
    result = run_cli(*args, "--root", services_clone, expect=2)
    assert message in result.stderr
    assert state(services_clone) == before


def test_one_service_may_be_left_out(tmp_path: Path, origin: Path, run_cli: Invoke) -> None:
    root = golden_repository(tmp_path / "clone", "two-services")
    text = (root / SPEC).read_text()
    start = text.index("  churn:\n    image")
    end = text.index("environments:")
    text = text[:start] + text[end:]
    text = text.replace(
        '      churn: {ingress: {host: churn-dev.example.internal}, image: {tag: "1.1.0-rc1"}}\n',
        "",
    )
    start = text.index("      churn:\n        namespace: churn-prod")
    text = text[:start]
    (root / SPEC).write_text(text)
    for path in (root / VALUES / "churn", root / "applicationsets/churn.yaml"):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    (root / "apps/fastapi/app").mkdir(parents=True)
    shutil.copy2(REPO / "apps/fastapi/app/routing.py", root / "apps/fastapi/app/routing.py")
    run_cli("render", "--root", root)
    git_repository(root, origin)
    run_cli("promote", "prod", "--to", "B", "--root", root)
    assert changed(root, "promote/fraud-prod-B") == [SPEC, f"{VALUES}/fraud/prod.yaml"]


def test_the_app_form_takes_its_app_as_service(clone: Path, run_cli: Invoke) -> None:
    run_cli("promote", "prod", "--service", "fastapi", "--to", "A", "--root", clone)
    assert "Gitopsgen-Change: prod serving.defaultAlias B -> A" in trailers(clone, "promote/prod-A")
    result = run_cli("set", "prod", "--level", "service", "replicas=3", "--root", clone, expect=2)
    assert "--level service is for a spec with `services:`" in result.stderr
    result = run_cli(
        "promote", "prod", "--service", "other", "--to", "A", "--root", clone, expect=2
    )
    assert "unknown service 'other'; known: fastapi" in result.stderr


# --- verify reads the service's own series ------------------------------------------------------

RECORDED = REPO / "tests/generator/recordings/prometheus/good.json"
CHURN_SERIES = 'namespace="churn-prod",app_kubernetes_io_instance="churn"'


class ServiceSeries:
    """A Prometheus stand-in on 127.0.0.1 answering with the answers a real Prometheus gave for
    the recorded job, to queries that select churn's series instead: a query that does not
    select them gets Prometheus's own 400 answer."""

    def __init__(self) -> None:
        recorded = json.loads(RECORDED.read_text())
        self.answers: dict[str, object] = recorded["answers"]
        self.recorded = recorded["selector"]
        self.asked: list[str] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        series = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                promql = query.get("query", [""])[0]
                series.asked.append(promql)
                answer = series.answers.get(promql.replace(CHURN_SERIES, series.recorded))
                body = answer or {"status": "error", "errorType": "bad_data", "error": "?"}
                self.send_response(200 if answer else 400)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body).encode())

            def log_message(self, *_: object) -> None:
                return

        return Handler


def test_verify_of_a_service_selects_its_series(tmp_path: Path, run_cli: Invoke) -> None:
    root = golden_repository(tmp_path / "repo", "two-services")
    series = ServiceSeries()
    with local_http_server(series.handler()) as url:
        text = (
            (root / SPEC)
            .read_text()
            .replace(
                "        namespace: churn-prod\n",
                "        namespace: churn-prod\n"
                "        serving: {canaryPercent: 50, shadowAlias: B}\n"
                f"        analysis: {{prometheus: {{url: '{url}'}}, window: 5m, minSamples: 60, "
                "maxP99Seconds: 2, maxLatencyRatio: 20}\n",
            )
        )
        (root / SPEC).write_text(text)
        run_cli("render", "--root", root)
        result = run_cli("verify", "prod", "--service", "churn", "--format", "json", "--root", root)
    report = json.loads(result.stdout)
    assert (report["environment"], report["service"], report["verdict"]) == (
        "prod",
        "churn",
        "Successful",
    )
    assert report["selector"] == CHURN_SERIES
    assert len(series.asked) >= 8 and all(CHURN_SERIES in q for q in series.asked)
