"""Commands that read the clusters: status and wait (the `status` extra: the kubernetes client)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from gitopsgen.cli.common import (
    command_epilog,
    complete_environment,
    environment_argument,
    load_for_environment,
    reports_errors,
    root_option,
    service_option,
    spec_option,
)

F = TypeVar("F", bound=Callable[..., Any])


def cluster_options(func: F) -> F:
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


@click.command(
    epilog=command_epilog(
        "gitopsgen status",
        "gitopsgen status prod --context argocd --format json",
        "gitopsgen status prod --service fraud",
    )
)
@click.argument("environment", required=False, shell_complete=complete_environment)
@service_option
@cluster_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@spec_option
@root_option
@reports_errors
def status(
    environment: str | None,
    service: str | None,
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

    from gitopsgen.errors import ClusterUnreachable
    from gitopsgen.live.report import render_table, status_json
    from gitopsgen.live.status import Clusters, environment_status

    _, _, current = load_for_environment(root, spec, environment, service)
    clusters = Clusters(kubeconfig, context, request_timeout)
    statuses = []
    seen: set[str] = set()
    for env in current.select(environment, service):
        click.echo(f"reading {env.title} (timeout {request_timeout:g}s per call)", err=True)
        site = env.name not in seen  # the MetalLB Application and pool: once per environment
        seen.add(env.name)
        try:
            statuses.append(environment_status(current, env, clusters, site))
        except ClusterUnreachable as exc:
            if output_format != "json":
                raise
            click.echo(json.dumps({"error": str(exc), "exit_code": exc.exit_code}, indent=2))
            sys.exit(exc.exit_code)
    if output_format == "json":
        click.echo(json.dumps(status_json(statuses), indent=2))
    else:
        click.echo(render_table(statuses), nl=False)
    if any(s.drifted for s in statuses):
        sys.exit(1)


@click.command(
    epilog=command_epilog(
        "gitopsgen wait prod",
        "gitopsgen wait prod --revision HEAD --timeout 300",
        "gitopsgen wait prod --service fraud",
    )
)
@environment_argument
@service_option
@click.option(
    "--revision", default=None, help="Commit to wait for (default: origin/<target>, else HEAD)."
)
@click.option("--timeout", default=600.0, show_default=True, type=float, help="Seconds.")
@click.option(
    "--interval", default=5.0, show_default=True, type=float, help="Seconds between polls."
)
@cluster_options
@spec_option
@root_option
@reports_errors
def wait(
    environment: str,
    service: str | None,
    revision: str | None,
    timeout: float,
    interval: float,
    kubeconfig: Path | None,
    context: str | None,
    request_timeout: float,
    spec: Path | None,
    root: Path | None,
) -> None:
    """Wait until ENVIRONMENT's Applications (of every service, or of --service) are Synced and
    Healthy at a revision."""
    from gitopsgen.git import Repo
    from gitopsgen.live.status import MESSAGE_CHARS, AppState, Clusters, wait_for
    from gitopsgen.text import printable

    base, _, current = load_for_environment(root, spec, environment, service)
    target = revision or Repo.at(base).default_revision(current.target_revision)

    def progress(apps: list[AppState]) -> None:
        shown = ", ".join(f"{a.name}: {a.sync}/{a.health} @ {a.revision[:10] or '?'}" for a in apps)
        click.echo(
            f"waiting for {target[:10]}: {printable(shown or 'no Application yet')}", err=True
        )

    clusters = Clusters(kubeconfig, context, request_timeout)
    targets = current.select(environment, service)  # every service of it, or the one named
    result = wait_for(current, targets, clusters, target, timeout, interval, progress)
    if not result.reached:
        last = "; ".join(
            f"{a.name} {a.sync}/{a.health} {a.message[:MESSAGE_CHARS]}".strip() for a in result.apps
        )
        click.echo(f"error: {result.reason}; last status: {printable(last or 'none')}", err=True)
        sys.exit(1)
    who = environment if service is None else f"{service} in {environment}"
    click.echo(f"{who} is Synced and Healthy at {target[:12]}")


COMMANDS = (status, wait)
