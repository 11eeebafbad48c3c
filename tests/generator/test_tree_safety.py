"""Symlinks and special files in rendered folders are findings naming the path; their targets
are never read, printed or written through (issue 12, item 6)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gitopsgen.render.jinja import HEADER_MARK
from tests.support import Invoke, snapshot

SECRET = "s3cr3t-from-outside-the-repo"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the repository holding something nobody may print."""
    folder = tmp_path / "outside"
    folder.mkdir()
    # the header makes it look like a file gitopsgen generated, so only the path check stops it
    (folder / "config").write_text(f"{HEADER_MARK}x.\n[credential] token = {SECRET}\n")
    (folder / "ipaddresspool.yaml").write_text(f"{HEADER_MARK}x.\npassword: {SECRET}\n")
    return folder


def _all_output(*results: object) -> str:
    return "".join(getattr(r, "stdout", "") + getattr(r, "stderr", "") for r in results)


@pytest.mark.parametrize(
    "rel", ["metallb/dev/ipaddresspool.yaml", "metallb/dev/extra.yaml", "applicationsets/x.yaml"]
)
def test_a_symlinked_file_is_named_and_its_target_never_printed(
    tmp_repo: Path, outside: Path, run_cli: Invoke, rel: str
) -> None:
    link = tmp_repo / rel
    link.unlink(missing_ok=True)
    link.symlink_to(outside / "config")
    before = snapshot(outside)
    check = run_cli("render", "--check", "--root", tmp_repo, expect=1)
    write = run_cli("render", "--root", tmp_repo, expect=1)
    validate = run_cli("validate", "--root", tmp_repo, "--format", "json", expect=1)
    assert SECRET not in _all_output(check, write, validate)
    assert f"{rel} is a symbolic link" in check.stderr
    assert f"{rel} is a symbolic link" in write.stderr
    found = [f for f in json.loads(validate.stdout) if f["id"] == "GG205"]
    assert [(f["file"], f["severity"]) for f in found] == [(rel, "error")]
    assert link.is_symlink()  # render changed nothing
    assert snapshot(outside) == before


def test_a_symlinked_rendered_folder_is_never_written_through(
    tmp_repo: Path, outside: Path, run_cli: Invoke
) -> None:
    metallb = tmp_repo / "metallb"
    for path in sorted(metallb.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    metallb.rmdir()
    metallb.symlink_to(outside)
    before = snapshot(outside)
    check = run_cli("render", "--check", "--root", tmp_repo, expect=1)
    write = run_cli("render", "--root", tmp_repo, expect=1)
    validate = run_cli("validate", "--root", tmp_repo, expect=1)
    assert SECRET not in _all_output(check, write, validate)
    assert "metallb is a symbolic link" in write.stderr
    assert "metallb is a symbolic link" in validate.stdout + validate.stderr
    assert snapshot(outside) == before  # nothing created, changed or deleted outside the repo


def test_a_fifo_at_a_rendered_path_is_named_without_blocking(
    tmp_repo: Path, run_cli: Invoke
) -> None:
    rel = "apps/fastapi/values/dev.yaml"
    (tmp_repo / rel).unlink()
    os.mkfifo(tmp_repo / rel)
    check = run_cli("render", "--check", "--root", tmp_repo, expect=1)
    assert f"{rel} is a FIFO" in check.stderr


def test_a_symlinked_parent_of_the_repository_folders_is_fine(
    tmp_path: Path, tmp_repo: Path, run_cli: Invoke
) -> None:
    """Only what lies in the rendered folders matters: the root itself may be reached by a link."""
    alias = tmp_path / "alias"
    alias.symlink_to(tmp_repo)
    run_cli("render", "--check", "--root", alias)
