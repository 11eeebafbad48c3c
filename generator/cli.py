"""The `gitopsgen` command line. Heavy modules are imported inside commands, so --help is quick."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from generator.errors import GitopsgenError, SpecError, ValidationFailed

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
            click.echo(
                f"error: the spec is invalid ({len(exc.findings)} problem(s)); nothing was written",
                err=True,
            )
            sys.exit(exc.exit_code)
        except ValidationFailed as exc:
            from generator.validate.report import report_text

            click.echo(report_text(exc.findings), err=True, nl=False)
            click.echo("error: validation failed; nothing was committed", err=True)
            sys.exit(exc.exit_code)
        except GitopsgenError as exc:
            click.echo(f"error: {exc}", err=True)
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
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _load_for_environment(
    root: Path | None, spec: Path | None, environment: str | None
) -> tuple[Path, Path, Any]:
    """(root, spec path, Spec) for a command about one environment (or all when None)."""
    from generator.errors import UnknownEnvironment
    from generator.pipeline import render_repository

    base, spec_path = _paths(root, spec)
    current = render_repository(spec_path, base).spec
    if environment is not None and environment not in current.names:
        raise UnknownEnvironment(
            f"unknown environment {environment!r}; known: {', '.join(current.names)}"
        )
    return base, spec_path, current


def _paths(root: Path | None, spec: Path | None) -> tuple[Path, Path]:
    base = (root or Path.cwd()).resolve()
    return base, (spec if spec is not None else base / "environments" / "environments.yaml")


root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Repository root (default: the current directory).",
)
spec_option = click.option(
    "--spec",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
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
    for warning in result.warnings:
        click.echo(f"warning: {warning.one_line()} [{warning.id}]", err=True)
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


@cli.command()
@spec_option
@root_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="How findings are reported.",
)
@click.option(
    "--kube-version",
    default=None,
    metavar="X.Y",
    help="Kubernetes version whose schemas check the chart's manifests [default: 1.33].",
)
@click.option(
    "--crd-dir",
    "crd_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of upstream CRDs (repeatable); else $GITOPSGEN_CRD_DIR, else the cache.",
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@_reports_errors
def validate(
    spec: Path | None,
    root: Path | None,
    output_format: str,
    kube_version: str | None,
    crd_dirs: tuple[Path, ...],
    paths: tuple[Path, ...],
) -> None:
    """Check the spec, drift, every rendered document, the real Helm render and extra PATHs."""
    from generator.validate.kube import DEFAULT_KUBE_VERSION, available_versions, resolve_version
    from generator.validate.report import REPORTERS
    from generator.validate.run import ValidateOptions, default_crd_dirs, validate_repository

    version = kube_version or DEFAULT_KUBE_VERSION
    if resolve_version(version) is None:
        raise click.BadParameter(
            f"no schemas for {version}; available: {', '.join(available_versions())}",
            param_hint="--kube-version",
        )
    base, spec_path = _paths(root, spec)
    options = ValidateOptions(
        base, spec_path, version, default_crd_dirs(list(crd_dirs)), list(paths)
    )
    findings = validate_repository(options)
    click.echo(REPORTERS[output_format](findings), nl=False)
    if any(f.is_error for f in findings):
        sys.exit(1)


@cli.command()
@spec_option
@root_option
@click.argument("environment", required=False)
@_reports_errors
def preview(spec: Path | None, root: Path | None, environment: str | None) -> None:
    """Print the Applications the ApplicationSets will create (expanded by Go templates)."""
    import yaml

    from generator.pipeline import render_repository
    from generator.validate.preview import preview_applicationset
    from generator.yamlsource import FastLoader

    base, spec_path = _paths(root, spec)
    result = render_repository(spec_path, base)
    if environment is not None and environment not in result.spec.names:
        raise click.BadParameter(
            f"unknown environment {environment!r}; known: {', '.join(result.spec.names)}",
            param_hint="ENVIRONMENT",
        )
    apps = []
    for path, text in result.files.items():
        for doc in yaml.load_all(text, Loader=FastLoader):
            if isinstance(doc, dict) and doc.get("kind") == "ApplicationSet":
                expanded = preview_applicationset(doc, path)
                for finding in expanded.findings:
                    click.echo(f"{finding.one_line()} [{finding.id}]", err=True)
                apps.extend(expanded.applications)
    if environment is not None:
        apps = [
            a
            for a in apps
            if a["metadata"].get("labels", {}).get("gitopsgen.io/environment") == environment
        ]
    click.echo(yaml.safe_dump_all(apps, sort_keys=False), nl=False)


@cli.group()
def schemas() -> None:
    """Upstream CRD schemas used by `validate`."""


@schemas.command("fetch")
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to store them [default: ~/.cache/gitopsgen/crds].",
)
@click.option(
    "--mirror",
    default=None,
    metavar="URL",
    help="Fetch from a mirror holding argo-cd/ and metallb/ instead of GitHub.",
)
@_reports_errors
def schemas_fetch(dest: Path | None, mirror: str | None) -> None:
    """Download the pinned upstream Argo CD and MetalLB CRDs into the cache."""
    from generator.validate.fetch import fetch_crds

    for path in fetch_crds(dest, mirror):
        click.echo(f"fetched  {path}")


def _git_options(func: F) -> F:
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


def _run_edit(
    root: Path | None,
    spec: Path | None,
    environment: str,
    push: bool,
    remote: str,
    open_pr: bool,
    build: Callable[[Path, Path, Any], Any],
) -> None:
    """The flow `promote`, `set` and `rollback` share: load, build the edit, branch, commit."""
    from generator.promote import apply_edit

    base, spec_path, current = _load_for_environment(root, spec, environment)
    edit = build(base, spec_path, current)
    _finish(apply_edit(base, spec_path, edit, current, push, remote), open_pr, remote)


def _finish(outcome: Any, open_pr: bool, remote: str) -> None:
    import shutil
    import subprocess

    click.echo(
        f"created branch {outcome.branch} with commit {outcome.commit[:12]}"
        + (f", pushed to {remote}" if outcome.pushed else ""),
        err=True,
    )
    click.echo(f"# {outcome.title}\n")
    click.echo(outcome.body, nl=False)
    if not open_pr:
        return
    gh = shutil.which("gh")
    if gh is None:
        click.echo(
            "note: the GitHub CLI (gh) is not installed; open the pull request by hand", err=True
        )
        return
    if not outcome.pushed:
        click.echo("note: --open-pr needs --push; the pull request was not opened", err=True)
        return
    subprocess.run(
        [
            gh,
            "pr",
            "create",
            "--head",
            outcome.branch,
            "--title",
            outcome.title,
            "--body",
            outcome.body,
        ],
        check=False,
    )


@cli.command()
@spec_option
@root_option
@click.option("-m", "--message", default=None, help="Commit subject (default: what changed).")
@_reports_errors
def commit(spec: Path | None, root: Path | None, message: str | None) -> None:
    """Render, validate, and commit exactly the spec and the rendered files."""
    from generator.promote import commit_render

    base, spec_path = _paths(root, spec)
    outcome = commit_render(base, spec_path, message)
    click.echo(f"committed {outcome.commit[:12]} on {outcome.branch}: {outcome.title}")


@cli.command()
@click.argument("environment")
@click.option("--to", "to", required=True, help="A, B, blue (A) or green (B).")
@_git_options
@spec_option
@root_option
@_reports_errors
def promote(
    environment: str,
    to: str,
    branch: str | None,
    push: bool,
    remote: str,
    open_pr: bool,
    spec: Path | None,
    root: Path | None,
) -> None:
    """Promote ENVIRONMENT to an alias: a branch with a one-line spec change, re-rendered."""
    from generator.promote import promotion_edit

    _run_edit(
        root,
        spec,
        environment,
        push,
        remote,
        open_pr,
        lambda _base, _path, current: promotion_edit(current, environment, to, branch),
    )


@cli.command("set")
@click.argument("environment")
@click.argument("assignments", nargs=-1, required=True, metavar="FIELD=VALUE...")
@_git_options
@spec_option
@root_option
@_reports_errors
def set_fields(
    environment: str,
    assignments: tuple[str, ...],
    branch: str | None,
    push: bool,
    remote: str,
    open_pr: bool,
    spec: Path | None,
    root: Path | None,
) -> None:
    """Set spec fields of ENVIRONMENT (e.g. serving.canaryPercent=25) on a new branch."""
    from generator.promote import set_edit
    from generator.spec_edit import parse_assignment

    parsed = [parse_assignment(a) for a in assignments]
    _run_edit(
        root,
        spec,
        environment,
        push,
        remote,
        open_pr,
        lambda _base, _path, current: set_edit(current, environment, parsed, branch),
    )


@cli.command()
@click.argument("environment")
@_git_options
@spec_option
@root_option
@_reports_errors
def rollback(
    environment: str,
    branch: str | None,
    push: bool,
    remote: str,
    open_pr: bool,
    spec: Path | None,
    root: Path | None,
) -> None:
    """Back to the alias ENVIRONMENT had before its last promotion (from the spec's history)."""
    from generator.promote import rollback_edit

    def build(base: Path, spec_path: Path, current: Any) -> Any:
        spec_rel = spec_path.resolve().relative_to(base).as_posix()
        return rollback_edit(base, current, spec_rel, environment, branch)

    _run_edit(root, spec, environment, push, remote, open_pr, build)


@cli.command("simulate")
@click.argument("environment")
@click.option(
    "--clients",
    default=10_000,
    show_default=True,
    type=click.IntRange(1, 10_000_000),
    help="How many synthetic client ids to route.",
)
@click.option("--client-id", "client_ids", multiple=True, help="Show where this client goes.")
@spec_option
@root_option
@_reports_errors
def simulate_command(
    environment: str,
    clients: int,
    client_ids: tuple[str, ...],
    spec: Path | None,
    root: Path | None,
) -> None:
    """The traffic split of ENVIRONMENT, computed by the serving app's own routing function."""
    from generator.simulate import simulate

    base, _, current = _load_for_environment(root, spec, environment)
    split = simulate(current.environment(environment), base, clients, client_ids)
    click.echo(split.summary() + f" over {clients} client ids")
    click.echo(f"requests without x-client-id: {split.default_alias}")
    for cid, alias in split.assignments.items():
        click.echo(f"{cid}: {alias}")


def _cluster_options(func: F) -> F:
    for option in reversed(
        [
            click.option(
                "--kubeconfig",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster).",
            ),
            click.option("--context", default=None, help="Context of Argo CD's cluster."),
            click.option(
                "--request-timeout",
                default=10.0,
                show_default=True,
                type=float,
                help="Seconds to wait for each API call.",
            ),
        ]
    ):
        func = option(func)
    return func


@cli.command()
@click.argument("environment", required=False)
@_cluster_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@spec_option
@root_option
@_reports_errors
def status(
    environment: str | None,
    kubeconfig: Path | None,
    context: str | None,
    request_timeout: float,
    output_format: str,
    spec: Path | None,
    root: Path | None,
) -> None:
    """Compare the cluster with Git: Argo CD sync and health, the live Deployment, Ingress and
    pool. Exit 1 on drift, 2 when a cluster cannot be reached."""
    import json

    from generator.status import Clusters, environment_status, render_table, status_json

    _, _, current = _load_for_environment(root, spec, environment)
    clusters = Clusters(kubeconfig, context, request_timeout)
    envs = [e for e in current.environments if environment in (None, e.name)]
    statuses = [environment_status(current, env, clusters) for env in envs]
    if output_format == "json":
        click.echo(json.dumps(status_json(statuses), indent=2))
    else:
        click.echo(render_table(statuses), nl=False)
    if any(s.drifted for s in statuses):
        sys.exit(1)


@cli.command()
@click.argument("environment")
@click.option(
    "--revision", default=None, help="Commit to wait for (default: origin/<target>, else HEAD)."
)
@click.option("--timeout", default=600.0, show_default=True, type=float, help="Seconds.")
@click.option(
    "--interval", default=5.0, show_default=True, type=float, help="Seconds between polls."
)
@_cluster_options
@spec_option
@root_option
@_reports_errors
def wait(
    environment: str,
    revision: str | None,
    timeout: float,
    interval: float,
    kubeconfig: Path | None,
    context: str | None,
    request_timeout: float,
    spec: Path | None,
    root: Path | None,
) -> None:
    """Wait until ENVIRONMENT's Applications are Synced and Healthy at a revision."""
    from generator.git import Repo
    from generator.status import AppState, Clusters, wait_for

    base, _, current = _load_for_environment(root, spec, environment)
    if revision is None:
        repo = Repo.at(base)
        remote = repo.run(
            "rev-parse", "--verify", "--quiet", f"origin/{current.target_revision}", check=False
        )
        revision = remote.stdout.strip() if remote.returncode == 0 else repo.head()

    def progress(apps: list[AppState]) -> None:
        shown = ", ".join(f"{a.name}: {a.sync}/{a.health} @ {a.revision[:10] or '?'}" for a in apps)
        click.echo(f"waiting for {revision[:10]}: {shown or 'no Application yet'}", err=True)

    clusters = Clusters(kubeconfig, context, request_timeout)
    result = wait_for(
        current, current.environment(environment), clusters, revision, timeout, interval, progress
    )
    if not result.reached:
        last = "; ".join(f"{a.name} {a.sync}/{a.health} {a.message}".strip() for a in result.apps)
        click.echo(f"error: {result.reason}; last status: {last or 'none'}", err=True)
        sys.exit(1)
    click.echo(f"{environment} is Synced and Healthy at {revision[:12]}")


def main() -> None:
    cli(prog_name="gitopsgen")
