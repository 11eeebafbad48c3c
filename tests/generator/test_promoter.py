"""The GitOps Promoter objects gitopsgen renders in hydrated mode (render/promoter.py): only then,
in the shapes of the upstream CRDs, passing our strict schema through `validate`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gitopsgen.errors import RenderError
from gitopsgen.promotion.prbody import manifest_diff
from gitopsgen.render.promoter import PROMOTER_PATH, repository_owner_and_name
from gitopsgen.render.registry import render_all
from gitopsgen.spec.load import parse_spec
from tests.support import SPEC, Invoke

GOLDEN = Path(__file__).parent / "golden"
HYDRATED = "kind: Environments\ndelivery: {mode: hydrated}\n"


def documents(spec_text: str) -> list[dict[str, object]]:
    spec, _ = parse_spec(spec_text, SPEC)
    return [d for d in yaml.safe_load_all(render_all(spec)[PROMOTER_PATH]) if d]


def test_chart_mode_renders_no_promoter_objects() -> None:
    spec, _ = parse_spec((GOLDEN / "three-envs/spec.yaml").read_text(), SPEC)
    assert not any(p.startswith("promoter/") for p in render_all(spec))


def test_environments_in_spec_order_with_automerge_from_sync_policy() -> None:
    docs = documents((GOLDEN / "hydrated/spec.yaml").read_text())
    assert [d["kind"] for d in docs] == [
        "GitRepository",
        "PromotionStrategy",
        "ArgoCDCommitStatus",
        "ArgoCDCommitStatus",
    ]
    strategy = docs[1]["spec"]
    assert isinstance(strategy, dict)
    # prod's syncPolicy is manual in this spec: its promotion PR waits for a human
    assert strategy["environments"] == [
        {"branch": "environment/dev", "autoMerge": True},
        {"branch": "environment/staging", "autoMerge": True},
        {"branch": "environment/prod", "autoMerge": False},
    ]
    keys = [s["key"] for s in strategy["activeCommitStatuses"]]
    assert keys == [d["spec"]["key"] for d in docs[2:]] == ["fastapi-health", "metallb-health"]  # type: ignore[index]
    assert docs[0]["spec"] == {
        "github": {"owner": "example-org", "name": "mlops-gitops"},
        "scmProviderRef": {"kind": "ScmProvider", "name": "mlops-serving"},
    }


def test_shared_branch_mode_gives_each_path_its_strategy() -> None:
    text = (
        (GOLDEN / "hydrated/spec.yaml")
        .read_text()
        .replace("delivery: {mode: hydrated}", "delivery: {mode: hydrated, activePaths: true}")
    )
    docs = documents(text)
    strategies = [d for d in docs if d["kind"] == "PromotionStrategy"]
    assert [s["spec"]["activePath"] for s in strategies] == ["fastapi", "metallb"]  # type: ignore[index]
    statuses = [d for d in docs if d["kind"] == "ArgoCDCommitStatus"]
    assert [s["spec"]["promotionStrategyRef"]["name"] for s in statuses] == [  # type: ignore[index]
        "mlops-serving-fastapi",
        "mlops-serving-metallb",
    ]


@pytest.mark.parametrize(
    "url",
    ["https://github.com/only-owner", "ftp://github.com/a/b.git", "https://host/a/b/c.git"],
)
def test_a_url_without_owner_and_name_is_a_render_error(url: str) -> None:
    with pytest.raises(RenderError, match="owner"):
        repository_owner_and_name(url)


def test_rendered_objects_validate_and_a_wrong_field_is_refused(
    tmp_repo: Path, run_cli: Invoke
) -> None:
    spec = tmp_repo / SPEC
    spec.write_text(spec.read_text().replace("kind: Environments\n", HYDRATED, 1))
    run_cli("render", "--root", tmp_repo)
    run_cli("validate", "--root", tmp_repo)
    objects = tmp_repo / PROMOTER_PATH
    objects.write_text(objects.read_text().replace("autoMerge:", "automerge:", 1))
    result = run_cli("validate", "--root", tmp_repo, "--format", "json", objects, expect=1)
    assert "GG301" in result.stdout and "automerge" in result.stdout


def test_pr_body_links_the_manifest_diff_in_hydrated_mode_only() -> None:
    text = (GOLDEN / "hydrated/spec.yaml").read_text()
    spec, _ = parse_spec(text, SPEC)
    lines = manifest_diff(spec, "prod")
    assert lines[-1] == (
        "- https://github.com/example-org/mlops-gitops/compare/"
        "environment/prod...environment/prod-next"
    )
    assert any("`gitopsgen hydrate`" in ln for ln in lines)
    shared, _ = parse_spec(
        text.replace("{mode: hydrated}", "{mode: hydrated, activePaths: true}"), SPEC
    )
    assert manifest_diff(shared, "prod")[-2:] == [
        "- https://github.com/example-org/mlops-gitops/compare/"
        f"environment/prod...environment/prod-next/{path}"
        for path in ("fastapi", "metallb")
    ]
