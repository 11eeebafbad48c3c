"""The ApplicationSets expanded by real Go templates (Helm's engine) into Applications."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gitopsgen.validate.preview import check_paths, preview_applicationset
from tests.support import Invoke


def apps_of(text: str) -> dict[str, dict[str, Any]]:
    return {a["metadata"]["name"]: a for a in yaml.safe_load_all(text) if a}


def test_preview_prints_the_applications_argo_cd_will_create(
    frozen_root: Path, run_cli: Invoke
) -> None:
    apps = apps_of(run_cli("preview", "--root", frozen_root).stdout)
    assert sorted(apps) == [
        "fastapi-dev",
        "fastapi-prod",
        "mlops-serving-metallb-dev",
        "mlops-serving-metallb-prod",
    ]
    prod = apps["fastapi-prod"]["spec"]
    assert prod["destination"] == {
        "server": "https://prod.k8s.example.internal:6443",
        "namespace": "fastapi-prod",
    }
    assert prod["source"]["helm"]["valueFiles"] == ["values.yaml", "../values/prod.yaml"]
    assert prod["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert apps["mlops-serving-metallb-dev"]["spec"]["source"]["path"] == "metallb/dev"


def test_preview_one_environment(frozen_root: Path, run_cli: Invoke) -> None:
    apps = apps_of(run_cli("preview", "dev", "--root", frozen_root).stdout)
    assert sorted(apps) == ["fastapi-dev", "mlops-serving-metallb-dev"]
    run_cli("preview", "nope", "--root", frozen_root, expect=2)


def test_template_patch_turns_automated_sync_off(frozen_root: Path) -> None:
    appset = yaml.safe_load((frozen_root / "applicationsets/fastapi.yaml").read_text())
    appset["spec"]["generators"][0]["list"]["elements"][1]["automated"] = "false"
    apps = preview_applicationset(appset, "applicationsets/fastapi.yaml").applications
    assert "automated" in apps[0]["spec"]["syncPolicy"]
    assert "automated" not in apps[1]["spec"]["syncPolicy"]


def test_missing_key_and_removed_function_are_errors(frozen_root: Path) -> None:
    appset = yaml.safe_load((frozen_root / "applicationsets/fastapi.yaml").read_text())
    appset["spec"]["template"]["metadata"]["name"] = '{{ .envv }}-{{ env "HOME" }}'
    found = preview_applicationset(appset, "applicationsets/fastapi.yaml").findings
    messages = " ".join(f.message for f in found)
    assert "uses .envv" in messages and "missingkey=error" in messages
    assert "removes the template function 'env'" in messages
    assert {f.id for f in found} == {"GG306"}


def test_sprig_functions_render_for_real(frozen_root: Path) -> None:
    appset = yaml.safe_load((frozen_root / "applicationsets/fastapi.yaml").read_text())
    appset["spec"]["template"]["metadata"]["name"] = '{{ .env | upper | printf "%s-x" }}'
    apps = preview_applicationset(appset, "x").applications
    assert [a["metadata"]["name"] for a in apps] == ["DEV-x", "PROD-x"]


def test_missing_value_file_and_escape_from_repository(tmp_repo: Path) -> None:
    appset = yaml.safe_load((tmp_repo / "applicationsets/fastapi.yaml").read_text())
    (tmp_repo / "apps/fastapi/values/prod.yaml").unlink()
    appset["spec"]["template"]["spec"]["source"]["helm"]["valueFiles"].append(
        "../../../../../etc/passwd"
    )
    apps = preview_applicationset(appset, "applicationsets/fastapi.yaml").applications
    found = [f for app in apps for f in check_paths(app, tmp_repo, "applicationsets/fastapi.yaml")]
    messages = [f"{f.path} {f.message}" for f in found]
    assert any(
        "fastapi-prod" in m and "'../values/prod.yaml' does not exist" in m for m in messages
    )
    assert sum("points outside the repository" in m for m in messages) == 2
    assert {f.id for f in found} == {"GG307"}
