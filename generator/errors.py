"""One exception tree; the CLI catches it in one place."""

from __future__ import annotations

from generator.findings import Finding


class GitopsgenError(Exception):
    """Base of every error gitopsgen reports to a user. Exit code 1 unless said otherwise."""

    exit_code = 1


class SpecError(GitopsgenError):
    """The spec is invalid; carries every finding, not the first only."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("\n".join(f.one_line() for f in findings))


class SpecUnreadable(GitopsgenError):
    """The spec file cannot be read (missing, a folder, no permission): an I/O error."""

    exit_code = 2


class RenderError(GitopsgenError):
    """A template failed or produced something that is not valid YAML."""


class WriteError(GitopsgenError):
    """The rendered tree could not be written; nothing on disk was changed."""

    exit_code = 2


class ValidationFailed(GitopsgenError):
    """Validation found errors; carries the findings."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__(f"{sum(f.is_error for f in findings)} error(s)")


class UnknownEnvironment(GitopsgenError):
    """A command named an environment the spec does not have: a usage error."""

    exit_code = 2


class GitError(GitopsgenError):
    """A git operation was refused or failed; the repository is as it was."""
