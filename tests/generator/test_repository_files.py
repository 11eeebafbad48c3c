"""CI and hook files users get with the repository, checked against the real schemas."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO, frozen_repository

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


GITOPS_CHECK = [
    "gitopsgen render --check",
    "gitopsgen schemas fetch",
    "gitopsgen validate --format github",
]


def workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((REPO / ".github/workflows" / name).read_text())
    return loaded


def test_gitops_workflow_runs_only_the_gitops_check_on_every_pull_request() -> None:
    gitops = workflow("gitops.yaml")
    on = gitops[True]  # YAML 1.1 reads the key `on` as true
    assert on["pull_request"] is None  # every pull request, whatever it changes
    assert on["push"] == {"branches": ["main"]}
    runs = [s["run"] for s in gitops["jobs"]["check"]["steps"] if "run" in s]
    assert runs == ["python -m pip install ."] + GITOPS_CHECK  # no extras, no tests


def test_make_pr_check_runs_exactly_the_gitops_check() -> None:
    makefile = (REPO / "Makefile").read_text().split("\npr-check:", 1)[1]
    recipe = []
    for line in makefile.splitlines()[1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip().removeprefix("$(CHECK_BIN)/"))
    assert recipe == GITOPS_CHECK
    assert "pip install --quiet .\n" in (REPO / "Makefile").read_text()


def test_render_and_validate_need_no_extra(tmp_path: Path) -> None:
    """What `pip install .` installs is enough: the check runs with every extra's modules
    made unimportable."""
    root = frozen_repository(tmp_path / "repo")
    blocked = ["fastapi", "uvicorn", "mlflow", "sklearn", "pandas", "kubernetes", "pytest"]
    script = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {blocked!r}:\n"
        "            raise ImportError('extra needed: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from gitopsgen.cli import main\n"
        "sys.argv = ['gitopsgen', *sys.argv[1:]]\n"
        "main()\n"
    )
    for command in (["render", "--check"], ["validate", "--format", "github"]):
        result = subprocess.run(
            [sys.executable, "-c", script, *command, "--root", str(root)],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def github_paths_match(patterns: list[str], path: str) -> bool:
    """GitHub's `paths` filter: `*` within a folder, `**` across folders, `!` excludes, and
    the last pattern that matches decides."""
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.removeprefix("!")
        regex = "".join(
            ".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part)
            for part in re.split(r"(\*\*|\*)", glob)
        )
        if re.fullmatch(regex, path):
            matched = not negated
    return matched


PROMOTION_FILES = ["environments/environments.yaml", "apps/fastapi/values/prod.yaml"]
TOOL_FILES = [
    "generator/promotion/apply.py",
    "generator/templates/root-app.yaml.j2",
    "apps/fastapi/app/main.py",
    "apps/fastapi/chart/values.yaml",
    "tests/support.py",
    "bench/run.py",
    "pyproject.toml",
    "Makefile",
    ".github/workflows/gitops.yaml",
]


def test_tests_run_only_when_the_tool_changes() -> None:
    on = workflow("tests.yaml")[True]
    assert on["push"]["branches"] == ["main"]
    for event in ("pull_request", "push"):
        patterns = on[event]["paths"]
        assert not any(github_paths_match(patterns, p) for p in PROMOTION_FILES), event
        assert all(github_paths_match(patterns, p) for p in TOOL_FILES), event
    steps = [s.get("run") for s in workflow("tests.yaml")["jobs"]["test"]["steps"]]
    assert "make test" in steps


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
    assert "make pr-check" in readme
