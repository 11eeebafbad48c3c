"""What every command shares: error handling, the exit-code table, root and spec options."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from enum import Enum
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gitopsgen.errors import (
    EXIT_CODE_MEANINGS,
    ExitCode,
    GitopsgenError,
    SpecError,
    ValidationFailed,
)
from gitopsgen.text import printable

if TYPE_CHECKING:
    from gitopsgen.spec.model import Spec

F = TypeVar("F", bound=Callable[..., Any])

SPEC_RELATIVE = Path("environments") / "environments.yaml"

# One table for every command (its home is gitopsgen.errors); docs/cli.md repeats it and a test
# keeps the two equal.
EXIT_CODES = EXIT_CODE_MEANINGS
EXIT_CODES_HELP = "\b\nExit codes:\n" + "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES)


def command_epilog(*examples: str) -> str:
    """The epilog every command's --help ends with: examples, then the exit codes."""
    shown = "\n".join(f"  {example}" for example in examples)
    return f"\b\nExamples:\n{shown}\n\n{EXIT_CODES_HELP}"


def reports_errors(func: F) -> F:
    """Catch gitopsgen's errors in one place: a clear message, the right exit code, no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SpecError as exc:
            for finding in exc.findings:
                click.echo(f"{finding.one_line()} [{finding.id}]", err=True)
            click.echo(
                f"error: the spec is invalid ({len(exc.findings)} problem(s)); nothing was written",
                err=True,
            )
            sys.exit(exc.exit_code)
        except ValidationFailed as exc:
            from gitopsgen.validate.report import report_text

            click.echo(report_text(exc.findings), err=True, nl=False)
            click.echo("error: validation failed; nothing was committed", err=True)
            sys.exit(exc.exit_code)
        except GitopsgenError as exc:  # escaped: a message may quote what a server said
            click.echo(f"error: {printable(str(exc), keep_newlines=True)}", err=True)
            sys.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # a bug: say so plainly, traceback only on request
            if os.environ.get("GITOPSGEN_DEBUG"):
                raise
            click.echo(
                f"internal error: {type(exc).__name__}: {exc} "
                "(set GITOPSGEN_DEBUG=1 for a traceback)",
                err=True,
            )
            sys.exit(ExitCode.USAGE)

    return wrapper  # type: ignore[return-value]


def find_root(start: Path) -> Path:
    """The repository root, found as git finds its own: the nearest folder at or above `start`
    holding the spec, else the nearest holding `.git`, else `start` itself."""
    start = start.resolve()
    candidates = [start, *start.parents]
    for folder in candidates:
        if (folder / SPEC_RELATIVE).is_file():
            return folder
    for folder in candidates:
        if (folder / ".git").exists():
            return folder
    return start


class Access(Enum):
    """What a command does to the repository's tree, and so which lock it holds throughout."""

    NONE = "none"  # reads the spec only (status, simulate)
    READ = "read"  # reads the tree as committed: shared lock, never writes or recovers
    WRITE = "write"  # writes the tree: exclusive lock, recovers interrupted work first
    PROMOTE = "promote"  # builds a branch: recovers a killed promotion, then its worktree locks


def resolve_paths(
    root: Path | None, spec: Path | None, access: Access = Access.NONE
) -> tuple[Path, Path]:
    """(repository root, spec path) from the options, the root found from the current folder;
    the repository's lock is held, as `access` says, until the command ends."""
    from gitopsgen.promotion.worktree import recover_at
    from gitopsgen.sync.journal import pending_journal, recover
    from gitopsgen.sync.lock import repository_lock

    base = root.resolve() if root is not None else find_root(Path.cwd())
    if access in (Access.READ, Access.WRITE):
        ctx = click.get_current_context()
        exclusive = access is Access.WRITE
        ctx.with_resource(repository_lock(base, exclusive=exclusive, what=ctx.command_path))
    if access in (Access.WRITE, Access.PROMOTE):
        recovered = recover_at(base)  # takes the lock while it recovers
        if recovered:
            click.echo(f"note: {recovered}", err=True)
    if access is Access.WRITE:
        recover(base)
    elif access is Access.READ:
        pending = pending_journal(base)
        if pending is not None:
            click.echo(
                f"note: an interrupted render left {pending}; this command reads the tree as "
                "it is and never recovers; `gitopsgen render` finishes or undoes it",
                err=True,
            )
    return base, (spec if spec is not None else base / SPEC_RELATIVE)


def load_for_environment(
    root: Path | None,
    spec: Path | None,
    environment: str | None,
    service: str | None = None,
    access: Access = Access.NONE,
) -> tuple[Path, Path, Spec]:
    """(root, spec path, Spec) for a command about one environment (or all when None) and, in
    the services form, one service (or all when None); unknown names are exit 2."""
    from gitopsgen.validate.checked_render import render_repository

    base, spec_path = resolve_paths(root, spec, access)
    current = render_repository(spec_path, base).spec
    current.select(environment, service)
    return base, spec_path, current


def _spec_names(ctx: click.Context, section: str) -> list[str]:
    """The keys of a section of the spec, read without validating it (for completion)."""
    import yaml

    from gitopsgen.safepaths import read_input

    try:
        _, spec_path = resolve_paths(ctx.params.get("root"), ctx.params.get("spec"))
        data = yaml.safe_load(read_input(spec_path)) or {}
        if section == "services" and "services" not in data:
            return [str(data["app"]["name"])]  # the app form: its one app
        return [str(n) for n in data.get(section) or {}]
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError, KeyError, TypeError):
        return []


def complete_environment(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of environment names, read from the spec without validating it."""
    return [n for n in _spec_names(ctx, "environments") if n.startswith(incomplete)]


def complete_service(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of service names (in the app form, its app's name)."""
    return [n for n in _spec_names(ctx, "services") if n.startswith(incomplete)]


root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Repository root (default: found from the current folder, as git finds its own).",
)
spec_option = click.option(
    "--spec",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The environments spec (default: environments/environments.yaml under the root).",
)
environment_argument = click.argument("environment", shell_complete=complete_environment)
service_option = click.option(
    "--service",
    default=None,
    metavar="NAME",
    shell_complete=complete_service,
    help="The service (a spec with `services:`); may be left out when the spec has one.",
)
