"""Spec -> rendered files, the step every command starts with."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from gitopsgen.errors import SpecError
from gitopsgen.findings import Finding
from gitopsgen.render.registry import catalog, render_all
from gitopsgen.spec.load import SpecReading, read_spec, read_spec_text
from gitopsgen.spec.model import Environment, Spec
from gitopsgen.sync.writer import FileChange, plan_changes
from gitopsgen.validate.lenient import broken_environment_policies
from gitopsgen.validate.policies import check_spec_policies
from gitopsgen.yamlsource import SourceDocument


@dataclass(frozen=True)
class RenderResult:
    spec: Spec
    document: SourceDocument
    files: dict[str, str]
    changes: list[FileChange]
    warnings: list[Finding]
    folders: tuple[str, ...]  # the spec's rendered folders, where the changes are written


@dataclass(frozen=True)
class CheckedSpec:
    """The schema's and the policies' findings over every part of the spec the schema accepted,
    and which environments an error leaves out of the checks that follow (render, Helm,
    preview): their findings would be consequences of that error, not causes."""

    reading: SpecReading
    policy_findings: list[Finding]
    broken: dict[str, Finding]  # target key -> the first error in it (schema or policy)

    @property
    def findings(self) -> list[Finding]:
        return sorted({*self.reading.findings, *self.policy_findings})

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    def renderable(self) -> Spec | None:
        """The spec reduced to its environments without errors, when its own fields are sound
        (None: nothing can be rendered)."""
        spec = self.reading.spec
        if spec is None or self.reading.global_error is not None:
            return None
        clean = tuple(env for env in spec.environments if env.target.key not in self.broken)
        return replace(spec, environments=clean) if clean else None


def check_spec(spec_path: Path, root: Path) -> CheckedSpec:
    """Schema and policies in one pass; raises only when the file cannot be read."""
    reading = read_spec(*read_spec_text(spec_path, root))
    if reading.spec is None:
        return CheckedSpec(reading, [], dict(reading.broken))
    policy_findings = [
        *check_spec_policies(reading.spec, reading.document),
        *broken_environment_policies(reading),
    ]
    broken = dict(reading.broken)
    for finding in policy_findings:
        for env in reading.spec.environments:
            if finding.is_error and _concerns(finding, env):
                broken.setdefault(env.target.key, finding)
    return CheckedSpec(reading, policy_findings, broken)


def _under(path: str, level: str) -> bool:
    return path == level or path.startswith((level + ".", level + "["))


def _concerns(finding: Finding, env: Environment) -> bool:
    """A finding at a level the target inherits: its own, `defaults`, and in the services form
    its environment's (not another service's there) and its service's."""
    path = finding.path
    if _under(path, "defaults"):
        return True
    own = f"environments.{env.name}"
    if env.service is None:
        return _under(path, own)
    if _under(path, f"{own}.services"):
        return _under(path, f"{own}.services.{env.service}")
    return _under(path, own) or _under(path, f"services.{env.service}")


def render_repository(spec_path: Path, root: Path) -> RenderResult:
    """Load and check the spec (schema and error-level policies, all reported at once), render
    every file, and plan the sync to `root`. Nothing is written."""
    checked = check_spec(spec_path, root)
    spec = checked.reading.spec
    if checked.errors or spec is None:
        raise SpecError(checked.errors)
    files = render_all(spec)
    warnings = [f for f in checked.policy_findings if not f.is_error]
    folders = catalog(spec).folders
    changes = plan_changes(root, files, folders)
    return RenderResult(spec, checked.reading.document, files, changes, warnings, folders)
