"""Commands that judge a candidate on real traffic and act on the verdict: verify (optionally
rolling back through Git on failure) and canary (the next step, only on success)."""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitopsgen.cli.common import (
    Access,
    command_epilog,
    complete_environment,
    environment_argument,
    load_for_environment,
    reports_errors,
    root_option,
    service_option,
    spec_option,
)
from gitopsgen.cli.promotion import apply_and_show, git_options

if TYPE_CHECKING:
    from gitopsgen.analysis.drift import DriftReport
    from gitopsgen.analysis.verify import Verification
    from gitopsgen.spec.model import Spec

WINDOW = re.compile(r"^[1-9][0-9]*(s|m|h|d)$")


def _window(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not WINDOW.match(value):
        raise click.BadParameter(f"{value!r} is not a window like 30s, 10m, 1h or 1d")
    return value


def _url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not re.match(r"^https?://\S+$", value):
        from gitopsgen.text import shown_url

        raise click.BadParameter(f"{shown_url(value)!r} is not an http(s) URL")
    return value


prometheus_option = click.option(
    "--prometheus",
    callback=_url,
    default=None,
    help="The Prometheus URL (default: the spec's analysis.prometheus.url).",
)
window_option = click.option(
    "--window",
    callback=_window,
    default=None,
    help="Look back this far (default: analysis.window).",
)
candidate_option = click.option(
    "--candidate",
    type=click.Choice(("A", "B")),
    default=None,
    help="Judge this alias (default: the one not serving all traffic; name the live alias of "
    "blue_green to check it right after a switch).",
)


def run_verification(
    current: Spec,
    spec_path: Path,
    environment: str,
    prometheus: str | None,
    window: str | None,
    candidate: str | None,
    service: str | None = None,
) -> Verification:
    from gitopsgen.analysis.prometheus import PrometheusClient, display_url
    from gitopsgen.analysis.verify import verify

    env = current.require(environment, service)
    url = prometheus or env.analysis.prometheus_url
    if not url:
        raise click.UsageError(
            f"{environment}: no Prometheus to ask: set analysis.prometheus.url in {spec_path} "
            "or pass --prometheus URL"
        )
    return verify(env, display_url(url), PrometheusClient(url).query, window, candidate)


@click.command(
    epilog=command_epilog(
        "gitopsgen verify prod",
        "gitopsgen verify prod --prometheus http://127.0.0.1:9090 --window 30m --format json",
        "gitopsgen verify prod --rollback-on-failure --push --open-pr",
        "gitopsgen verify prod --service fraud",
    )
)
@environment_argument
@service_option
@prometheus_option
@window_option
@candidate_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json", "github")),
    default="text",
    show_default=True,
)
@click.option(
    "--rollback-on-failure",
    is_flag=True,
    help="On Failed, create the rollback branch with the failing checks in its PR body.",
)
@git_options
@spec_option
@root_option
@reports_errors
def verify(
    environment: str,
    service: str | None,
    prometheus: str | None,
    window: str | None,
    candidate: str | None,
    fmt: str,
    rollback_on_failure: bool,
    branch: str | None,
    push: bool,
    remote: str,
    open_pr: bool,
    spec: Path | None,
    root: Path | None,
) -> None:
    """Judge ENVIRONMENT's candidate alias on real traffic from Prometheus: exit 0 Successful,
    1 Failed, 3 Inconclusive."""
    from gitopsgen.analysis.verify import Verdict
    from gitopsgen.analysis.verify_report import REPORTERS

    base, spec_path, current = load_for_environment(
        root, spec, environment, service, Access.PROMOTE
    )
    result = run_verification(
        current, spec_path, environment, prometheus, window, candidate, service
    )
    click.echo(REPORTERS[fmt](result), nl=False)
    if rollback_on_failure and result.verdict is Verdict.FAILED:
        from gitopsgen.promotion.canary import rollback_for

        spec_rel = spec_path.resolve().relative_to(base).as_posix()
        edit, section = rollback_for(base, current, spec_rel, result, branch)
        apply_and_show(
            base, spec_path, current, edit, push, remote, open_pr, section, fmt == "json"
        )
    sys.exit(result.exit_code)


@click.command(
    epilog=command_epilog(
        "gitopsgen canary prod",
        "gitopsgen canary prod --push --open-pr",
        "gitopsgen canary prod --skip-verify",
        "gitopsgen canary prod --service churn",
    )
)
@environment_argument
@service_option
@prometheus_option
@window_option
@click.option(
    "--skip-verify", is_flag=True, help="Take the step without verifying; the PR body says so."
)
@git_options
@spec_option
@root_option
@reports_errors
def canary(
    environment: str,
    service: str | None,
    prometheus: str | None,
    window: str | None,
    skip_verify: bool,
    branch: str | None,
    push: bool,
    remote: str,
    open_pr: bool,
    spec: Path | None,
    root: Path | None,
) -> None:
    """The next step of serving.canarySteps as a promotion branch, only when verify on the
    current step is Successful."""
    from gitopsgen.analysis.verify_report import report_text
    from gitopsgen.promotion.canary import canary_edit

    base, spec_path, current = load_for_environment(
        root, spec, environment, service, Access.PROMOTE
    )
    current.require(environment, service)  # one service: refused before asking Prometheus
    result = None
    if not skip_verify:
        result = run_verification(
            current, spec_path, environment, prometheus, window, None, service
        )
        click.echo(report_text(result), err=True, nl=False)
    edit, section = canary_edit(current, environment, result, branch, service)
    apply_and_show(base, spec_path, current, edit, push, remote, open_pr, section)


tracking_uri_option = click.option(
    "--tracking-uri",
    callback=_url,
    default=None,
    help="The MLflow tracking server to ask (default: each environment's mlflow.trackingUri, "
    "usually an in-cluster address).",
)


@click.command(
    epilog=command_epilog(
        "gitopsgen drift",
        "gitopsgen drift prod --tracking-uri http://127.0.0.1:5000 --format json",
        "gitopsgen drift prod --fix git --push --open-pr",
        "gitopsgen drift prod --fix registry --yes",
        "gitopsgen drift prod --service fraud",
    )
)
@click.argument("environment", required=False, shell_complete=complete_environment)
@service_option
@tracking_uri_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json", "github")),
    default="text",
    show_default=True,
)
@click.option(
    "--fix",
    type=click.Choice(("git", "registry")),
    default=None,
    help="git: a branch pinning what the registry says (the registry led); registry: point "
    "the aliases at the pins (Git led).",
)
@click.option("--yes", is_flag=True, help="With --fix registry: really move the aliases.")
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 300),
    help="Seconds for each call to the registry, in total.",
)
@git_options
@spec_option
@root_option
@reports_errors
def drift(
    environment: str | None,
    service: str | None,
    tracking_uri: str | None,
    fmt: str,
    fix: str | None,
    yes: bool,
    timeout: float,
    branch: str | None,
    push: bool,
    remote: str,
    open_pr: bool,
    spec: Path | None,
    root: Path | None,
) -> None:
    """Compare the model versions Git pins (model.versions) with where the MLflow registry's
    aliases point: exit 0 in sync, 1 drift, 2 registry unreachable or refusing."""
    from gitopsgen.analysis.drift import drift_report, registry_fixes
    from gitopsgen.analysis.drift_report import REPORTERS

    base, spec_path, current = load_for_environment(root, spec, environment, service)
    report = drift_report(current, environment, tracking_uri, timeout, service)
    click.echo(REPORTERS[fmt](report), nl=False)
    if fix == "git":
        _pin_what_the_registry_says(
            base, spec_path, current, report, branch, push, remote, open_pr, fmt == "json"
        )
    elif fix == "registry":
        moves = registry_fixes(report)
        for pin in moves:
            env = current.target(pin.environment)
            action = f"point {pin.model} alias {pin.alias} at version {pin.pinned} ({env.title})"
            if not yes:
                click.echo(f"would {action}; pass --yes to do it", err=True)
                continue
            from gitopsgen.mlflow_registry import MlflowRegistry

            MlflowRegistry(tracking_uri or env.tracking_uri, timeout).set_alias(
                pin.model, pin.alias, pin.pinned
            )
            click.echo(f"moved: {action}", err=True)
        if yes and moves:
            sys.exit(0)
    sys.exit(1 if report.drifted else 0)


def _pin_what_the_registry_says(
    base: Path,
    spec_path: Path,
    current: Spec,
    report: DriftReport,
    branch: str | None,
    push: bool,
    remote: str,
    open_pr: bool,
    body_to_stderr: bool,
) -> None:
    """One promotion branch per environment, one spec line per drifted alias."""
    from gitopsgen.analysis.drift import git_fixes
    from gitopsgen.promotion.decisions import set_edit

    fixes = git_fixes(report)
    if not fixes:
        click.echo("nothing to pin: no alias points at another existing version", err=True)
        return
    for key, assignments in fixes.items():
        target = current.target(key)
        edit = set_edit(current, target.name, list(assignments), branch, target.service)
        part = key.replace("/", "-")
        edit = replace(
            edit,
            branch=branch
            or f"drift/{part}-" + "-".join(f"{p[-1].lower()}{v}" for p, v in assignments),
            title=f"Pin {target.title} to the registry: "
            + ", ".join(f"model.versions.{p[-1]} -> {v}" for p, v in assignments),
        )
        apply_and_show(
            base, spec_path, current, edit, push, remote, open_pr, body_to_stderr=body_to_stderr
        )


COMMANDS = (verify, canary, drift)
