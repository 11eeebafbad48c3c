"""`gitopsgen schemas fetch` from a mirror (a local HTTP server serving ../shared/crds), and
`validate` using the cache it fills."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from gitopsgen.validate import crd_fetch
from tests.support import Invoke, local_http_server

EXAMPLE = Path(__file__).parent / "examples/invalid/applicationset-wrong-type.yaml"
CEL_EXAMPLE = Path(__file__).parent / "examples/invalid/httproute-redirect-and-rewrite.yaml"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *_: object) -> None:
        return


def serve(folder: Path) -> Iterator[str]:
    with local_http_server(functools.partial(QuietHandler, directory=str(folder))) as url:
        yield url


@pytest.fixture
def mirror(shared_crds: Path, shared_pins: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    """The shared CRD cache as a mirror (links to its files, for the byte comparison)."""
    folder = tmp_path / "mirror"
    for name in shared_pins:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).symlink_to(shared_crds / name)
    yield from serve(folder)


def test_fetch_fills_the_cache_that_validate_uses(
    mirror: str,
    tmp_path: Path,
    repo_root: Path,
    run_cli: Invoke,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mirror_root = tmp_path / "mirror"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GITOPSGEN_CRD_DIR", raising=False)
    before = run_cli("validate", "--root", repo_root, "--format", "json", EXAMPLE, expect=1)
    skipped = {(f["id"], f["severity"]) for f in json.loads(before.stdout)}
    assert ("GG302", "skipped") in skipped and ("GG302", "error") not in skipped  # no CRDs yet
    result = run_cli("schemas", "fetch", "--mirror", mirror)
    crds = tmp_path / "cache/gitopsgen/crds"
    assert result.stdout.count("fetched") == len(crd_fetch.PINNED) == 12
    assert (crds / "argo-cd/applicationset-crd.yaml").stat().st_size > 1_000_000
    for name in crd_fetch.PINNED:  # byte for byte what the mirror serves
        assert (crds / name).read_bytes() == (mirror_root / name).read_bytes(), name
    after = run_cli("validate", "--root", repo_root, "--format", "json", EXAMPLE, expect=1)
    assert "GG302" in {f["id"] for f in json.loads(after.stdout)}
    # the Gateway API CRDs came too: their CEL rules run from the cache
    cel = run_cli("validate", "--root", repo_root, "--format", "json", CEL_EXAMPLE, expect=1)
    assert [f["id"] for f in json.loads(cel.stdout)] == ["GG310"]


def test_a_broken_mirror_changes_nothing(tmp_path: Path, run_cli: Invoke) -> None:
    site = tmp_path / "site"
    (site / "argo-cd").mkdir(parents=True)
    (site / "argo-cd/application-crd.yaml").write_text("<html>not found</html>\n")
    dest = tmp_path / "dest"
    for url in serve(site):
        result = run_cli("schemas", "fetch", "--mirror", url, "--dest", dest, expect=2)
        assert "is not the pinned upstream file: its sha256 is" in result.stderr
    assert not dest.exists() or not any(dest.rglob("*.yaml"))
