"""A FIFO, a device or an endless file given as the spec, an extra PATH or a CRD is refused
at once, naming the path (exit 2 for the spec); nothing blocks and nothing is read from it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from gitopsgen import safepaths as tree
from tests.support import Invoke


def _guarded(run_cli: Invoke, *args: str | Path, expect: int | None) -> str:
    """Run the CLI; fail (instead of hanging the suite) when it does not return in 20 s."""
    out: list[str] = []

    def target() -> None:
        result = run_cli(*args, expect=expect)
        out.append(result.stdout + result.stderr)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), f"gitopsgen {' '.join(map(str, args))} blocked"
    assert out, "the command raised instead of exiting"
    return out[0]


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo.yaml"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("command", ["render", "validate", "preview"])
def test_a_fifo_as_the_spec_is_an_io_error_not_a_hang(
    tmp_repo: Path, fifo: Path, run_cli: Invoke, command: str
) -> None:
    output = _guarded(run_cli, command, "--root", tmp_repo, "--spec", fifo, expect=2)
    assert f"cannot read spec {fifo}" in output
    assert "not a regular file" in output


def test_a_device_as_the_spec_is_an_io_error(tmp_repo: Path, run_cli: Invoke) -> None:
    output = _guarded(run_cli, "render", "--root", tmp_repo, "--spec", "/dev/zero", expect=2)
    assert "cannot read spec /dev/zero" in output


def test_an_oversized_spec_is_refused_without_reading_it_all(
    tmp_repo: Path, tmp_path: Path, run_cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tree, "MAX_INPUT_BYTES", 1000)
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 5000 + "\n")
    output = _guarded(run_cli, "render", "--root", tmp_repo, "--spec", big, expect=2)
    assert "larger than" in output


def test_a_fifo_among_extra_paths_is_a_finding(tmp_repo: Path, fifo: Path, run_cli: Invoke) -> None:
    output = _guarded(run_cli, "validate", "--root", tmp_repo, str(fifo), expect=1)
    assert "GG309" in output
    assert "not a regular file" in output


def test_a_fifo_in_a_crd_dir_is_skipped(tmp_repo: Path, tmp_path: Path, run_cli: Invoke) -> None:
    crds = tmp_path / "crds"
    crds.mkdir()
    os.mkfifo(crds / "x.yaml")
    _guarded(run_cli, "validate", "--root", tmp_repo, "--crd-dir", crds, expect=None)
