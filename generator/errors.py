"""One exception tree and the one exit-code table; the CLI catches the tree in one place.

Every error class states its exit code once, as an `ExitCode`; `--help` and docs/cli.md print the
table below (a test keeps them equal)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Protocol

from gitopsgen.findings import Finding


class ExitCode(IntEnum):
    OK = 0
    FINDING = 1
    USAGE = 2
    INCONCLUSIVE = 3
    INTERRUPTED = 130  # SIGINT; SIGTERM is 143
    TERMINATED = 143


EXIT_CODE_MEANINGS: tuple[tuple[int, str], ...] = (
    (ExitCode.OK, "success: rendered, valid, in sync, promoted"),
    (
        ExitCode.FINDING,
        "a finding or a refusal: invalid spec, validation errors, stale files, drift, "
        "a refused promotion, a wait that timed out",
    ),
    (
        ExitCode.USAGE,
        "usage or environment: a wrong option or argument, an unknown environment, an "
        "unreadable file, a cluster or server that cannot be reached, an internal error",
    ),
    (ExitCode.INCONCLUSIVE, "inconclusive: `verify` saw too few samples or no data to decide"),
    (
        ExitCode.INTERRUPTED,
        "interrupted by SIGINT (143: SIGTERM); a promotion or commit under way was undone",
    ),
)


class GitopsgenError(Exception):
    """Base of every error gitopsgen reports to a user."""

    exit_code: int = ExitCode.FINDING


# --- the spec -------------------------------------------------------------------------------


class SpecError(GitopsgenError):
    """The spec is invalid; carries every finding, not the first only."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("\n".join(f.one_line() for f in findings))


class SpecUnreadable(GitopsgenError):
    """The spec file cannot be read (missing, a folder, no permission): an I/O error."""

    exit_code = ExitCode.USAGE


class UnknownEnvironment(GitopsgenError):
    """A command named an environment the spec does not have: a usage error."""

    exit_code = ExitCode.USAGE


class UnknownService(GitopsgenError):
    """A command named a service the spec does not have (or not in that environment)."""

    exit_code = ExitCode.USAGE


class ServiceRequired(GitopsgenError):
    """A command that changes one service was not told which, and the spec has several."""

    exit_code = ExitCode.USAGE


class EditError(GitopsgenError):
    """The field cannot be set this way (unknown environment, a list in the way, ...)."""


class AssignmentError(EditError):
    """A FIELD=VALUE argument that is not one: a usage error."""

    exit_code = ExitCode.USAGE


# --- rendering and writing ------------------------------------------------------------------


class RenderError(GitopsgenError):
    """A template failed or produced something that is not valid YAML."""


class WriteError(GitopsgenError):
    """The rendered tree could not be written; nothing on disk was changed."""

    exit_code = ExitCode.USAGE


class RepositoryBusy(GitopsgenError):
    """Another gitopsgen held the repository's lock for longer than we wait."""

    exit_code = ExitCode.USAGE


class ForeignJournal(WriteError):
    """A render journal gitopsgen did not write in this checkout (it came out of Git or a
    copy): never applied; the user removes it."""


class Described(Protocol):
    def describe(self) -> str: ...


class UnsafeTreeError(GitopsgenError):
    """A rendered folder holds something that is not a folder or a regular file."""

    def __init__(self, found: Sequence[Described]) -> None:
        self.found = list(found)
        lines = [f"  {u.describe()}" for u in found]
        super().__init__(
            "refusing to touch the rendered folders:\n"
            + "\n".join(lines)
            + "\nremove it and run `gitopsgen render`; rendered folders hold regular files only"
        )


# --- scaffolding ----------------------------------------------------------------------------


class ScaffoldConflict(GitopsgenError):
    """`init` found files it would write (or a symlink in their way); nothing was written."""

    def __init__(self, paths: Sequence[str], reason: str) -> None:
        self.paths = list(paths)
        shown = "\n".join(f"  {p}" for p in self.paths)
        super().__init__(f"{reason}; nothing was written:\n{shown}")


class NotScaffolded(GitopsgenError):
    """`upgrade` in a folder `init` never scaffolded (no lock file): a usage error."""

    exit_code = ExitCode.USAGE


# --- validation -----------------------------------------------------------------------------


class ValidationFailed(GitopsgenError):
    """Validation found errors; carries the findings."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__(f"{sum(f.is_error for f in findings)} error(s)")


class FetchError(GitopsgenError):
    """`schemas fetch` could not download or accept a CRD; the cache is as it was."""

    exit_code = ExitCode.USAGE


# --- git and promotions ---------------------------------------------------------------------


class GitError(GitopsgenError):
    """A git operation was refused or failed; the repository is as it was."""


class PromotionError(GitopsgenError):
    """A promotion was refused; the repository is as it was."""


class RollbackRefused(GitopsgenError):
    """The last recorded change cannot be undone as it stands; nothing was changed."""


class Interrupted(GitopsgenError):
    """SIGINT or SIGTERM arrived; what was started has been undone."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(
            f"interrupted by {signal_name}: nothing was changed; the repository is as it was "
            "(branch, HEAD, index and files)"
        )
        self.signal_name = signal_name
        self.exit_code = ExitCode.INTERRUPTED if signal_name == "SIGINT" else ExitCode.TERMINATED


# --- remote servers -------------------------------------------------------------------------


class ClusterUnreachable(GitopsgenError):
    """No kubeconfig, unknown context, unauthorised, refused or timed out."""

    exit_code = ExitCode.USAGE


class RegistryError(GitopsgenError):
    """The MLflow registry could not be reached or refused: an environment problem."""

    exit_code = ExitCode.USAGE


class PrometheusError(GitopsgenError):
    """Prometheus could not be reached or answered with an error: an environment problem."""

    exit_code = ExitCode.USAGE


class HydrateError(GitopsgenError):
    """`hydrate` refuses: uncommitted spec changes, a non-http(s) URL, a short SHA, a proposed
    branch that diverged from origin's."""


class RemoteError(GitopsgenError):
    """A remote server gave no usable answer: unreachable, too slow in total, too large,
    malformed, or redirecting elsewhere. `shown` is its URL without credentials; callers that
    name the server in their own words use `reason`."""

    exit_code = ExitCode.USAGE

    def __init__(self, shown: str, reason: str, *, unreachable: bool = False) -> None:
        super().__init__(f"{shown}: {reason}")
        self.shown, self.reason, self.unreachable = shown, reason, unreachable
