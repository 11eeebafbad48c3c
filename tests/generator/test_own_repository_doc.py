"""docs/own-repository.md shows what the tool prints: each `<!-- example: ID -->` block there is
produced here by the same commands, in a temporary folder, and compared byte for byte.
GITOPSGEN_UPDATE_GOLDEN=1 writes the new output into the page after an intended change."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support import REPO, SHARED_CRDS, Invoke

PAGE = REPO / "docs" / "own-repository.md"
_BLOCK = re.compile(r"<!-- example: (?P<id>[\w-]+) -->\n```text\n(?P<body>.*?)```\n", re.S)


def shown() -> dict[str, str]:
    return {m["id"]: m["body"] for m in _BLOCK.finditer(PAGE.read_text())}


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
        text = PAGE.read_text()
        for name, body in outputs.items():
            start = text.index(f"<!-- example: {name} -->\n```text\n")
            opened = text.index("\n", text.index("```text", start)) + 1
            closed = text.index("```\n", opened)
            text = text[:opened] + body + text[closed:]
        PAGE.write_text(text)
    assert shown() == outputs


def test_the_readme_links_the_page() -> None:
    assert "(docs/own-repository.md)" in (REPO / "README.md").read_text()
