"""What a team's own repository needs beyond this one: the chart where the spec says
(app.chart), environments without MetalLB, the routing function from the repository or from
gitopsgen itself, and refusals that leave no branch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from gitopsgen.live.status import app_names
from gitopsgen.render.registry import render_all
from gitopsgen.spec.load import parse_spec
from tests.support import (
    FROZEN_SPEC_TEXT,
    REPO,
    SPEC,
    Invoke,
    frozen_repository,
    git,
    state,
    without_crd_skip,
)

CHART = "apps/fastapi/chart"


def _findings(run_cli: Invoke, root: Path, expect: int) -> list[dict[str, Any]]:
    result = run_cli("validate", "--format", "json", "--root", root, expect=expect)
    data: list[dict[str, Any]] = without_crd_skip(json.loads(result.stdout))
    return data


def _spec_line(root: Path, text: str) -> int:
    return next(
        i for i, line in enumerate((root / SPEC).read_text().splitlines(), 1) if text in line
    )


# --- the chart the spec names ------------------------------------------------------------


def test_a_chart_elsewhere_renders_and_validates_from_there(
    tmp_path: Path, run_cli: Invoke
) -> None:
    root = frozen_repository(tmp_path / "repo")
    shutil.move(root / CHART, root / "deploy/serving/chart")
    shutil.rmtree(root / "apps")
    text = FROZEN_SPEC_TEXT.replace(
        "  name: fastapi\n", "  name: fastapi\n  chart: deploy/serving/chart\n"
    )
    (root / SPEC).write_text(text)
    out = run_cli("render", "--root", root).stdout
    assert "   create  deploy/serving/values/prod.yaml" in out
    appset = yaml.safe_load((root / "applicationsets/fastapi.yaml").read_text())
    source = appset["spec"]["template"]["spec"]["source"]
    assert source["path"] == "deploy/serving/chart"
    assert source["helm"]["valueFiles"] == ["values.yaml", "../values/{{ .env }}.yaml"]
    assert (
        "layered on deploy/serving/chart/values.yaml"
        in (root / "deploy/serving/values/dev.yaml").read_text()
    )
    assert _findings(run_cli, root, expect=0) == []


def test_a_missing_chart_is_an_error_at_its_spec_line(tmp_path: Path, run_cli: Invoke) -> None:
    root = frozen_repository(tmp_path / "repo")
    text = FROZEN_SPEC_TEXT.replace(
        "  name: fastapi\n", "  name: fastapi\n  chart: charts/serving\n"
    )
    (root / SPEC).write_text(text)
    run_cli("render", "--root", root)  # rendering needs no chart; validating does
    found = _findings(run_cli, root, expect=1)
    errors = [f for f in found if f["severity"] == "error"]
    assert [(f["id"], f["line"], f["path"]) for f in errors] == [
        ("GG115", _spec_line(root, "chart: charts/serving"), "app.chart")
    ]
    assert (
        "'charts/serving' is not a folder of the repository holding a Chart.yaml"
        in errors[0]["message"]
    )
    assert not [f for f in found if f["id"] in ("GG303", "GG304")]  # not echoed by Helm
    assert [f["id"] for f in found if f["severity"] == "skipped"] == ["GG011"]


def test_a_chart_path_leaving_the_repository_is_refused_at_its_line(
    tmp_path: Path, run_cli: Invoke
) -> None:
    root = frozen_repository(tmp_path / "repo")
    for chart, check in (("../other/chart", "GG008"), ("/etc/chart", "GG008"), ("linked", "GG115")):
        text = FROZEN_SPEC_TEXT.replace("  name: fastapi\n", f"  name: fastapi\n  chart: {chart}\n")
        (root / SPEC).write_text(text)
        if chart == "linked":
            (root / "linked").symlink_to(REPO / CHART)  # a chart, but outside the repository
            run_cli("render", "--root", root)
        errors = [f for f in _findings(run_cli, root, expect=1) if f["severity"] == "error"]
        assert [(f["id"], f["line"]) for f in errors] == [(check, _spec_line(root, "chart:"))], (
            chart
        )
    assert "leads outside the repository" in errors[0]["message"]


# --- MetalLB is optional -----------------------------------------------------------------


def _without_metallb(text: str, envs: tuple[str, ...]) -> str:
    lines = text.splitlines(keepends=True)
    current = None
    kept = []
    for line in lines:
        if line.startswith("  ") and not line.startswith("    ") and line.strip().endswith(":"):
            current = line.strip().rstrip(":")
        if current in envs and line.strip().startswith("metallb:"):
            continue
        kept.append(line)
    return "".join(kept)


def test_an_environment_without_metallb_renders_nothing_of_it(
    tmp_path: Path, run_cli: Invoke
) -> None:
    root = frozen_repository(tmp_path / "repo")
    (root / SPEC).write_text(_without_metallb(FROZEN_SPEC_TEXT, ("prod",)))
    out = run_cli("render", "--root", root).stdout
    assert "   delete  metallb/prod/ipaddresspool.yaml" in out
    assert not (root / "metallb/prod").exists() and (root / "metallb/dev").is_dir()
    appset = yaml.safe_load((root / "applicationsets/metallb.yaml").read_text())
    assert [e["env"] for e in appset["spec"]["generators"][0]["list"]["elements"]] == ["dev"]
    spec, _ = parse_spec((root / SPEC).read_text(), SPEC)
    assert app_names(spec, spec.environment("prod")) == ["fastapi-prod"]
    project = yaml.safe_load((root / "applicationsets/project.yaml").read_text())
    prod = "https://prod.k8s.example.internal:6443"
    assert [d["namespace"] for d in project["spec"]["destinations"] if d["server"] == prod] == [
        "fastapi-prod"
    ]
    assert _findings(run_cli, root, expect=0) == []  # no GG004: MetalLB is not required


def test_a_spec_without_metallb_has_no_metallb_applicationset() -> None:
    spec, _ = parse_spec(_without_metallb(FROZEN_SPEC_TEXT, ("dev", "prod")), SPEC)
    files = render_all(spec)
    assert not [p for p in files if "metallb" in p]
    project = yaml.safe_load(files["applicationsets/project.yaml"])
    kinds = {k["kind"] for k in project["spec"]["namespaceResourceWhitelist"]}
    assert "IPAddressPool" not in kinds and "Deployment" in kinds
    assert "metallb-system" not in {d["namespace"] for d in project["spec"]["destinations"]}


# --- the routing function ----------------------------------------------------------------


def test_simulate_routes_with_the_repositorys_own_routing_function(
    tmp_path: Path, run_cli: Invoke
) -> None:
    root = frozen_repository(tmp_path / "repo")
    routing = root / "apps/fastapi/app/routing.py"
    routing.write_text(
        routing.read_text() + "\n\ndef choose_alias(*_args: object) -> str:\n    return 'A'\n"
    )
    out = run_cli("simulate", "prod", "--clients", "50", "--root", root).stdout
    assert "A 100.0%, B 0.0%" in out  # prod serves B by the shipped function


def test_without_a_copy_of_the_app_simulate_uses_the_shipped_one(
    tmp_path: Path, run_cli: Invoke
) -> None:
    root = frozen_repository(tmp_path / "repo")
    shutil.rmtree(root / "apps/fastapi/app")
    out = run_cli("simulate", "prod", "--clients", "50", "--root", root).stdout
    assert "A 0.0%, B 100.0%" in out


# --- refusals leave no branch ------------------------------------------------------------


def test_a_promotion_failing_on_the_routing_function_leaves_no_branch(
    clone: Path, origin: Path, run_cli: Invoke
) -> None:
    """The issue's case: `promote` failed while writing its pull request and left its branch,
    so the retry was refused because the branch existed."""
    (clone / "apps/fastapi/app/routing.py").write_text("def choose_alias(:\n")
    git(clone, "commit", "--quiet", "-am", "a broken routing function")
    before = state(clone)
    for _ in range(2):  # the retry meets the same error, not "branch already exists"
        result = run_cli("promote", "prod", "--to", "A", "--push", "--root", clone, expect=1)
        assert "cannot load the routing function" in result.stderr
        assert "SyntaxError" in result.stderr
        assert "already exists" not in result.stderr
        assert state(clone) == before
        assert git(origin, "branch", "--list") == "* main"


def test_the_schema_states_the_models_chart_default() -> None:
    from gitopsgen.spec.load import spec_schema
    from gitopsgen.spec.model import DEFAULT_CHART_PATH

    chart = spec_schema()["properties"]["app"]["properties"]["chart"]
    assert chart["default"] == DEFAULT_CHART_PATH
    spec, _ = parse_spec(FROZEN_SPEC_TEXT, SPEC)  # it does not say app.chart
    assert spec.chart_path == DEFAULT_CHART_PATH == CHART
