"""Golden files: each case's spec renders its expected tree byte for byte.

`shipped-spec` is the spec this repository shipped with, frozen: promotions change the live spec,
whose rendered files `render --check` keeps honest. Refresh with `make golden` after an intended
change of the templates, and review the diff.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from gitopsgen.render.registry import render_all
from gitopsgen.spec.load import parse_spec

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
SOURCE = "environments/environments.yaml"


def render_case(case: str) -> dict[str, str]:
    spec, _ = parse_spec((GOLDEN / case / "spec.yaml").read_text(), SOURCE)
    return render_all(spec)


def expected_tree(case: str) -> dict[str, str]:
    base = GOLDEN / case / "expected"
    return {
        p.relative_to(base).as_posix(): p.read_text()
        for p in sorted(base.rglob("*"))
        if p.is_file()
    }


def write_tree(case: str, files: dict[str, str]) -> None:
    base = GOLDEN / case / "expected"
    for old in sorted(base.rglob("*"), reverse=True) if base.exists() else []:
        old.unlink() if old.is_file() else old.rmdir()
    for rel, text in files.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(text)


@pytest.mark.parametrize("case", CASES)
def test_rendered_tree_matches_golden(case: str) -> None:
    files = render_case(case)
    if os.environ.get("GITOPSGEN_UPDATE_GOLDEN"):
        write_tree(case, files)
    expected = expected_tree(case)
    missing = sorted(set(expected) - set(files))
    extra = sorted(set(files) - set(expected))
    differing = sorted(p for p in set(files) & set(expected) if files[p] != expected[p])
    diff = "".join(
        line
        for p in differing[:3]
        for line in difflib.unified_diff(
            expected[p].splitlines(True),
            files[p].splitlines(True),
            f"golden/{p}",
            f"rendered/{p}",
            n=1,
        )
    )
    assert not (missing or extra or differing), (
        f"golden mismatch for {case}: missing={missing} extra={extra} differing={differing}\n"
        f"{diff}\nrefresh with `make golden` if the change is intended"
    )


@pytest.mark.parametrize("case", CASES)
def test_rendering_twice_gives_identical_bytes(case: str) -> None:
    assert render_case(case) == render_case(case)


def test_three_environments_render_every_artefact() -> None:
    files = render_case("three-envs")
    for env in ("dev", "staging", "prod"):
        assert f"apps/fastapi/values/{env}.yaml" in files
        assert f"metallb/{env}/ipaddresspool.yaml" in files
    appset = files["applicationsets/fastapi.yaml"]
    assert appset.count("- env: ") == 3
    # prod turns automated sync off: its element says so and the templatePatch reads it
    assert 'env: "prod"' in appset and 'automated: "false"' in appset
