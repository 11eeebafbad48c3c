"""Hostile CRDs and CRD mirrors (issue 26, item 10; item 15 for the mirror's password): real
HTTP servers on 127.0.0.1 serving endless, permissive or slow files, an alias bomb and malformed
files in a CRD folder, symlinks planted in the cache. `schemas fetch` accepts only the pinned
bytes and writes all or nothing; `validate` reports a bad CRD file as a finding."""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from gitopsgen.errors import FetchError
from gitopsgen.validate.crd_fetch import PINNED, fetch_crds
from gitopsgen.validate.crds import MAX_CRD_BYTES
from tests.support import Invoke, local_http_server, snapshot

FIRST = next(iter(PINNED))  # argo-cd/application-crd.yaml
ALIAS_BOMB = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: bombs.example.org}
x0: &a0 [x, x, x, x, x, x, x, x, x, x]
x1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]
x2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]
x3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]
x4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]
x5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]
x6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]
x7: &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]
spec:
  group: example.org
  names: {kind: Bomb, plural: bombs}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, properties: {spec: {type: object, properties: {a: *a7}}}}
"""


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *_: object) -> None:
        return


def serve_folder(folder: Path) -> Iterator[str]:
    with local_http_server(functools.partial(Quiet, directory=str(folder))) as url:
        yield url


@pytest.fixture
def mirror(shared_crds: Path, shared_pins: dict[str, Any]) -> Iterator[str]:
    del shared_pins  # fetch pinned to what the shared cache holds
    yield from serve_folder(shared_crds)


@contextlib.contextmanager
def endless_server(every: float = 0.0) -> Iterator[str]:
    """Answers every GET with a body without end (64 KiB at a time, or one byte every `every`
    seconds), until the test is over."""
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(200)
                self.end_headers()
                chunk = b"x" if every else b"a: b\n" * 13_000
                while not stop.wait(every):
                    self.wfile.write(chunk)

        def log_message(self, *_: object) -> None:
            return

    with local_http_server(Handler) as url:
        try:
            yield url
        finally:
            stop.set()


def test_an_endless_file_is_cut_at_the_cap_and_nothing_is_written(
    tmp_path: Path, run_cli: Invoke
) -> None:
    dest = tmp_path / "dest"
    with endless_server() as url:
        result = run_cli("schemas", "fetch", "--mirror", url, "--dest", dest, expect=2)
    assert f"answered more than {MAX_CRD_BYTES:,} bytes; refused" in result.stderr
    assert f"cannot download {url}/{FIRST}" in result.stderr
    assert not dest.exists() or not any(dest.rglob("*"))


def test_a_slow_mirror_is_cut_at_the_deadline(tmp_path: Path) -> None:
    with endless_server(every=0.5) as url:
        started = time.monotonic()
        with pytest.raises(FetchError, match="no complete answer within 1s"):
            fetch_crds(tmp_path / "dest", url, timeout=1.0)
        assert time.monotonic() - started < 3.0  # 3x the timeout; the file has no end


def test_a_permissive_crd_from_a_mirror_is_refused_and_the_cache_kept(
    shared_crds: Path, mirror: str, tmp_path: Path, run_cli: Invoke
) -> None:
    """A mirror serving the ApplicationSet CRD with every field allowed: validate would then
    pass what the cluster refuses. Its sha256 is not the pinned one."""
    dest = tmp_path / "dest"
    run_cli("schemas", "fetch", "--mirror", mirror, "--dest", dest)
    before = snapshot(dest)
    site = tmp_path / "site"
    shutil.copytree(shared_crds, site)
    crd = site / "argo-cd/applicationset-crd.yaml"
    crd.write_text(
        crd.read_text().replace(
            "type: object",
            "x-kubernetes-preserve-unknown-fields: true\n            type: object",
            1,
        )
    )
    for url in serve_folder(site):
        result = run_cli("schemas", "fetch", "--mirror", url, "--dest", dest, expect=2)
    digest = hashlib.sha256(crd.read_bytes()).hexdigest()
    assert f"{url}/argo-cd/applicationset-crd.yaml is not the pinned upstream file" in result.stderr
    assert (
        f"its sha256 is {digest}, the pin {PINNED['argo-cd/applicationset-crd.yaml'].sha256}"
        in result.stderr
    )
    assert snapshot(dest) == before


def test_the_pins_are_the_upstream_files(shared_crds: Path) -> None:
    """Every pin of a file ../shared/crds holds is that file's sha256; the GitOps Promoter CRDs
    are not among them (their pins come from the upstream commit, see render/promoter.py)."""
    checked = 0
    for name, crd in PINNED.items():
        if name.startswith("gitops-promoter/") and not (shared_crds / name).exists():
            continue
        assert hashlib.sha256((shared_crds / name).read_bytes()).hexdigest() == crd.sha256, name
        checked += 1
    assert checked == 12


@pytest.mark.parametrize("planted", ["tmp-name", "old-tmp-name", "final-name"])
def test_a_symlink_planted_in_the_cache_is_never_written_through(
    mirror: str, tmp_path: Path, run_cli: Invoke, planted: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    folder = tmp_path / "dest/argo-cd"
    folder.mkdir(parents=True)
    name = {"tmp-name": ".application-crd.yaml.tmp", "old-tmp-name": "application-crd.tmp"}
    link = folder / name.get(planted, "application-crd.yaml")
    link.symlink_to(victim)
    run_cli("schemas", "fetch", "--mirror", mirror, "--dest", tmp_path / "dest")
    assert victim.read_text() == "keep me\n"
    final = folder / "application-crd.yaml"
    assert final.is_file() and not final.is_symlink()


def test_a_symlinked_folder_in_the_cache_is_refused(
    mirror: str, tmp_path: Path, run_cli: Invoke
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest/argo-cd").symlink_to(elsewhere)
    result = run_cli("schemas", "fetch", "--mirror", mirror, "--dest", tmp_path / "dest", expect=2)
    assert "argo-cd is a symbolic link; the CRD cache holds real folders only" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_mirror_password_is_sent_as_basic_auth_and_never_printed(
    shared_crds: Path, shared_pins: dict[str, Any], tmp_path: Path, run_cli: Invoke
) -> None:
    del shared_pins  # fetch pinned to what the shared cache holds
    seen: list[str | None] = []

    class Guarded(Quiet):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            seen.append(self.headers.get("Authorization"))
            super().do_GET()

    handler = functools.partial(Guarded, directory=str(shared_crds))
    with local_http_server(handler) as url:
        host = url.removeprefix("http://")
        run_cli(
            "schemas", "fetch", "--mirror", f"http://ci:pa55word@{host}", "--dest", tmp_path / "a"
        )
        assert set(seen) == {"Basic " + base64.b64encode(b"ci:pa55word").decode()}
        wrong = run_cli(
            "schemas",
            "fetch",
            "--mirror",
            f"http://ci:pa55word@{host}/nowhere",
            "--dest",
            tmp_path / "b",
            expect=2,
        )
        slash = run_cli(
            "schemas",
            "fetch",
            "--mirror",
            f"http://ci:pa55/word@{host}",
            "--dest",
            tmp_path / "c",
            expect=2,
        )
    assert f"cannot download {url}/nowhere/{FIRST}: HTTP 404" in wrong.stderr
    assert "unencoded '/', '?' or '#'" in slash.stderr
    for result in (wrong, slash):
        assert "pa55" not in result.output and "word" not in result.output.replace("password", "")


# --- CRD folders that validate reads -------------------------------------------------------


def validate_with(run_cli: Invoke, root: Path, crd_dir: Path) -> list[dict[str, object]]:
    result = run_cli(
        "validate", "--root", root, "--crd-dir", crd_dir, "--format", "json", expect=None
    )
    assert "Traceback" not in result.output and "internal error" not in result.output
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


BAD_FILES = {
    "bomb.yaml": (ALIAS_BOMB, "CRD file not a usable CRD file: a YAML alias (*name)"),
    "broken.yaml": ("kind: CustomResourceDefinition\nspec: [1\n", "CRD file not a usable CRD file"),
    "shape.yaml": (
        "kind: CustomResourceDefinition\nspec: {versions: [{served: true, schema: {openAPIV3Schema: 3}}]}\n",
        "CRD file not a usable CustomResourceDefinition",
    ),
    "deep.yaml": (
        "kind: CustomResourceDefinition\nspec: {versions: [{name: v1, schema: {openAPIV3Schema: "
        + "{a: " * 300
        + "1"
        + "}" * 300
        + "}}]}\n",
        "nested deeper than 200 levels",
    ),
    "large.yaml": (
        "# " + "x" * (MAX_CRD_BYTES + 10) + "\n",
        f"larger than {MAX_CRD_BYTES:,} bytes",
    ),
}


def test_bad_files_in_a_crd_folder_are_findings_and_the_rest_is_used(
    shared_crds: Path, tmp_path: Path, frozen_root: Path, run_cli: Invoke
) -> None:
    crd_dir = tmp_path / "crds"
    shutil.copytree(shared_crds, crd_dir)
    for name, (text, _) in BAD_FILES.items():
        (crd_dir / name).write_text(text)
    started = time.monotonic()
    findings = validate_with(run_cli, frozen_root, crd_dir)
    assert time.monotonic() - started < 60  # the alias bomb once ran past 60 s at 2.5 GB
    bad = {Path(str(f["file"])).name: f for f in findings if f["id"] == "GG309"}
    assert set(bad) == set(BAD_FILES)
    for name, (_, words) in BAD_FILES.items():
        assert words in str(bad[name]["message"]), bad[name]
    assert all(f["id"] == "GG309" for f in findings if f["severity"] == "error")
