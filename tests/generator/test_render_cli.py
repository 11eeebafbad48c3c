"""`gitopsgen render`: writes all or nothing, --check, stale files, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitopsgen.errors import WriteError
from gitopsgen.render.jinja import HEADER_MARK
from tests.support import SPEC, Invoke, snapshot


def test_render_on_main_is_up_to_date(repo_root: Path, run_cli: Invoke) -> None:
    result = run_cli("render", "--check", "--root", repo_root)
    assert "up to date" in result.stdout


def test_render_into_empty_tree_then_identical(
    tmp_path: Path, repo_root: Path, run_cli: Invoke
) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / SPEC).write_bytes((repo_root / SPEC).read_bytes())
    first = run_cli("render", "--root", tmp_path)
    assert "create  applicationsets/fastapi.yaml" in first.stdout
    created = [ln for ln in first.stdout.splitlines() if ln.lstrip().startswith("create  ")]
    # as many files as the live spec renders, whatever environments it has (issue 26, item 16)
    assert f"rendered {len(created)} file(s), {len(created)} changed" in first.stdout
    rendered = snapshot(tmp_path)
    assert len(rendered) == len(created) + 1  # and the spec
    second = run_cli("render", "--root", tmp_path)
    assert f"rendered {len(created)} file(s), 0 changed" in second.stdout
    assert snapshot(tmp_path) == rendered
    for rel, data in rendered.items():
        if rel != SPEC:
            assert data.startswith(HEADER_MARK.encode()), rel
            assert (repo_root / rel).read_bytes() == data, rel


def test_check_reports_stale_file_with_diff(tmp_repo: Path, run_cli: Invoke) -> None:
    spec = tmp_repo / SPEC
    spec.write_text(
        spec.read_text().replace(
            "serving: {defaultAlias: B}   # green", "serving: {defaultAlias: A}   # green"
        )
    )
    before = snapshot(tmp_repo)
    result = run_cli("render", "--check", "--root", tmp_repo, expect=1)
    assert "-  DEFAULT_ALIAS: B\n+  DEFAULT_ALIAS: A" in result.stdout
    assert "1 rendered file(s) are stale" in result.stderr
    assert snapshot(tmp_repo) == before


def test_check_reports_missing_and_orphaned_files(tmp_repo: Path, run_cli: Invoke) -> None:
    (tmp_repo / "metallb/dev/ipaddresspool.yaml").unlink()
    orphan = tmp_repo / "metallb/old/ipaddresspool.yaml"
    orphan.parent.mkdir()
    orphan.write_text(f"{HEADER_MARK}environments/environments.yaml.\nkind: x\n")
    result = run_cli("render", "--check", "--root", tmp_repo, expect=1)
    assert "+++ b/metallb/dev/ipaddresspool.yaml" in result.stdout
    assert "--- a/metallb/old/ipaddresspool.yaml" in result.stdout
    assert "2 rendered file(s) are stale" in result.stderr


def test_deleted_environment_removes_only_its_generated_files(
    tmp_repo: Path, run_cli: Invoke
) -> None:
    spec = tmp_repo / SPEC
    text = spec.read_text()
    spec.write_text(text[: text.index("  prod:\n")])
    hand_written = tmp_repo / "metallb/prod/README.md"
    hand_written.write_text("notes kept by people\n")
    result = run_cli("render", "--root", tmp_repo)
    assert "delete  apps/fastapi/values/prod.yaml" in result.stdout
    assert not (tmp_repo / "apps/fastapi/values/prod.yaml").exists()
    assert not (tmp_repo / "metallb/prod/ipaddresspool.yaml").exists()
    assert hand_written.read_text() == "notes kept by people\n"
    assert "fastapi-prod" not in (tmp_repo / "applicationsets/fastapi.yaml").read_text()


def test_unwritable_target_leaves_every_file_as_it_was(tmp_repo: Path, run_cli: Invoke) -> None:
    spec = tmp_repo / SPEC
    spec.write_text(
        spec.read_text().replace("canaryPercent: 20}", "canaryPercent: 30}")
        + "  qa:\n"
        + _qa_environment()
    )
    # a file where a rendered folder must go: that write fails after others were staged
    (tmp_repo / "metallb/qa").write_text("in the way\n")
    before = snapshot(tmp_repo)
    result = run_cli("render", "--root", tmp_repo, expect=2)
    assert "nothing was changed" in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(tmp_repo) == before
    assert not any(p.name.endswith(".tmp") for p in tmp_repo.rglob("*"))
    assert not (tmp_repo / "apps/fastapi/values/qa.yaml").exists()


def test_failure_while_swapping_in_rolls_back(
    tmp_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitopsgen.sync.writer import apply_changes
    from gitopsgen.validate.checked_render import render_repository

    spec = tmp_repo / SPEC
    spec.write_text(
        spec.read_text()
        .replace("canaryPercent: 20}", "canaryPercent: 30}")
        .replace("replicas: 2", "replicas: 3")
    )
    result = render_repository(spec, tmp_repo)
    changes = result.changes
    before = snapshot(tmp_repo)
    real_replace = Path.replace
    calls = []

    def fail_on_second(self: Path, target: Path) -> Path:
        calls.append(self)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(target))
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", fail_on_second)
    with pytest.raises(WriteError, match="No space left on device"):
        apply_changes(tmp_repo, changes, result.folders)
    monkeypatch.undo()
    assert len(calls) >= 2  # the first file had been replaced, and was restored (by replace)
    assert snapshot(tmp_repo) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_folder_is_refused_cleanly(tmp_repo: Path, run_cli: Invoke) -> None:
    spec = tmp_repo / SPEC
    spec.write_text(spec.read_text().replace("canaryPercent: 20}", "canaryPercent: 30}"))
    values = tmp_repo / "apps/fastapi/values"
    values.chmod(0o555)
    try:
        before = snapshot(tmp_repo)
        run_cli("render", "--root", tmp_repo, expect=2)
        assert snapshot(tmp_repo) == before
    finally:
        values.chmod(0o755)


def _qa_environment() -> str:
    return (
        "    cluster: {name: qa, server: https://qa.example.internal:6443}\n"
        "    namespace: fastapi-qa\n"
        "    mlflow: {trackingUri: http://mlflow-qa:5000}\n"
        "    serving: {defaultAlias: A}\n"
        "    ingress: {host: qa.example.internal, tlsSecretName: qa-tls, whitelist: [10.0.0.0/8]}\n"
        "    metallb: {pool: qa-pool, addresses: [10.30.0.0/28]}\n"
    )


def test_usage_error_exits_2(run_cli: Invoke) -> None:
    result = run_cli("render", "--no-such-option", expect=2)
    assert "No such option" in result.stderr


def test_console_script_and_module_entry_point(tmp_repo: Path) -> None:
    script = Path(sys.executable).parent / "gitopsgen"
    for command in ([str(script)], [sys.executable, "-m", "gitopsgen"]):
        ok = subprocess.run(
            [*command, "render", "--check", "--root", str(tmp_repo)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert ok.returncode == 0, ok.stderr
        assert "up to date" in ok.stdout
    spec = tmp_repo / SPEC
    spec.write_text(spec.read_text().replace("replicas: 2", "replicas: -2"))
    bad = subprocess.run(
        [str(script), "render", "--root", str(tmp_repo)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert "environments/environments.yaml:12:13: defaults.replicas: -2 is less than" in bad.stderr
    assert "Traceback" not in bad.stderr
