"""docs/own-repository.md shows what the tool prints: each `<!-- example: ID -->` block there is
produced here by the same commands, in a temporary folder, and compared byte for byte.
GITOPSGEN_UPDATE_GOLDEN=1 writes the new output into the page after an intended change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.docs_support import example, replace_example
from tests.support import REPO, SHARED_CRDS, Invoke


def produced(tmp_path: Path, run_cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # the page runs `gitopsgen init team-gitops` in a fresh folder
    team = tmp_path / "team-gitops"
    crds = ["--crd-dir", SHARED_CRDS] if (SHARED_CRDS / "argo-cd").is_dir() else []
    return {
        "own-init": run_cli("init", "team-gitops", "--app-name", "churn").stdout,
        "own-render": run_cli("render", "--root", team).stdout,
        "own-validate": run_cli("validate", "--root", team, *crds).stdout,
        "own-upgrade-check": run_cli("upgrade", "--check", "--root", team).stdout,
    }


def test_every_example_of_the_page_is_what_the_tool_prints(
    tmp_path: Path, run_cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = produced(tmp_path, run_cli, monkeypatch)
    if os.environ.get("GITOPSGEN_UPDATE_GOLDEN") == "1":
        for name, body in outputs.items():
            replace_example(name, body)
    assert example("own-init") == outputs["own-init"]
    assert example("own-render") == outputs["own-render"]
    assert example("own-validate") == outputs["own-validate"]
    assert example("own-upgrade-check") == outputs["own-upgrade-check"]


def test_the_readme_links_the_page() -> None:
    assert "(docs/own-repository.md)" in (REPO / "README.md").read_text()
