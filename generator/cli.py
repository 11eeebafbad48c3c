"""The `gitopsgen` command line. Heavy modules are imported inside commands, so --help is quick."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from generator.errors import GitopsgenError, SpecError

F = TypeVar("F", bound=Callable[..., Any])


def _reports_errors(func: F) -> F:
    """Catch gitopsgen's errors in one place: a clear message, the right exit code, no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SpecError as exc:
            for finding in exc.findings:
                click.echo(f"{finding.one_line()} [{finding.id}]", err=True)
            click.echo(f"error: the spec is invalid ({len(exc.findings)} problem(s)); "
                       "nothing was written", err=True)
            sys.exit(exc.exit_code)
        except GitopsgenError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def _paths(root: Path | None, spec: Path | None) -> tuple[Path, Path]:
    base = (root or Path.cwd()).resolve()
    return base, (spec if spec is not None else base / "environments" / "environments.yaml")


root_option = click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Repository root (default: the current directory).",
)
spec_option = click.option(
    "--spec", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="The environments spec (default: environments/environments.yaml under the root).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gitopsgen")
def cli() -> None:
    """Render and validate a GitOps repository from one environments spec."""


@cli.command()
@spec_option
@root_option
@click.option("--check", is_flag=True, help="Write nothing; show a diff and exit 1 if stale.")
@_reports_errors
def render(spec: Path | None, root: Path | None, check: bool) -> None:
    """Render Argo CD, MetalLB and Helm values files from the spec."""
    from generator.pipeline import render_repository
    from generator.writer import Action, apply_changes, pending, unified_diff

    base, spec_path = _paths(root, spec)
    result = render_repository(spec_path, base)
    if check:
        stale = pending(result.changes)
        if stale:
            click.echo(unified_diff(result.changes), nl=False)
            click.echo(f"{len(stale)} rendered file(s) are stale; run `make render`", err=True)
            sys.exit(1)
        click.echo(f"{len(result.changes)} rendered file(s) are up to date")
        return
    apply_changes(base, result.changes)
    for change in result.changes:
        click.echo(f"{change.action.value:>9}  {change.path}")
    changed = sum(c.action is not Action.IDENTICAL for c in result.changes)
    click.echo(f"rendered {len(result.files)} file(s), {changed} changed")


def main() -> None:
    cli(prog_name="gitopsgen")
