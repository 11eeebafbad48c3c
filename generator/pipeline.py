"""Spec -> rendered files, the step every command starts with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.errors import SpecError
from generator.findings import Finding
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
    warnings: list[Finding]


def render_repository(spec_path: Path, root: Path) -> RenderResult:
    """Load and check the spec (schema and error-level policies), render every file, and plan
    the sync to `root`. Nothing is written."""
    from generator.validate.policies import check_spec_policies

    spec, document = load_spec(spec_path, root)
    policy_findings = check_spec_policies(spec, document)
    errors = [f for f in policy_findings if f.is_error]
    if errors:
        raise SpecError(errors)
    files = render_all(spec)
    warnings = [f for f in policy_findings if not f.is_error]
    return RenderResult(spec, document, files, plan_changes(root, files), warnings)
