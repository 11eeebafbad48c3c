"""What a new user met in everyday use (issue 26, items 21 and 22): `schemas fetch --mirror`
with a plain folder, a spec comment that went on saying the old colour is live after a
promotion, and `status` asking for an install that is not needed. (`make serve`'s port probe:
tests/serving/test_demo.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gitopsgen.spec.edit import retell_comment, set_field
from tests.support import FROZEN_SPEC_TEXT, SPEC, Invoke, git

PROD_LINE = "    serving: {defaultAlias: B}   # green is live\n"


def test_a_mirror_given_as_a_plain_folder_is_read(
    shared_crds: Path,
    shared_pins: dict[str, Any],
    tmp_path: Path,
    run_cli: Invoke,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before: `unknown url type: '/path/argo-cd/...'`; a folder needed `file://`. (The pins
    are the CRDs ../shared/crds holds: `shared_pins`.)"""
    monkeypatch.chdir(shared_crds.parent)
    for mirror in (str(shared_crds), shared_crds.name):  # absolute, and relative to the cwd
        dest = tmp_path / mirror.replace("/", "_")
        result = run_cli("schemas", "fetch", "--mirror", mirror, "--dest", dest)
        assert result.stdout.count("fetched") == len(shared_pins)
        assert all((dest / name).is_file() for name in shared_pins)


def test_a_mirror_that_is_neither_url_nor_folder_is_refused_unquoted(
    tmp_path: Path, run_cli: Invoke
) -> None:
    secret = "user:s3cret@mirror.internal/crds"
    result = run_cli("schemas", "fetch", "--mirror", secret, "--dest", tmp_path / "d", expect=2)
    assert "s3cret" not in result.output
    assert not (tmp_path / "d").exists()


@pytest.mark.usefixtures("isolated_git")
def test_a_promotion_retells_the_comment_on_its_line_and_a_rollback_restores_it(
    clone: Path, run_cli: Invoke
) -> None:
    """Before: `serving: {defaultAlias: A}   # green is live` after a promotion to blue."""
    for to, line in (("A", "    serving: {defaultAlias: A}   # blue is live\n"), ("B", PROD_LINE)):
        result = run_cli("promote", "prod", "--to", to, "--root", clone)
        branch = next(ln for ln in result.stderr.splitlines() if ln.startswith("created branch"))
        git(clone, "merge", "--quiet", "--ff-only", branch.split()[2])
        assert line in (clone / SPEC).read_text()
    assert (clone / SPEC).read_text() == FROZEN_SPEC_TEXT  # back to the very bytes


@pytest.mark.parametrize(
    ("line", "old", "new", "after"),
    [
        ("serving: {defaultAlias: A}  # green is live", "B", "A", "# blue is live"),
        ("serving: {defaultAlias: A}  # Green serves", "B", "A", "# Blue serves"),
        ("active: green  # blue was 1.4", "blue", "green", "# green was 1.4"),
        ("canaryPercent: 30  # 20% for the pilot", "20", 30, "# 30% for the pilot"),
        ("serving: {defaultAlias: A}  # A/B test off", "B", "A", "# A/B test off"),  # no letter
        ("serving: {defaultAlias: A}  # owned by team ml", "B", "A", "# owned by team ml"),
        ('note: "x # yy"  # about yy', "yy", "zz", '"x # yy"  # about zz'),  # a quoted '#'
    ],
)
def test_only_what_the_comment_says_of_the_old_value_changes(
    line: str, old: str, new: object, after: str
) -> None:
    text = f"a: 1\n{line}\nb: 2\n"
    assert retell_comment(text, 1, old, new).splitlines()[1].endswith(after)


def test_a_comment_elsewhere_is_untouched() -> None:
    text = FROZEN_SPEC_TEXT.replace("canaryPercent: 20}", "canaryPercent: 20}  # 20 for now")
    edited = set_field(text, "prod", ("serving", "defaultAlias"), "A")
    assert "canaryPercent: 20}  # 20 for now" in edited
    assert "# blue is live" in edited


def test_status_needs_no_extra_install_where_kubernetes_is_importable(
    tmp_path: Path, frozen_root: Path
) -> None:
    """Issue 26, item 22: with the Kubernetes client importable (a dependency of the tool),
    `status` goes straight to the kubeconfig, never to "pip install 'gitopsgen[status]'"."""
    pytest.importorskip("kubernetes")
    result = subprocess.run(
        [sys.executable, "-m", "gitopsgen", "status", "prod", "--root", str(frozen_root)]
        + ["--kubeconfig", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    assert result.returncode == 2
    assert "no kubeconfig at" in result.stderr
    assert "pip install" not in result.stderr
