"""Commands that turn a deployment decision into a commit: commit, promote, set, rollback,
and simulate, which shows what a split would do before anyone commits to it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gitopsgen.cli.common import (
    Access,
    command_epilog,
    environment_argument,
    load_for_environment,
    reports_errors,
    resolve_paths,
    root_option,
    service_option,
    spec_option,
)

if TYPE_CHECKING:
    from gitopsgen.promotion.edit import Edit, Level
    from gitopsgen.spec.model import Spec

F = TypeVar("F", bound=Callable[..., Any])
ALIAS_CHOICES = ("A", "B", "blue", "green")


def git_options(func: F) -> F:
    for option in reversed(
        [
            click.option("--branch", default=None, help="Branch to create (default: derived)."),
            click.option("--push", is_flag=True, help="Push the branch (never forced)."),
            click.option(
                "--remote", default="origin", show_default=True, help="Remote to push to."
            ),
            click.option(
                "--open-pr",
                is_flag=True,
                help="Open the pull request with the GitHub CLI, where it is installed.",
            ),
        ]
    ):
        func = option(func)
    return func


level_option = click.option(
    "--level",
    type=click.Choice(("target", "environment", "service")),
    default="target",
    show_default=True,
    help="Where the fields are written (services form): the service in the environment "
    "(environments.ENV.services.NAME), the environment (environments.ENV, every service "
    "there) or the service (services.NAME, every environment).",
)


def run_edit(
    root: Path | None,
    spec: Path | None,
    environment: str,
    push: bool,
    remote: str,
    open_pr: bool,
    build: Callable[[Path, Path, Spec], Edit],
    service: str | None = None,
    section: Callable[[Spec], str] | None = None,
) -> None:
    """The flow `promote`, `set` and `rollback` share: load, build the edit, branch, commit;
    `section` adds to the pull request (set's model versions)."""
    base, spec_path, current = load_for_environment(
        root, spec, environment, service, Access.PROMOTE
    )
    edit = build(base, spec_path, current)
    if edit.note:
        click.echo(f"note: {edit.note}", err=True)
    extra = section(current) if section is not None else ""
    apply_and_show(base, spec_path, current, edit, push, remote, open_pr, extra)


def apply_and_show(
    base: Path,
    spec_path: Path,
    current: Spec,
    edit: Edit,
    push: bool,
    remote: str,
    open_pr: bool,
    section: str = "",
    body_to_stderr: bool = False,
) -> None:
    """Branch and commit the edit; print the pull request (with `section` appended) and open it
    when asked. `body_to_stderr` keeps stdout for a machine-readable report."""
    from gitopsgen.promotion.apply import apply_edit
    from gitopsgen.promotion.pullrequest import open_pull_request

    outcome = apply_edit(base, spec_path, edit, current, push, remote)
    body = outcome.body + ("\n" + section if section else "")
    click.echo(
        f"created branch {outcome.branch} with commit {outcome.commit[:12]}"
        + (f", pushed to {remote}" if outcome.pushed else ""),
        err=True,
    )
    click.echo(f"# {outcome.title}\n", err=body_to_stderr)
    click.echo(body, nl=False, err=body_to_stderr)
    if open_pr:
        click.echo(open_pull_request(outcome.branch, outcome.title, body, outcome.pushed), err=True)


@click.command(epilog=command_epilog("gitopsgen commit", "gitopsgen commit -m 'dev: new pool'"))
@spec_option
@root_option
@click.option("-m", "--message", default=None, help="Commit subject (default: what changed).")
@reports_errors
def commit(spec: Path | None, root: Path | None, message: str | None) -> None:
    """Render, validate, and commit exactly the spec and the rendered files."""
    from gitopsgen.promotion.apply import commit_render

    base, spec_path = resolve_paths(root, spec, Access.WRITE)
    outcome = commit_render(base, spec_path, message)
    click.echo(f"committed {outcome.commit[:12]} on {outcome.branch}: {outcome.title}")


@click.command(
    epilog=command_epilog(
        "gitopsgen promote prod --to green",
        "gitopsgen promote prod --to A --push --open-pr",
        "gitopsgen promote prod --service fraud --to B",
    )
)
@environment_argument
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Choice(ALIAS_CHOICES, case_sensitive=False),
    help="A, B, blue (A) or green (B).",
)
@service_option
@git_options
@spec_option
@root_option
@reports_errors
def promote(
    environment: str,
    to: str,
    service: str | None,
    branch: str | None,
    push: bool,
    remote: str,
    open_pr: bool,
    spec: Path | None,
    root: Path | None,
) -> None:
    """Promote ENVIRONMENT to an alias: a branch with a one-line spec change, re-rendered."""
    from gitopsgen.promotion.decisions import promotion_edit

    run_edit(
        root,
        spec,
        environment,
        push,
        remote,
        open_pr,
        lambda base, _path, current: promotion_edit(
            current, base, environment, to, branch, service
        ),
        service,
    )


@click.command(
    "set",
    epilog=command_epilog(
        "gitopsgen set prod serving.mode=canary serving.canaryPercent=25",
        "gitopsgen set dev image.tag=1.4.2",
        "gitopsgen set prod --service fraud replicas=6",
        "gitopsgen set dev --service fraud --level service image.tag=2.2.0",
    ),
)
@environment_argument
@click.argument("assignments", nargs=-1, required=True, metavar="FIELD=VALUE...")
@click.option(
    "--tracking-uri",
    default=None,
    metavar="URL",
    help="For model.versions.*: the MLflow registry that must have the version; its facts "
    "(run, creation time, aliases) go into the pull request.",
)
@service_option
@level_option
@git_options
@spec_option
@root_option
@reports_errors
def set_fields(
    environment: str,
    assignments: tuple[str, ...],
    tracking_uri: str | None,
    service: str | None,
    level: Level,
    branch: str | None,
    push: bool,
    remote: str,
    open_pr: bool,
    spec: Path | None,
    root: Path | None,
) -> None:
    """Set spec fields of ENVIRONMENT (e.g. serving.canaryPercent=25) on a new branch."""
    from gitopsgen.promotion.decisions import set_edit
    from gitopsgen.promotion.pins import pinned_version_section
    from gitopsgen.spec.edit import parse_assignment

    parsed = [parse_assignment(a) for a in assignments]

    def build(_base: Path, _path: Path, current: Spec) -> Edit:
        if level != "target" and not current.services_form:
            raise click.UsageError(
                f"--level {level} is for a spec with `services:`; an environment of the app "
                "form has one level"
            )
        return set_edit(current, environment, parsed, branch, service, level)

    def section(current: Spec) -> str:
        # the pins' facts come from the registry of the (first) target the edit reaches
        target = current.select(environment, service)[0]
        return pinned_version_section(target, parsed, tracking_uri)

    run_edit(root, spec, environment, push, remote, open_pr, build, service, section)


@click.command(
    epilog=command_epilog(
        "gitopsgen rollback prod",
        "gitopsgen rollback prod --push",
        "gitopsgen rollback prod --service fraud",
    )
)
@environment_argument
@service_option
@git_options
@spec_option
@root_option
@reports_errors
def rollback(
    environment: str,
    service: str | None,
    branch: str | None,
    push: bool,
    remote: str,
    open_pr: bool,
    spec: Path | None,
    root: Path | None,
) -> None:
    """Undo ENVIRONMENT's last recorded change (promote, set, rollback or commit) exactly; with
    --service, that service's last change there, no other's."""
    from gitopsgen.promotion.decisions import rollback_edit

    def build(base: Path, spec_path: Path, current: Spec) -> Edit:
        target = current.require(environment, service)  # the service's own history
        return rollback_edit(base, spec_path, environment, branch, target.service)

    run_edit(root, spec, environment, push, remote, open_pr, build, service)


@click.command(
    "simulate",
    epilog=command_epilog(
        "gitopsgen simulate prod",
        "gitopsgen simulate prod --client-id alice",
        "gitopsgen simulate prod --service fraud",
    ),
)
@environment_argument
@click.option(
    "--clients",
    default=10_000,
    show_default=True,
    type=click.IntRange(1, 10_000_000),
    help="How many synthetic client ids to route.",
)
@click.option("--client-id", "client_ids", multiple=True, help="Show where this client goes.")
@service_option
@spec_option
@root_option
@reports_errors
def simulate_command(
    environment: str,
    clients: int,
    client_ids: tuple[str, ...],
    service: str | None,
    spec: Path | None,
    root: Path | None,
) -> None:
    """The traffic split of ENVIRONMENT (of each of its services, or of --service), computed by
    the serving app's own routing function."""
    from gitopsgen.analysis.simulate import anonymous_clients, routing_file, simulate

    base, _, current = load_for_environment(root, spec, environment, service)
    routing = routing_file(base, current)
    for target in current.select(environment, service):
        split = simulate(target, routing, clients, client_ids)
        click.echo(split.summary() + f" over {clients} client ids")
        click.echo(f"requests without x-client-id: {anonymous_clients(target.serving)}")
        for cid, alias in split.assignments.items():
            click.echo(f"{cid}: {alias}")


COMMANDS = (commit, promote, set_fields, rollback, simulate_command)
