"""A render journal that came out of Git is never applied; `render --check` and `validate` read
the tree as committed and write nothing (issue 26, item 1).

The attack: a pull request hand-edits `apps/fastapi/values/prod.yaml` (allow-list `0.0.0.0/0`)
and force-adds a `.gitopsgen-render/` journal whose staged file is the correct render. On the
code before the fix, the CI checkout's first command "recovered" that journal, so both checks
passed while the commit Argo CD syncs kept `0.0.0.0/0`. Real git repositories: a bare origin,
the attacker's clone, and a fresh clone as CI makes it; real `python -m gitopsgen` processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gitopsgen.errors import ForeignJournal
from gitopsgen.sync.journal import GIT_TXN, KILL_HOOK, TXN_DIR, recover
from tests.support import SPEC, git, snapshot

VALUES = "apps/fastapi/values/prod.yaml"
RIGHT = "nginx.ingress.kubernetes.io/whitelist-source-range: 10.10.0.0/16"
OPEN = "nginx.ingress.kubernetes.io/whitelist-source-range: 0.0.0.0/0"


def _gitopsgen(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitopsgen", *args, "--root", str(root)],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _forge_journal(folder: Path, correct_text: str) -> None:
    """What the attacker commits: a complete, committed-looking journal of the old layout (and
    an owner file with a made-up identity), staging the correct render of the values file."""
    (folder / "new").mkdir(parents=True)
    (folder / "old").mkdir()
    (folder / "new" / "0").write_text(correct_text)
    (folder / "owner").write_text("")
    info = (folder / "owner").stat()
    record = {"paths": [VALUES], "owner": [info.st_dev, info.st_ino, info.st_mtime_ns]}
    (folder / "journal.json").write_text(json.dumps(record))


@pytest.fixture
def ci_checkout(clone: Path, origin: Path, tmp_path: Path) -> Path:
    """The pull request's commit, as a fresh CI clone of it checks it out."""
    correct = (clone / VALUES).read_text()
    git(clone, "checkout", "--quiet", "-b", "pr")
    (clone / VALUES).write_text(correct.replace(RIGHT, OPEN))
    _forge_journal(clone / TXN_DIR, correct)
    git(clone, "add", "--force", "--all")
    git(clone, "commit", "--quiet", "-m", "prod: tidy values")
    git(clone, "push", "--quiet", "origin", "pr")
    checkout = tmp_path / "ci"
    git(tmp_path, "clone", "--quiet", "--branch", "pr", str(origin), str(checkout))
    assert (checkout / TXN_DIR / "journal.json").is_file()  # it came out of Git
    return checkout


def _tree(root: Path) -> dict[str, bytes]:
    """Every file, .git included, but the (empty) lock file readers may create."""
    return {k: v for k, v in snapshot(root).items() if k != ".git/gitopsgen.lock"}


def test_a_committed_journal_does_not_get_a_hand_edit_past_the_check(ci_checkout: Path) -> None:
    before = _tree(ci_checkout)
    check = _gitopsgen(ci_checkout, "render", "--check")
    assert check.returncode == 1, check.stdout + check.stderr
    assert f"-    {OPEN}" in check.stdout and f"+    {RIGHT}" in check.stdout
    validate = _gitopsgen(ci_checkout, "validate")
    assert validate.returncode == 1, validate.stdout + validate.stderr
    assert f"{VALUES} is stale" in validate.stdout and "GG201" in validate.stdout
    assert _tree(ci_checkout) == before  # neither wrote nor "recovered" anything
    assert git(ci_checkout, "status", "--porcelain") == ""
    assert OPEN in (ci_checkout / VALUES).read_text()


def test_render_ignores_a_committed_journal_and_renders_from_the_spec(ci_checkout: Path) -> None:
    result = _gitopsgen(ci_checkout, "render")
    assert result.returncode == 0, result.stderr
    assert f"   update  {VALUES}" in result.stdout  # written from the spec, not the journal
    assert RIGHT in (ci_checkout / VALUES).read_text()
    assert (ci_checkout / TXN_DIR / "journal.json").is_file()  # not ours: left as committed


def test_in_git_the_journal_lives_in_the_git_folder(clone: Path) -> None:
    spec = clone / SPEC
    spec.write_text(spec.read_text().replace("canaryPercent: 20}", "canaryPercent: 30}"))
    killed = _gitopsgen(clone, "render", **{KILL_HOOK: "1"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    journal = Path(git(clone, "rev-parse", "--path-format=absolute", "--git-path", GIT_TXN))
    assert journal.is_dir() and journal.parent == (clone / ".git").resolve()
    assert not (clone / TXN_DIR).exists()
    assert git(clone, "status", "--porcelain") == f"M {SPEC}"  # nothing for `git add` to take
    assert _gitopsgen(clone, "render").returncode == 0
    assert not journal.exists()


def test_outside_git_a_copied_journal_is_never_applied(tmp_repo: Path, tmp_path: Path) -> None:
    """Without .git the journal sits in the root: a copy of it (an archive, `cp -a`) names an
    owner inode the copy does not have, so it is refused, never applied."""
    spec = tmp_repo / SPEC
    spec.write_text(spec.read_text().replace("canaryPercent: 20}", "canaryPercent: 30}"))
    changes = 2  # the dev values file, then the journal's commit, then the kill
    killed = _gitopsgen(tmp_repo, "render", **{KILL_HOOK: str(changes)})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (tmp_repo / TXN_DIR / "journal.json").is_file()
    copy = shutil.copytree(tmp_repo, tmp_path / "copy", symlinks=True)
    before = snapshot(copy)
    with pytest.raises(ForeignJournal, match="never applies"):
        recover(copy)
    refused = _gitopsgen(copy, "render")
    assert refused.returncode == 2 and "was not written in this checkout" in refused.stderr
    assert snapshot(copy) == before
    assert recover(tmp_repo)  # the original is this checkout's own: finished
