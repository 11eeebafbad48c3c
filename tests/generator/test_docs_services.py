"""docs/services.md shows what the tool prints and writes for its example: every block marked
`<!-- example: services-NAME -->` is produced here and must be equal (refresh with
GITOPSGEN_UPDATE_GOLDEN=1 pytest tests/generator/test_docs_services.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.docs_support import example, replace_example
from tests.support import REPO, SPEC, Invoke, git, git_repository, golden_repository

EXAMPLE = REPO / "tests/generator/golden/two-services"


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """The example spec alone (nothing rendered yet), the chart and the routing."""
    root = tmp_path / "repo"
    (root / "environments").mkdir(parents=True)
    shutil.copy2(EXAMPLE / "spec.yaml", root / SPEC)
    shutil.copytree(REPO / "apps/fastapi/chart", root / "apps/fastapi/chart")
    (root / "apps/fastapi/app").mkdir(parents=True)
    shutil.copy2(REPO / "apps/fastapi/app/routing.py", root / "apps/fastapi/app/routing.py")
    return root


def outputs(root: Path, origin: Path, run_cli: Invoke) -> dict[str, Callable[[], str]]:
    def render() -> str:
        return str(run_cli("render", "--root", root).stdout)

    def rendered() -> str:
        golden = golden_repository(root.parent / "golden", "two-services")
        return (golden / "apps/fastapi/values/fraud/prod.yaml").read_text()

    def preview() -> str:
        return str(run_cli("preview", "prod", "--service", "fraud", "--root", root).stdout)

    def promote() -> str:
        git_repository(root, origin)
        run_cli("promote", "prod", "--service", "fraud", "--to", "B", "--root", root)
        return git(root, "log", "-1", "--format=%B", "promote/fraud-prod-B") + "\n"

    def not_deployed() -> str:
        other = root.parent / "without-churn-in-dev"
        (other / "environments").mkdir(parents=True)
        dev_churn = '      churn: {ingress: {host: churn-dev.example.internal}, image: {tag: "1.1.0-rc1"}}\n'
        (other / SPEC).write_text((root / SPEC).read_text().replace(dev_churn, ""))
        shutil.copytree(root / "apps/fastapi/chart", other / "apps/fastapi/chart")
        return str(run_cli("preview", "dev", "--root", other).stderr)

    def several() -> str:
        result = run_cli("promote", "prod", "--to", "B", "--root", root, expect=2)
        return f"$ gitopsgen promote prod --to B\n{result.stderr}"

    def unknown() -> str:
        result = run_cli("rollback", "prod", "--service", "frod", "--root", root, expect=2)
        return f"$ gitopsgen rollback prod --service frod\n{result.stderr}"

    return {
        "spec": lambda: (EXAMPLE / "spec.yaml").read_text(),
        "render": render,
        "values": rendered,
        "preview": preview,
        "not-deployed": not_deployed,
        "promote": promote,
        "several": several,
        "unknown": unknown,
    }


def test_the_services_page_shows_what_the_tool_does(
    example_repo: Path, origin: Path, run_cli: Invoke
) -> None:
    makers = outputs(example_repo, origin, run_cli)
    produced = {name: makers[name]() for name in makers}  # in order: render before promote
    if os.environ.get("GITOPSGEN_UPDATE_DOCS") or os.environ.get("GITOPSGEN_UPDATE_GOLDEN"):
        for name, text in produced.items():
            replace_example(f"services-{name}", text)
    assert example("services-spec") == produced["spec"]
    assert example("services-render") == produced["render"]
    assert example("services-values") == produced["values"]
    assert example("services-preview") == produced["preview"]
    assert example("services-not-deployed") == produced["not-deployed"]
    assert example("services-promote") == produced["promote"]
    assert example("services-several") == produced["several"]
    assert example("services-unknown") == produced["unknown"]


def test_the_readme_links_the_services_page() -> None:
    assert "[Several model services](docs/services.md)" in (REPO / "README.md").read_text()
