"""`gitopsgen init` and `gitopsgen upgrade`, in-process: what is written, what is refused, and
how an upgrade tells untouched files from edited ones. The installed wheel runs the whole
scaffold end to end in test_wheel.py."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from gitopsgen.scaffold.lock import digest
from gitopsgen.scaffold.plan import APP_FILES, CHART_FILES, LOCK, SPEC
from gitopsgen.spec.load import parse_spec
from tests.support import REPO, Invoke, snapshot

WORKFLOW = ".github/workflows/gitops.yaml"


@pytest.fixture
def scaffold(tmp_path: Path, run_cli: Invoke) -> Path:
    root = tmp_path / "team-gitops"
    run_cli("init", root, "--app-name", "churn")
    return root


def test_init_writes_a_spec_the_chart_the_app_and_a_lock_of_every_file(scaffold: Path) -> None:
    spec, _ = parse_spec((scaffold / SPEC).read_text(), SPEC)
    assert spec.app_name == "churn"
    assert spec.chart_path == "apps/churn/chart"
    assert spec.names == ("dev", "prod")
    assert all(env.metallb is not None for env in spec.environments)
    for shipped in ("chart/Chart.yaml", "chart/templates/deployment.yaml", "app/routing.py"):
        assert (scaffold / "apps/churn" / shipped).read_bytes() == (
            REPO / "apps/fastapi" / shipped
        ).read_bytes()
    for made in ("Makefile", WORKFLOW, ".github/workflows/image.yaml", ".pre-commit-config.yaml"):
        assert (scaffold / made).is_file(), made
    assert "\trender:" not in (scaffold / "Makefile").read_text()
    assert "\n\t$(GITOPSGEN) render\n" in (scaffold / "Makefile").read_text()
    lock = json.loads((scaffold / LOCK).read_text())
    written = {p.relative_to(scaffold).as_posix() for p in scaffold.rglob("*") if p.is_file()}
    assert set(lock["files"]) == written - {LOCK}
    assert all(digest((scaffold / p).read_text()) == h for p, h in lock["files"].items())
    assert lock["options"]["app_name"] == "churn"


def test_no_app_no_metallb_and_a_gateway_provider(tmp_path: Path, run_cli: Invoke) -> None:
    root = tmp_path / "repo"
    run_cli("init", root, "--no-app", "--no-metallb", "--ingress-provider", "envoy-gateway")
    spec, _ = parse_spec((root / SPEC).read_text(), SPEC)
    assert all(env.metallb is None for env in spec.environments)
    assert all(env.ingress.provider == "envoy-gateway" for env in spec.environments)
    assert not (root / "apps/model-api/app").exists()
    assert not (root / ".github/workflows/image.yaml").exists()
    assert (root / "apps/model-api/chart/Chart.yaml").is_file()


def test_init_refuses_a_folder_holding_any_file_it_would_write(
    tmp_path: Path, run_cli: Invoke
) -> None:
    root = tmp_path / "existing"
    (root / "apps/model-api/chart").mkdir(parents=True)
    (root / "Makefile").write_text("all:\n")
    (root / "apps/model-api/chart/values.yaml").write_text("mine: true\n")
    (root / "LICENSE").write_text("a file init does not write\n")
    before = snapshot(root)
    result = run_cli("init", root, expect=1)
    assert "already holds files `gitopsgen init` would write" in result.stderr
    assert "  Makefile\n" in result.stderr
    assert "  apps/model-api/chart/values.yaml\n" in result.stderr
    assert "nothing was written" in result.stderr
    assert snapshot(root) == before
    assert sorted(p.name for p in root.iterdir()) == ["LICENSE", "Makefile", "apps"]


def test_init_refuses_to_write_through_a_symlink(tmp_path: Path, run_cli: Invoke) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "repo"
    root.mkdir()
    (root / "apps").symlink_to(outside)
    result = run_cli("init", root, expect=1)
    assert "a symlink is in the way" in result.stderr
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in root.iterdir()) == ["apps"]


def test_init_refuses_an_app_name_that_is_no_dns_label(tmp_path: Path, run_cli: Invoke) -> None:
    result = run_cli("init", tmp_path / "r", "--app-name", "Churn_Model", expect=2)
    assert "not a DNS label" in result.stderr
    assert not (tmp_path / "r").exists()


def test_upgrade_outside_a_scaffold_is_a_usage_error(tmp_path: Path, run_cli: Invoke) -> None:
    result = run_cli("upgrade", "--root", tmp_path, expect=2)
    assert "never scaffolded by `gitopsgen init`" in result.stderr
    assert "Traceback" not in result.stderr
    assert run_cli("upgrade", "--check", "--root", tmp_path, expect=2).stderr == result.stderr


def test_upgrade_check_is_clean_on_a_fresh_scaffold(scaffold: Path, run_cli: Invoke) -> None:
    result = run_cli("upgrade", "--check", "--root", scaffold)
    assert "are up to date with gitopsgen" in result.stdout
    # the spec is the team's from the start: every promotion edits it
    (scaffold / SPEC).write_text(
        (scaffold / SPEC).read_text().replace("replicas: 2", "replicas: 3")
    )
    run_cli("upgrade", "--check", "--root", scaffold)


def _as_an_older_gitopsgen_wrote(root: Path, path: str, text: str) -> None:
    """The file as an older scaffold had it, untouched since: on disk and in the lock."""
    (root / path).write_text(text)
    lock = json.loads((root / LOCK).read_text())
    lock["files"][path] = digest(text)
    (root / LOCK).write_text(json.dumps(lock))


def test_upgrade_replaces_untouched_files_and_keeps_edited_ones(
    scaffold: Path, run_cli: Invoke
) -> None:
    current_workflow = (scaffold / WORKFLOW).read_text()
    _as_an_older_gitopsgen_wrote(scaffold, WORKFLOW, "name: gitops\n# an older version\n")
    makefile = (scaffold / "Makefile").read_text()
    (scaffold / "Makefile").write_text(makefile + "\nlint:\n\tyamllint .\n")  # the team's edit
    check = run_cli("upgrade", "--check", "--root", scaffold, expect=1)
    assert check.stdout.splitlines() == [
        f"    behind  {WORKFLOW}",
        "    edited  Makefile",
    ]
    assert "2 scaffolded file(s) are not as gitopsgen" in check.stderr

    done = run_cli("upgrade", "--root", scaffold)
    assert f"  replace  {WORKFLOW}" in done.stdout
    assert "     keep  Makefile (edited here)" in done.stdout
    assert "+lint:" not in done.stdout and "-lint:" in done.stdout  # the diff: here -> tool
    assert (scaffold / WORKFLOW).read_text() == current_workflow
    assert (scaffold / "Makefile").read_text().endswith("\tyamllint .\n")
    # the tool's Makefile did not change since init: nothing to write beside it
    assert not (scaffold / "Makefile.new").exists()
    again = run_cli("upgrade", "--check", "--root", scaffold, expect=1)
    assert again.stdout.splitlines() == ["    edited  Makefile"]


def test_an_edited_file_the_tool_changed_gets_the_new_version_beside_it(
    scaffold: Path, run_cli: Invoke
) -> None:
    current = (scaffold / WORKFLOW).read_text()
    _as_an_older_gitopsgen_wrote(scaffold, WORKFLOW, "name: gitops\n# an older version\n")
    (scaffold / WORKFLOW).write_text("name: gitops\n# an older version, edited here\n")
    done = run_cli("upgrade", "--root", scaffold)
    assert f"    write  {WORKFLOW}.new" in done.stdout
    assert (scaffold / f"{WORKFLOW}.new").read_text() == current
    assert (scaffold / WORKFLOW).read_text().endswith("edited here\n")


def test_a_file_the_team_deleted_is_reported_not_restored(scaffold: Path, run_cli: Invoke) -> None:
    (scaffold / ".pre-commit-config.yaml").unlink()
    check = run_cli("upgrade", "--check", "--root", scaffold, expect=1)
    assert check.stdout.splitlines() == ["   deleted  .pre-commit-config.yaml"]
    run_cli("upgrade", "--root", scaffold)
    assert not (scaffold / ".pre-commit-config.yaml").exists()


def test_the_wheel_ships_what_the_scaffold_copies() -> None:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    shipped = data["package-data"]
    assert set(shipped["gitopsgen.scaffold.fastapi"]) == {f for f in APP_FILES if "/" not in f}
    assert shipped["gitopsgen.scaffold.fastapi.chart"] == ["*"]
    assert shipped["gitopsgen.scaffold.fastapi.chart.templates"] == ["*"]
    assert set(CHART_FILES) == {"chart/*", "chart/templates/*"}
    serving = REPO / "apps/fastapi"
    assert not list(serving.glob("chart/*/*/*")), "a deeper chart folder is not shipped"
