"""Commands on the repository itself: render, validate, preview, schemas."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gitopsgen.cli.common import (
    Access,
    command_epilog,
    complete_environment,
    reports_errors,
    resolve_paths,
    root_option,
    service_option,
    spec_option,
)


@click.command(epilog=command_epilog("gitopsgen render", "gitopsgen render --check"))
@spec_option
@root_option
@click.option("--check", is_flag=True, help="Write nothing; show a diff and exit 1 if stale.")
@reports_errors
def render(spec: Path | None, root: Path | None, check: bool) -> None:
    """Render Argo CD, MetalLB and Helm values files from the spec."""
    from gitopsgen.sync.writer import Action, apply_changes, pending, unified_diff
    from gitopsgen.validate.checked_render import render_repository

    base, spec_path = resolve_paths(root, spec, Access.READ if check else Access.WRITE)
    result = render_repository(spec_path, base)
    for warning in result.warnings:
        click.echo(f"warning: {warning.one_line()} [{warning.id}]", err=True)
    if check:
        stale = pending(result.changes)
        if stale:
            click.echo(unified_diff(result.changes), nl=False)
            click.echo(f"{len(stale)} rendered file(s) are stale; run `gitopsgen render`", err=True)
            sys.exit(1)
        click.echo(f"{len(result.changes)} rendered file(s) are up to date")
        return
    apply_changes(base, result.changes, result.folders)
    for change in result.changes:
        click.echo(f"{change.action.value:>9}  {change.path}")
    changed = sum(c.action is not Action.IDENTICAL for c in result.changes)
    click.echo(f"rendered {len(result.files)} file(s), {changed} changed")


@click.command(
    epilog=command_epilog(
        "gitopsgen validate",
        "gitopsgen validate --format github --crd-dir ../shared/crds",
        "gitopsgen validate extra/manifests.yaml",
    )
)
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
@click.option(
    "--tracking-uri",
    default=None,
    metavar="URL",
    help="Also ask this MLflow registry whether every pinned model version exists (GG150).",
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@reports_errors
def validate(
    spec: Path | None,
    root: Path | None,
    output_format: str,
    kube_version: str | None,
    crd_dirs: tuple[Path, ...],
    tracking_uri: str | None,
    paths: tuple[Path, ...],
) -> None:
    """Check the spec, drift, every rendered document, the real Helm render and extra PATHs."""
    from gitopsgen.validate.kube import DEFAULT_KUBE_VERSION, available_versions, resolve_version
    from gitopsgen.validate.report import REPORTERS
    from gitopsgen.validate.run import ValidateOptions, default_crd_dirs, validate_repository

    version = kube_version or DEFAULT_KUBE_VERSION
    if resolve_version(version) is None:
        raise click.BadParameter(
            f"no schemas for {version}; available: {', '.join(available_versions())}",
            param_hint="--kube-version",
        )
    base, spec_path = resolve_paths(root, spec, Access.READ)
    options = ValidateOptions(
        base, spec_path, version, default_crd_dirs(list(crd_dirs)), list(paths), tracking_uri
    )
    if not options.crd_dirs:
        click.echo(
            "note: the upstream CRD check (GG302) did not run: no CRDs found; "
            "run `gitopsgen schemas fetch` or pass --crd-dir DIR",
            err=True,
        )
    findings = validate_repository(options)
    click.echo(REPORTERS[output_format](findings), nl=False)
    if any(f.is_error for f in findings):
        sys.exit(1)


@click.command(
    epilog=command_epilog(
        "gitopsgen preview", "gitopsgen preview prod", "gitopsgen preview prod --service fraud"
    )
)
@spec_option
@root_option
@click.argument("environment", required=False, shell_complete=complete_environment)
@service_option
@reports_errors
def preview(
    spec: Path | None, root: Path | None, environment: str | None, service: str | None
) -> None:
    """Print the Applications the ApplicationSets will create (expanded by Go templates); a
    service an environment does not list is not deployed there, and a note says so."""
    import yaml

    from gitopsgen.validate.checked_render import render_repository
    from gitopsgen.validate.preview import preview_files

    base, spec_path = resolve_paths(root, spec, Access.READ)
    result = render_repository(spec_path, base)
    result.spec.select(environment, service)
    for target in result.spec.not_deployed:
        if environment in (None, target.environment) and service in (None, target.service):
            click.echo(
                f"note: {target.service} is not deployed in {target.environment}: "
                f"environments.{target.environment}.services does not list it",
                err=True,
            )
    apps, findings = preview_files(
        result.files, environment, service if result.spec.services_form else None
    )
    for finding in findings:
        click.echo(f"{finding.one_line()} [{finding.id}]", err=True)
    click.echo(yaml.safe_dump_all(apps, sort_keys=False), nl=False)


def _mirror_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A mirror given as a plain folder (no `scheme://`) is read from that folder, as file://
    would; anything else goes on as given, and the download refuses what is no URL."""
    if value is None or "://" in value:
        return value
    folder = Path(value).expanduser()
    return folder.resolve().as_uri() if folder.is_dir() else value


@click.group(epilog=command_epilog("gitopsgen schemas fetch"))
def schemas() -> None:
    """Upstream CRD schemas used by `validate`."""


@schemas.command(
    "fetch",
    epilog=command_epilog(
        "gitopsgen schemas fetch", "gitopsgen schemas fetch --mirror https://mirror.internal/crds"
    ),
)
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
    envvar="GITOPSGEN_CRD_MIRROR",
    callback=_mirror_url,
    help="Fetch from a mirror (a URL, or a folder) holding argo-cd/, metallb/, gateway-api/, "
    "envoy-gateway/ and traefik/ instead of GitHub (also GITOPSGEN_CRD_MIRROR).",
)
@reports_errors
def schemas_fetch(dest: Path | None, mirror: str | None) -> None:
    """Download the pinned upstream CRDs (Argo CD, MetalLB, Gateway API, Envoy Gateway,
    Traefik) into the cache."""
    from gitopsgen.validate.crd_fetch import fetch_crds

    for path in fetch_crds(dest, mirror):
        click.echo(f"fetched  {path}")


COMMANDS = (render, validate, preview, schemas)
