"""`gitopsgen schemas fetch` from a mirror (a local HTTP server serving ../shared/crds), and
`validate` using the cache it fills."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest

from gitopsgen.validate.crd_fetch import PINNED
from tests.support import Invoke, local_http_server

EXAMPLE = Path(__file__).parent / "examples/invalid/applicationset-wrong-type.yaml"
CEL_EXAMPLE = Path(__file__).parent / "examples/invalid/httproute-redirect-and-rewrite.yaml"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *_: object) -> None:
        return


def serve(folder: Path) -> Iterator[str]:
    with local_http_server(functools.partial(QuietHandler, directory=str(folder))) as url:
        yield url


def mirror_tree(shared_crds: Path, folder: Path) -> Path:
    """The shared CRD cache, plus a stand-in for each pinned CRD it lacks (GitOps Promoter's are
    not in ../shared/crds and never copied into the repo): a bare CustomResourceDefinition, so
    the fetch of every pinned path is exercised; the byte comparison below holds either way."""
    for name in PINNED:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        source = shared_crds / name
        if source.is_file():
            target.symlink_to(source)
        else:
            target.write_text(
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
                f"metadata: {{name: {Path(name).stem.partition('_')[2]}.stand-in}}\n"
            )
    return folder


@pytest.fixture
def mirror(shared_crds: Path, tmp_path: Path) -> Iterator[str]:
    yield from serve(mirror_tree(shared_crds, tmp_path / "mirror"))


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
    assert "GG302" not in {f["id"] for f in json.loads(before.stdout)}  # no CRDs yet
    result = run_cli("schemas", "fetch", "--mirror", mirror)
    crds = tmp_path / "cache/gitopsgen/crds"
    assert result.stdout.count("fetched") == len(PINNED) == 15
    assert (crds / "argo-cd/applicationset-crd.yaml").stat().st_size > 1_000_000
    for name in PINNED:  # byte for byte what the mirror serves
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
        assert "is not a CustomResourceDefinition" in result.stderr
    assert not dest.exists() or not any(dest.rglob("*.yaml"))
