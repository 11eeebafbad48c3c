"""Render is all or nothing under kill -9 and a full disk, and keeps file modes (issue 12, 13).

A real `python -m generator render` is killed with SIGKILL at fixed steps of its write (the
writer's test hook counts its durable steps: one per staged file, the commit, one per applied
file); the next command must find the tree all old or all new, with no strays.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gitopsgen.render.jinja import HEADER_MARK
from gitopsgen.sync.journal import KILL_HOOK, TXN_DIR, recover
from tests.support import SPEC, Invoke, frozen_repository, snapshot

QA = (
    "  qa:\n"
    "    cluster: {name: qa, server: https://qa.example.internal:6443}\n"
    "    namespace: fastapi-qa\n"
    "    mlflow: {trackingUri: http://mlflow-qa:5000}\n"
    "    serving: {defaultAlias: A}\n"
    "    ingress: {host: qa.example.internal, tlsSecretName: qa-tls, whitelist: [10.0.0.0/8]}\n"
    "    metallb: {pool: qa-pool, addresses: [10.30.0.0/28]}\n"
)
ORPHAN = "metallb/old/ipaddresspool.yaml"


def _changed_repository(dest: Path) -> Path:
    """A repository whose render creates, updates and deletes files."""
    root = frozen_repository(dest)
    spec = root / SPEC
    spec.write_text(spec.read_text().replace("canaryPercent: 20}", "canaryPercent: 30}") + QA)
    (root / ORPHAN).parent.mkdir()
    (root / ORPHAN).write_text(f"{HEADER_MARK}{SPEC}.\nkind: x\n")
    return root


def _render(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitopsgen", "render", "--root", str(root)],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _strays(root: Path) -> list[str]:
    return [
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.name.endswith(".tmp") or TXN_DIR in p.parts or "gitopsgen-backup" in p.name
    ]


@pytest.fixture(scope="module")
def trees(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """The repository before the render, and the snapshots before and after it."""
    base = tmp_path_factory.mktemp("atomic")
    template = _changed_repository(base / "template")
    after = shutil.copytree(template, base / "after")
    assert _render(after).returncode == 0
    return template, snapshot(template), snapshot(after)


def _changes(before: dict[str, bytes], after: dict[str, bytes]) -> int:
    return sum(before.get(p) != after.get(p) for p in set(before) | set(after))


# With n changes: staged 1..n, the journal's commit n+1, applied n+2..2n+1. The first, middle and
# last step of each phase, as a function of n.
KILL_STEPS = {
    "first-staged": lambda n: min(n, 1),
    "mid-staging": lambda n: n // 2,
    "last-staged": lambda n: n,
    "committed": lambda n: n + 1,
    "first-applied": lambda n: n + 2,
    "mid-apply": lambda n: n + 1 + n // 2,
    "last-applied": lambda n: 2 * n + 1,
}


@pytest.mark.parametrize("phase", KILL_STEPS)
def test_kill_9_at_any_step_then_the_next_command_restores_a_consistent_tree(
    trees: tuple[Path, dict[str, bytes], dict[str, bytes]],
    tmp_path: Path,
    run_cli: Invoke,
    phase: str,
) -> None:
    template, before, after = trees
    changes = _changes(before, after)
    assert changes >= 6  # creates, updates and a delete
    step = KILL_STEPS[phase](changes)
    root = shutil.copytree(template, tmp_path / "repo")
    killed = _render(root, **{KILL_HOOK: str(step)})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    expected = before if step <= changes else after  # the journal's commit is step n+1
    killed_tree = snapshot(root)
    reader = run_cli("render", "--check", "--root", root, expect=None)
    assert snapshot(root) == killed_tree  # a reader never recovers (issue 26, item 1)
    assert "note: an interrupted render left" in reader.stderr
    recover(root)  # what every writing command does first, under the repository's lock
    assert snapshot(root) == expected
    assert _strays(root) == []
    result = run_cli("render", "--check", "--root", root, expect=None)
    assert result.exit_code == (1 if expected is before else 0), result.output


def test_without_a_kill_the_hook_changes_nothing(
    trees: tuple[Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path
) -> None:
    template, before, after = trees
    root = shutil.copytree(template, tmp_path / "repo")
    assert _render(root, **{KILL_HOOK: str(2 * _changes(before, after) + 2)}).returncode == 0
    assert snapshot(root) == after


def test_strays_of_an_older_writer_are_removed(tmp_repo: Path, run_cli: Invoke) -> None:
    (tmp_repo / ".gitopsgen-backup-x1y2").mkdir()
    (tmp_repo / ".gitopsgen-backup-x1y2/0").write_text("old\n")
    (tmp_repo / "apps/fastapi/values/.dev.yaml.abc123.tmp").write_text("")
    run_cli("render", "--root", tmp_repo)
    assert _strays(tmp_repo) == []


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (1500, 1500))


def test_a_full_disk_changes_nothing_and_leaves_no_empty_file(
    trees: tuple[Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path
) -> None:
    template, before, _after = trees
    root = shutil.copytree(template, tmp_path / "repo")
    result = subprocess.run(
        [sys.executable, "-m", "gitopsgen", "render", "--root", str(root)],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        preexec_fn=_limit_file_size,  # noqa: PLW1509  (single-threaded test process)
    )
    assert result.returncode == 2, result.stderr
    assert "File too large" in result.stderr and "nothing was changed" in result.stderr
    assert snapshot(root) == before
    assert _strays(root) == []
    assert not [p for p in root.rglob("*") if p.is_file() and p.stat().st_size == 0]


def test_updates_keep_the_mode_and_new_files_get_the_umasks(
    tmp_path: Path, run_cli: Invoke
) -> None:
    root = _changed_repository(tmp_path / "repo")
    (root / "apps/fastapi/values/dev.yaml").chmod(0o644)
    (root / "applicationsets/fastapi.yaml").chmod(0o604)
    old_umask = os.umask(0o027)
    try:
        run_cli("render", "--root", root)
    finally:
        os.umask(old_umask)

    def mode(rel: str) -> int:
        return stat.S_IMODE((root / rel).stat().st_mode)

    assert mode("apps/fastapi/values/dev.yaml") == 0o644
    assert mode("applicationsets/fastapi.yaml") == 0o604
    assert mode("apps/fastapi/values/qa.yaml") == 0o640
    assert mode("metallb/qa/ipaddresspool.yaml") == 0o640
