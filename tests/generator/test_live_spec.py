"""The tool's tests never depend on the live spec: promote it, merge, and the suite still passes.

Every promotion PR changes environments/environments.yaml; if a test read a value from it (an
alias, a line number), the repository's own CI would go red on the promotion. Two halves prove
it: a guard in conftest fails any test not marked `live_spec` that opens the live spec, and this
test makes the promotions a team makes, in a temporary clone of this repository, and runs the
`live_spec` tests there (rerunning the whole suite inside itself would double its time).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gitopsgen.spec.load import merged_environments
from tests.support import REPO, SPEC, Invoke, git

THIS = "tests/generator/test_live_spec.py::test_live_spec_tests_pass_after_promotions_merge"


def clone_of_this_repository(dest: Path) -> Path:
    """Every file git knows here (committed or not yet), committed on main in a new repository."""
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for rel in filter(None, listed.split("\0")):
        source = REPO / rel
        if source.is_symlink():  # the gitopsgen -> generator link: the clone's code is imported
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).symlink_to(source.readlink())
        elif source.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)
    git(dest, "init", "--quiet", "-b", "main")
    git(dest, "add", "--all")
    git(dest, "commit", "--quiet", "-m", "clone")
    return dest


def merge_printed_branch(root: Path, stderr: str) -> None:
    line = next(ln for ln in stderr.splitlines() if ln.startswith("created branch "))
    git(root, "merge", "--quiet", "--ff-only", line.split()[2])


@pytest.mark.live_spec  # it promotes a copy of the live spec, whatever it holds
@pytest.mark.usefixtures("isolated_git")
def test_live_spec_tests_pass_after_promotions_merge(tmp_path: Path, run_cli: Invoke) -> None:
    root = clone_of_this_repository(tmp_path / "clone")
    live = merged_environments(yaml.safe_load((root / SPEC).read_text()))
    envs = list(live)
    other = {env: "A" if live[env]["serving"]["defaultAlias"] == "B" else "B" for env in envs}
    first, last = envs[0], envs[-1]
    steps = [
        ("promote", first, "--to", other[first]),  # one direction
        ("promote", last, "--to", other[last]),
        ("promote", first, "--to", live[first]["serving"]["defaultAlias"]),  # and back
        ("set", last, "serving.mode=canary", "serving.canaryPercent=35"),
    ]
    for step in steps:
        merge_printed_branch(root, run_cli(*step, "--root", root).stderr)
    assert (root / SPEC).read_text() != (REPO / SPEC).read_text()
    assert git(root, "status", "--porcelain") == ""
    suite = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "live_spec", "-q", "-p", "no:cacheprovider"]
        + ["--deselect", THIS, "tests/generator"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-2000:]
    assert " passed" in suite.stdout


def test_the_guard_sees_a_test_reading_the_live_spec() -> None:
    from tests.generator import conftest

    assert conftest._watching[0]  # this test is not marked live_spec: it is watched
    (REPO / SPEC).read_text()
    try:
        assert conftest._live_spec_reads == [str(REPO / SPEC)]
    finally:
        conftest._live_spec_reads.clear()  # the read was this test's point
