"""What a promotion's pull request is written from: the edit, what it changed, and the spec
before and after."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitopsgen.findings import Finding
from gitopsgen.promotion.edit import Edit
from gitopsgen.promotion.trailers import Change
from gitopsgen.spec.model import Spec


@dataclass(frozen=True)
class PullRequestFacts:
    edit: Edit
    changes: list[Change]
    paths: list[str]
    before: Spec
    after: Spec
    root: Path
    findings: list[Finding]
    spec_rel: str
    before_data: dict[str, Any]
    objects: dict[str, list[str]]  # environment (or Argo CD) -> rendered object changes
