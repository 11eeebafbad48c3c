"""Commands that make and keep a team's repository: init, upgrade."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gitopsgen.cli.common import command_epilog, reports_errors, root_option

PROVIDERS = ("nginx", "envoy-gateway", "traefik")  # gitopsgen.scaffold.plan.INGRESS_PROVIDERS


def _app_name(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from gitopsgen.scaffold.plan import APP_NAME

    if not APP_NAME.match(value):
        raise click.BadParameter(
            f"{value!r} is not a DNS label of at most 40 characters (lowercase letters, digits "
            "and '-'; it names the namespaces <name>-<env>)"
        )
    return value


@click.command(
    epilog=command_epilog(
        "gitopsgen init my-gitops",
        "gitopsgen init --app-name churn --ingress-provider envoy-gateway --no-metallb",
        "gitopsgen init --no-app   # your team builds its own image",
    )
)
@click.argument(
    "directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--app-name", default="model-api", show_default=True, callback=_app_name, help="app.name."
)
@click.option(
    "--ingress-provider",
    type=click.Choice(PROVIDERS),
    default="nginx",
    show_default=True,
    help="What enforces the allow-list in front of the app.",
)
@click.option(
    "--metallb/--no-metallb",
    default=True,
    show_default=True,
    help="Address pools from MetalLB (bare metal), or none (a cloud load balancer).",
)
@click.option(
    "--app/--no-app",
    "with_app",
    default=True,
    show_default=True,
    help="Scaffold the serving app and its image build, or only the chart (your own image).",
)
@click.option("--project", default="", help="argocd.project [default: <app-name>-serving].")
@click.option("--repo-url", default="", help="repo.url, the Git URL Argo CD pulls.")
@click.option("--image", default="", help="app.image.repository.")
@reports_errors
def init(
    directory: Path,
    app_name: str,
    ingress_provider: str,
    metallb: bool,
    with_app: bool,
    project: str,
    repo_url: str,
    image: str,
) -> None:
    """Scaffold a GitOps repository in DIRECTORY (default: here): a commented spec of two
    environments, the serving chart and app, a Makefile, GitHub workflows, a pre-commit
    configuration, a README and a lock file. Refuses a folder holding any of those files."""
    from gitopsgen.scaffold.create import init_repository
    from gitopsgen.scaffold.lock import tool_version
    from gitopsgen.scaffold.plan import ScaffoldOptions

    options = ScaffoldOptions(
        app_name, ingress_provider, metallb, with_app, project, repo_url, image
    )
    written = init_repository(directory, options, tool_version())
    for path in written:
        click.echo(f"   create  {path}")
    click.echo(f"scaffolded {len(written)} file(s) in {directory}")
    click.echo("next: gitopsgen render && gitopsgen validate, then commit and push", err=True)


@click.command(epilog=command_epilog("gitopsgen upgrade --check", "gitopsgen upgrade"))
@root_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 naming files behind or edited.")
@reports_errors
def upgrade(root: Path | None, check: bool) -> None:
    """Bring the files `gitopsgen init` wrote up to this gitopsgen: untouched ones are replaced,
    edited ones kept, with the difference shown and the new version written beside as .new."""
    from gitopsgen.cli.common import find_root
    from gitopsgen.scaffold.lock import tool_version
    from gitopsgen.scaffold.upgrade import apply_upgrade, plan_upgrade

    base = root.resolve() if root is not None else find_root(Path.cwd())
    plan = plan_upgrade(base, tool_version())
    if check:
        for status in plan.pending:
            click.echo(f"{status.state.value:>10}  {status.path}")
        if plan.pending:
            click.echo(
                f"{len(plan.pending)} scaffolded file(s) are not as gitopsgen {plan.version} "
                "writes them; run `gitopsgen upgrade`",
                err=True,
            )
            sys.exit(1)
        click.echo(
            f"{len(plan.files)} scaffolded file(s) are up to date with gitopsgen {plan.version}"
        )
        return
    applied = apply_upgrade(base, plan)
    for path in applied.replaced:
        click.echo(f"  replace  {path}")
    for path in applied.removed:
        click.echo(f"   delete  {path}")
    for status in applied.kept:
        click.echo(f"     keep  {status.path} ({status.state.value} here)")
        click.echo(status.diff(), nl=False)
    for path in applied.written_beside:
        click.echo(f"    write  {path}")
    click.echo(
        f"upgraded to gitopsgen {plan.version}: {len(applied.replaced)} replaced, "
        f"{len(applied.kept)} kept as edited here"
    )


COMMANDS = (init, upgrade)
