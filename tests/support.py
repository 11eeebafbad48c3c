"""What both suites share: where the repository is, and helpers for working on copies of it."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from socketserver import BaseRequestHandler
from typing import Any

from click.testing import Result

REPO = Path(__file__).resolve().parents[1]
SHARED_CRDS = REPO.parent / "shared" / "crds"
SPEC = "environments/environments.yaml"

Invoke = Callable[..., Result]


FROZEN = REPO / "tests" / "generator" / "golden" / "shipped-spec"
# The spec this repository shipped with, frozen. Tests that need particular values (an alias,
# a line number, an allow-list) read this, never the live environments/environments.yaml, which
# every promotion changes; only properties of any valid spec are checked on the live one.
FROZEN_SPEC_TEXT = (FROZEN / "spec.yaml").read_text()


def without_crd_skip(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings but the one skip a run without upstream CRDs reports (GG302 skipped, counted
    in the summary; tests/generator/test_one_cause.py asserts it)."""
    return [f for f in findings if not (f["id"] == "GG302" and f["severity"] == "skipped")]


def frozen_repository(dest: Path) -> Path:
    """A repository whose spec is the frozen copy of the shipped spec (not the live one, which
    promotions change) with its rendered files, plus the chart and the routing function."""
    (dest / "environments").mkdir(parents=True)
    shutil.copy2(FROZEN / "spec.yaml", dest / SPEC)
    shutil.copytree(FROZEN / "expected", dest, dirs_exist_ok=True)
    shutil.copytree(REPO / "apps/fastapi/chart", dest / "apps/fastapi/chart")
    (dest / "apps/fastapi/app").mkdir(parents=True)
    shutil.copy2(REPO / "apps/fastapi/app/routing.py", dest / "apps/fastapi/app/routing.py")
    return dest


def golden_repository(dest: Path, case: str) -> Path:
    """A repository holding a golden case's spec and its expected files, plus the chart."""
    source = REPO / "tests" / "generator" / "golden" / case
    (dest / "environments").mkdir(parents=True)
    shutil.copy2(source / "spec.yaml", dest / SPEC)
    shutil.copytree(source / "expected", dest, dirs_exist_ok=True)
    shutil.copytree(REPO / "apps/fastapi/chart", dest / "apps/fastapi/chart")
    return dest


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below root, for checking that nothing changed."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def git_repository(root: Path, origin: Path) -> Path:
    """`root` committed on main as one commit, pushed to the bare `origin`."""
    (root / ".gitignore").write_text(".venv/\n")
    git(root, "init", "--quiet", "-b", "main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "initial")
    git(root, "remote", "add", "origin", str(origin))
    git(root, "push", "--quiet", "origin", "main")
    return root


def state(root: Path) -> tuple[str, str, str, str, dict[str, bytes]]:
    """Everything a refusal must leave as it was: status, branches, HEAD, index, files."""
    files = {k: v for k, v in snapshot(root).items() if not k.startswith(".git/")}
    return (
        git(root, "status", "--porcelain", "--untracked-files=all"),
        git(root, "branch", "--list"),
        git(root, "rev-parse", "HEAD"),
        git(root, "ls-files", "--stage"),
        files,
    )


@contextmanager
def local_http_server(handler: Callable[..., BaseRequestHandler]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1, in a thread, answering with `handler`; yields its URL.
    A short poll interval: `shutdown` waits for the loop's next poll (0.5 s by default)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
