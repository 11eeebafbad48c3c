"""Defaults a user can leave out of the spec, and what they render to."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.support import REPO, SPEC, Invoke

THREE_ENVS = REPO / "tests" / "generator" / "golden" / "three-envs"


def test_without_secrets_the_secret_is_named_after_the_app(tmp_path: Path, run_cli: Invoke) -> None:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "apps/fastapi/chart", root / "apps/fastapi/chart")
    (root / "environments").mkdir()
    text = (THREE_ENVS / "spec.yaml").read_text()
    assert "  secrets: {name: fastapi-secrets}\n" in text
    text = text.replace("  secrets: {name: fastapi-secrets}\n", "").replace(
        "  name: fastapi\n", "  name: model-api\n", 1
    )
    (root / SPEC).write_text(text)
    run_cli("render", "--root", root)
    for values in sorted((root / "apps/fastapi/values").glob("*.yaml")):
        assert yaml.safe_load(values.read_text())["secret"] == {"name": "model-api-secrets"}
