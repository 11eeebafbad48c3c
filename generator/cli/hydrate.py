"""`gitopsgen hydrate`: rendered manifests on environment branches (docs/hydrate.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gitopsgen.cli.common import (
    command_epilog,
    complete_environment,
    reports_errors,
    resolve_paths,
    root_option,
    spec_option,
)


@click.command(
    epilog=command_epilog(
        "gitopsgen hydrate",
        "gitopsgen hydrate dev --service fastapi",
        "gitopsgen hydrate --check",
        "gitopsgen hydrate --push",
    )
)
@click.argument("environment", required=False, shell_complete=complete_environment)
@click.option("--service", help="Only this service's Applications (default: every service).")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 naming each proposed branch behind the spec or edited by hand.",
)
@click.option(
    "--push", is_flag=True, help="Fetch origin's proposed branches first, push them and the note."
)
@spec_option
@root_option
@reports_errors
def hydrate(
    environment: str | None,
    service: str | None,
    check: bool,
    push: bool,
    spec: Path | None,
    root: Path | None,
) -> None:
    """Commit each Application's rendered manifests to its environment's proposed branch, as
    Argo CD's Source Hydrator writes them (manifest.yaml, hydrator.metadata, README.md)."""
    from gitopsgen.git import Repo
    from gitopsgen.hydrate import run
    from gitopsgen.hydrate.manifests import ManifestSource
    from gitopsgen.hydrate.metadata import check_repo_url
    from gitopsgen.render.registry import OUTPUT_DIRS
    from gitopsgen.validate.checked_render import render_repository

    base, spec_path = resolve_paths(root, spec)
    result = render_repository(spec_path, base)
    model = result.spec
    if environment is not None:
        model.require(environment)
    if service is not None and service not in run.service_names(model):
        raise click.UsageError(
            f"unknown service {service!r}; known: {', '.join(run.service_names(model))}"
        )
    url_line = result.document.position_of(["repo", "url"]).line
    check_repo_url(model.repo_url, f"{model.source}:{url_line}")
    repo = Repo.at(base)
    dry = run.dry_commit(repo, run.watched_paths(model, OUTPUT_DIRS))
    run.require_rendered(result.changes)
    if push:
        run.fetch(repo, model)
    envs = (environment,) if environment else model.names
    plans = run.plan(repo, model, ManifestSource(base, model, result.files), dry, envs, service)
    if check:
        problems = run.check(repo, plans, dry, model.delivery.active_paths)
        for problem in problems:
            click.echo(problem)
        if problems:
            sys.exit(1)
        click.echo(f"{len(plans)} proposed branch(es) hydrated from {dry.sha[:12]}")
        return
    outcomes = run.apply(repo, plans, dry)
    for outcome in outcomes:
        click.echo(outcome.line(dry.sha))
    if push:
        run.push(repo, outcomes)
        click.echo(f"pushed {len(outcomes)} branch(es) and {run.NOTES_REF} to origin")


COMMANDS = (hydrate,)
