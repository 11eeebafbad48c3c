"""`gitopsgen drift`, `validate --tracking-uri` and `set model.versions.X=V --tracking-uri`
against a real MLflow tracking server (sqlite, 127.0.0.1) with real registered models, on a real
git repository with a bare origin. Each test registers a model of its own name, so moving its
aliases never touches what other serving tests read."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gitopsgen.cli import cli
from tests.docs_support import example
from tests.serving.conftest import Registry
from tests.support import (
    SPEC,
    frozen_repository,
    git,
    git_repository,
    local_http_server,
    state,
)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def drift_model(mlflow_registry: Registry) -> str:
    """A model of this module's own: versions 1 and 2 (registered once: about 5 s each)."""
    from tools.local_mlflow import register_model

    name = "pinned_model"  # this module's own; a fixed name keeps the docs' example exact
    assert register_model(mlflow_registry.url, "logreg", "A", name=name) == "1"
    assert register_model(mlflow_registry.url, "logreg", "B", name=name) == "2"
    return name


@pytest.fixture
def pinned(
    tmp_path: Path, mlflow_registry: Registry, drift_model: str
) -> Iterator[tuple[Path, str, str]]:
    """(repository, model name, tracking URI): A -> 1 and B -> 2 in the registry, and a spec
    pinning exactly that in `defaults`."""
    from tools.local_mlflow import set_alias

    name, uri = drift_model, mlflow_registry.url
    set_alias(uri, "A", "1", name)
    set_alias(uri, "B", "2", name)
    root = frozen_repository(tmp_path / "repo")
    spec = root / SPEC
    text = spec.read_text()
    assert "  model: {name: best_model}\n" in text
    spec.write_text(
        text.replace(
            "  model: {name: best_model}\n",
            f'  model: {{name: {name}, versions: {{A: "1", B: "2"}}}}\n',
        )
    )
    assert run("render", "--root", root).exit_code == 0
    git_repository(root, _bare(tmp_path / "origin.git"))
    yield root, name, uri


def _bare(path: Path) -> Path:
    git(path.parent, "init", "--quiet", "--bare", str(path))
    return path


def drift(root: Path, uri: str, *extra: str) -> Result:
    return run("drift", "--root", root, "--tracking-uri", uri, *extra)


def test_pins_rendered_into_values_and_in_sync_with_the_registry(
    pinned: tuple[Path, str, str],
) -> None:
    root, name, uri = pinned
    values = (root / "apps/fastapi/values/prod.yaml").read_text()
    assert "MODEL_VERSION_A: '1'" in values and "MODEL_VERSION_B: '2'" in values
    result = drift(root, uri)
    assert result.exit_code == 0, result.output
    assert "0 of 4 pin(s) differ from the registry" in result.stdout
    data = json.loads(drift(root, uri, "--format", "json").stdout)
    assert data["schemaVersion"] == 1 and data["drift"] is False
    assert {
        (p["environment"], p["alias"], p["pinned"], p["registry"], p["state"]) for p in data["pins"]
    } == {
        ("dev", "A", "1", "1", "in-sync"),
        ("dev", "B", "2", "2", "in-sync"),
        ("prod", "A", "1", "1", "in-sync"),
        ("prod", "B", "2", "2", "in-sync"),
    }


def test_an_alias_moved_in_the_registry_is_drift_and_fix_git_pins_it_in_one_line(
    pinned: tuple[Path, str, str],
) -> None:
    from tools.local_mlflow import set_alias

    root, name, uri = pinned
    set_alias(uri, "B", "1", name)
    result = drift(root, uri, "prod")
    assert result.exit_code == 1
    assert "drift: the registry's alias points elsewhere" in result.stdout
    assert example("drift-text") == result.stdout.replace(uri, "http://127.0.0.1:5000")
    pins = json.loads(drift(root, uri, "prod", "--format", "json").stdout)["pins"]
    assert [(p["alias"], p["registry"], p["state"]) for p in pins] == [
        ("A", "1", "in-sync"),
        ("B", "1", "drift"),
    ]
    before = git(root, "rev-parse", "HEAD")
    fixed = drift(root, uri, "prod", "--fix", "git")
    assert fixed.exit_code == 1, fixed.output  # the report said drift; the branch is the fix
    assert git(root, "rev-parse", "HEAD") == before  # the user's branch did not move
    diff = git(root, "diff", "main", "drift/prod-b1", "--", SPEC)
    changed = [
        line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert (
        len(changed) == 1 and changed[0].startswith("+") and "versions: {B: '1'}" in changed[0]
    ), diff
    values = git(root, "show", "drift/prod-b1:apps/fastapi/values/prod.yaml")
    assert "MODEL_VERSION_B: '1'" in values
    message = git(root, "log", "-1", "--format=%B", "drift/prod-b1")
    assert "Gitopsgen-Change: prod model.versions.B '2' -> '1'" in message
    assert git(root, "show", "drift/prod-b1:apps/fastapi/values/dev.yaml") == (
        root / "apps/fastapi/values/dev.yaml"
    ).read_text().rstrip("\n")


def test_fix_registry_moves_the_alias_back_only_with_yes(
    pinned: tuple[Path, str, str],
) -> None:
    from tools.local_mlflow import set_alias

    root, name, uri = pinned
    set_alias(uri, "B", "1", name)
    dry = drift(root, uri, "prod", "--fix", "registry")
    assert dry.exit_code == 1
    assert f"would point {name} alias B at version 2 (prod); pass --yes" in dry.stderr
    assert json.loads(drift(root, uri, "prod", "--format", "json").stdout)["drift"] is True
    done = drift(root, uri, "prod", "--fix", "registry", "--yes")
    assert done.exit_code == 0, done.output
    assert f"moved: point {name} alias B at version 2 (prod)" in done.stderr
    assert drift(root, uri, "prod").exit_code == 0


def test_a_pin_the_registry_lacks_is_named_by_drift_and_by_validate(
    pinned: tuple[Path, str, str],
) -> None:
    root, name, uri = pinned
    spec = root / SPEC
    spec.write_text(
        spec.read_text().replace('versions: {A: "1", B: "2"}', 'versions: {A: "9", B: "2"}')
    )
    result = drift(root, uri, "dev")
    assert result.exit_code == 1
    assert "the registry has no such version" in result.stdout
    checked = run("validate", "--root", root, "--tracking-uri", uri, "--format", "json")
    found = [f for f in json.loads(checked.stdout) if f["id"] == "GG150"]
    line = next(i for i, t in enumerate(spec.read_text().splitlines(), 1) if "versions:" in t)
    assert {(f["path"], f["line"]) for f in found} == {
        ("environments.dev.model.versions.A", line),
        ("environments.prod.model.versions.A", line),
    }
    assert "does not have" in found[0]["message"]


def test_set_a_pin_shows_the_registry_facts_and_refuses_a_missing_version(
    pinned: tuple[Path, str, str],
) -> None:
    root, name, uri = pinned
    result = run("set", "prod", "model.versions.B=1", "--root", root, "--tracking-uri", uri)
    assert result.exit_code == 0, result.output
    assert "### Model versions" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("| B | 1 |"))
    assert "| READY | A |" in row  # version 1 is what alias A points at now
    before = state(root)
    refused = run("set", "prod", "model.versions.B=77", "--root", root, "--tracking-uri", uri)
    assert refused.exit_code == 1
    assert "has no version 77" in refused.stderr
    assert state(root) == before  # no branch, nothing changed


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_registry_is_exit_2_without_the_password(
    pinned: tuple[Path, str, str],
) -> None:
    root, _, _ = pinned
    url = f"http://bob:s3cr%2Fet@127.0.0.1:{_closed_port()}"
    result = drift(root, url, "prod")
    assert result.exit_code == 2
    assert "cannot reach MLflow at http://127.0.0.1:" in result.stderr
    assert "s3cr" not in result.output and "bob" not in result.output


class _Garbage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b"<html>\x1b[31mproxy error</html>"
        self.send_response(502)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


class _Drip(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        with contextlib.suppress(OSError):  # the client hangs up at its deadline
            for _ in range(200):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)

    def log_message(self, *_: object) -> None:
        pass


class _Hostile(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        answer = {"registered_model": {"aliases": [{"alias": "B", "version": "2\x1b[2J"}]}}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def test_garbage_a_drip_or_a_hostile_answer_is_exit_2_in_bounded_time(
    pinned: tuple[Path, str, str],
) -> None:
    root, _, _ = pinned
    with local_http_server(_Garbage) as url:
        result = drift(root, url, "prod")
    assert result.exit_code == 2
    assert "answered HTTP 502 without MLflow API JSON" in result.stderr
    assert "\x1b" not in result.output
    with local_http_server(_Hostile) as url:
        result = drift(root, url, "prod")
    assert result.exit_code == 2 and "malformed version" in result.stderr
    assert "\x1b" not in result.output
    with local_http_server(_Drip) as url:
        started = time.monotonic()
        result = drift(root, url, "prod", "--timeout", "1")
        took = time.monotonic() - started
    assert result.exit_code == 2 and "no complete answer within 1s" in result.stderr, result.output
    assert took < 10, took  # the drip would take 20 s; one call's deadline is 1 s
