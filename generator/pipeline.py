"""Spec -> rendered files, the step every command starts with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.model import Spec
from generator.render import render_all
from generator.spec import load_spec
from generator.writer import FileChange, plan_changes
from generator.yamlsource import SourceDocument


@dataclass(frozen=True)
class RenderResult:
    spec: Spec
    document: SourceDocument
    files: dict[str, str]
    changes: list[FileChange]


def render_repository(spec_path: Path, root: Path) -> RenderResult:
    """Load and check the spec, render every file, and plan the sync to `root` (no writes)."""
    spec, document = load_spec(spec_path, root)
    files = render_all(spec)
    return RenderResult(spec, document, files, plan_changes(root, files))
