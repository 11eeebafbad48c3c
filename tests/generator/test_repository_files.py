"""CI and hook files users get with the repository, checked against the real schemas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import REPO

WORKFLOWS = sorted((REPO / ".github/workflows").glob("*.yaml"))


def check_workflow(path: Path) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).parent / "check-jsonschema"
    if not tool.exists():
        pytest.skip("check-jsonschema is not installed (the test extra)")
    return subprocess.run(
        [str(tool), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflow_matches_the_github_schema(workflow: Path) -> None:
    result = check_workflow(workflow)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_workflow_is_caught(tmp_path: Path) -> None:
    broken = yaml.safe_load((REPO / ".github/workflows/gitops.yaml").read_text())
    broken["jobs"]["check"]["runs-on"] = {"no": "such shape"}
    broken["jobs"]["check"]["timeout-minutes"] = "forever"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    assert check_workflow(path).returncode == 1


def test_gitops_workflow_runs_the_checks() -> None:
    text = (REPO / ".github/workflows/gitops.yaml").read_text()
    for step in ("gitopsgen render --check", "gitopsgen validate --format github", "make test"):
        assert step in text
    on = yaml.safe_load(text)[True]  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in on and on["push"]["branches"] == ["main"]


def test_image_workflow_builds_apps_fastapi_tagged_with_the_sha() -> None:
    workflow = yaml.safe_load((REPO / ".github/workflows/image.yaml").read_text())
    assert workflow[True]["push"]["paths"] == ["apps/fastapi/**"]
    build = next(
        s
        for s in workflow["jobs"]["build"]["steps"]
        if str(s.get("uses", "")).startswith("docker/build-push-action")
    )
    assert build["with"]["context"] == "apps/fastapi"
    assert "${{ github.sha }}" in build["with"]["tags"]
    assert "secrets.REGISTRY_PASSWORD" in (REPO / ".github/workflows/image.yaml").read_text()


def test_pre_commit_hooks() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["gitopsgen-render-check"]["entry"] == "gitopsgen render --check"
    assert hooks["gitopsgen-validate"]["entry"] == "gitopsgen validate"
    assert all(h["pass_filenames"] is False for h in hooks.values())


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make test" in readme
    assert "make test" in (REPO / ".ci/run").read_text()
