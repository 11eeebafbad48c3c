"""The package layout holds: imports point down the documented layers, no package has a cycle,
function-level imports only where they are allowed, and the wheel lists every package."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support import REPO

PACKAGE = REPO / "generator"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on a copy of the package (imported as gitopsgen from `tree`) and its config."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not LINT_IMPORTS.exists():
        pytest.skip(f"{LINT_IMPORTS} not installed (the test extra has import-linter)")
    tree = tmp_path_factory.mktemp("layers")
    shutil.copytree(PACKAGE, tree / "gitopsgen", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_layers_and_packages_are_kept_today(package_copy: Path) -> None:
    result = _lint_imports(package_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # an upward import, hidden in a function as the old cycles were
        (
            "spec/model.py",
            "def _up() -> object:\n    from gitopsgen.promotion import edit\n    return edit\n",
            "capability layers: imports point down BROKEN",
        ),
        # siblings of one layer: live and analysis never import each other
        ("live/report.py", "import gitopsgen.analysis.verify\n", "BROKEN"),
        # a cycle inside one package
        (
            "promotion/edit.py",
            "def _cycle() -> object:\n    from gitopsgen.promotion import apply\n    return apply\n",
            "no cycle among the modules of a package BROKEN",
        ),
    ],
)
def test_an_upward_import_or_a_cycle_fails_the_lint(
    package_copy: Path, tmp_path: Path, module: str, line: str, broken: str
) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(package_copy, tree)
    target = tree / "gitopsgen" / module
    target.write_text(target.read_text() + "\n\n" + line)
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout


def _function_level_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    found.append((inner.lineno, ast.unparse(inner)))
    return found


def test_function_level_imports_only_in_the_cli_or_for_heavy_extras_with_a_reason() -> None:
    """Outside cli/ (where they keep `--help` fast) a function-level import is of a third-party
    module that is slow or optional, and says why in a comment on its line."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "cli":
            continue
        lines = path.read_text().splitlines()
        for lineno, statement in _function_level_imports(path):
            own = "gitopsgen" in statement
            if own or "#" not in lines[lineno - 1]:
                offenders.append(f"{rel}:{lineno}: {statement}")
    assert offenders == []


def test_the_wheel_lists_every_package_of_the_folder() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    # the serving chart and app ship as data of packages mapped from apps/fastapi
    assert config["package-dir"] == {
        "gitopsgen": "generator",
        "gitopsgen.scaffold.fastapi": "apps/fastapi",
    }
    folders = {
        ".".join(("gitopsgen", *p.parent.relative_to(PACKAGE).parts))
        for p in PACKAGE.rglob("__init__.py")
    }
    serving = REPO / "apps/fastapi"
    shipped = {
        ".".join(("gitopsgen.scaffold.fastapi", *p.relative_to(serving).parts))
        for p in [serving, serving / "app", serving / "app/routes", *serving.glob("chart/**")]
        if p.is_dir()
    }
    assert set(config["packages"]) == folders | shipped
