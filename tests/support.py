"""What both suites share: where the repository is, and helpers for working on copies of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

REPO = Path(__file__).resolve().parents[1]
SHARED_CRDS = REPO.parent / "shared" / "crds"
SPEC = "environments/environments.yaml"

Invoke = Callable[..., Result]


def copy_repository(dest: Path) -> Path:
    """The parts of this repository a render and a validate read, and what they write."""
    for part in (
        "environments",
        "apps/fastapi/chart",
        "apps/fastapi/values",
        "applicationsets",
        "bootstrap",
        "metallb",
    ):
        shutil.copytree(REPO / part, dest / part)
    # the serving app's routing function, which `simulate` and promotion bodies load
    (dest / "apps/fastapi/app").mkdir(parents=True)
    shutil.copy2(REPO / "apps/fastapi/app/routing.py", dest / "apps/fastapi/app/routing.py")
    return dest


FROZEN = REPO / "tests" / "generator" / "golden" / "shipped-spec"


def frozen_repository(dest: Path) -> Path:
    """A repository whose spec is the frozen copy of the shipped spec (not the live one, which
    promotions change) with its rendered files, plus the chart and the routing function."""
    (dest / "environments").mkdir(parents=True)
    shutil.copy2(FROZEN / "spec.yaml", dest / SPEC)
    shutil.copytree(FROZEN / "expected", dest, dirs_exist_ok=True)
    shutil.copytree(REPO / "apps/fastapi/chart", dest / "apps/fastapi/chart")
    (dest / "apps/fastapi/app").mkdir(parents=True)
    shutil.copy2(REPO / "apps/fastapi/app/routing.py", dest / "apps/fastapi/app/routing.py")
    return dest


def golden_repository(dest: Path, case: str) -> Path:
    """A repository holding a golden case's spec and its expected files, plus the chart."""
    source = REPO / "tests" / "generator" / "golden" / case
    (dest / "environments").mkdir(parents=True)
    shutil.copy2(source / "spec.yaml", dest / SPEC)
    shutil.copytree(source / "expected", dest, dirs_exist_ok=True)
    shutil.copytree(REPO / "apps/fastapi/chart", dest / "apps/fastapi/chart")
    return dest


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below root, for checking that nothing changed."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
