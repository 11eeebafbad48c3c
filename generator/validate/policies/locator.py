"""Where a policy's finding points: the line of an environment's field at the level it is
written (the service in the environment, the environment, the service, `defaults`)."""

from __future__ import annotations

from gitopsgen.findings import Finding, Severity, build_finding
from gitopsgen.spec.load import written_at
from gitopsgen.spec.model import Environment, Spec
from gitopsgen.yamlsource import PathPart, SourceDocument, format_path


class SpecLocator:
    """Finds the line of an environment's field, in the environment or else in `defaults`."""

    def __init__(self, spec: Spec, doc: SourceDocument) -> None:
        self.spec = spec
        self.doc = doc

    def finding(
        self,
        policy_id: str,
        path: tuple[PathPart, ...],
        message: str,
        hint: str,
        severity: Severity | None = None,
    ) -> Finding:
        pos = self.doc.position_of(written_at(self.doc, path))
        return build_finding(
            policy_id,
            self.spec.source,
            pos.line,
            pos.column,
            format_path(path),
            message,
            hint,
            severity=severity,
        )


def env_path(env: Environment, *rest: PathPart) -> tuple[PathPart, ...]:
    """A field of a target: `environments.<env>`, or `environments.<env>.services.<s>`."""
    return (*env.target.path, *rest)


def site_path(env: Environment, *rest: PathPart) -> tuple[PathPart, ...]:
    """A field every service of an environment shares (its cluster, its address pool)."""
    return ("environments", env.name, *rest)
