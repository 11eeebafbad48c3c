"""Policies of a blueGreen rollout (GG180-GG183): what makes two colours worth switching between
and a switch safe to undo. Wired into the spec policies by `check_spec_policies`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from gitopsgen.findings import Finding, Severity
from gitopsgen.spec.model import COLOURS, Environment, Spec
from gitopsgen.validate.policies.locator import SpecLocator, env_path


def _blue_green(spec: Spec) -> Iterator[Environment]:
    return (env for env in spec.environments if env.rollout.blue_green)


def check_colour_tags(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    """GG180: each colour runs a pinned tag; an error in production-like environments."""
    for env in _blue_green(spec):
        for name in COLOURS:
            tag = env.rollout.colour(name).tag
            if tag and tag != "latest":
                continue
            what = "has no image tag" if not tag else "runs the image tag 'latest'"
            yield at.finding(
                "GG180",
                env_path(env, "rollout", name, "image", "tag"),
                f"{env.name}'s {name} colour {what}",
                "pin a version or a commit SHA tag for each colour",
                Severity.ERROR if env.production_like else Severity.WARNING,
            )


def check_colours_differ(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    """GG181: the colours differ in image tag or alias, or there is nothing to switch."""
    for env in _blue_green(spec):
        blue, green = env.rollout.blue, env.rollout.green
        if (blue.tag, blue.alias) == (green.tag, green.alias):
            yield at.finding(
                "GG181",
                env_path(env, "rollout", env.rollout.idle),
                f"{env.name}'s blue and green both run tag {blue.tag!r} serving alias "
                f"{blue.alias}: switching between them changes nothing",
                "give the new colour the new image tag (or the other alias)",
            )


def check_idle_replicas(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    """GG182: an idle colour at 0 replicas in a production-like environment (no instant way
    back: switching to it waits for pods to start and become ready)."""
    for env in _blue_green(spec):
        if env.production_like and env.rollout.idle_replicas == 0:
            yield at.finding(
                "GG182",
                env_path(env, "rollout", "idleReplicas"),
                f"{env.name}'s idle colour ({env.rollout.idle}) runs 0 pods: a rollback to it "
                "waits for pods to start, it is not instant",
                "keep idleReplicas at least 1 while the previous version must stay one switch away",
            )


def check_preview_host(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    """GG183: ingress.previewHost needs rollout.strategy blueGreen and is no live host."""
    hosts = {env.ingress.host for env in spec.environments if env.ingress.enabled}
    for env in spec.environments:
        preview = env.ingress.preview_host
        if not preview or not env.ingress.enabled:
            continue
        path = env_path(env, "ingress", "previewHost")
        if not env.rollout.blue_green:
            yield at.finding(
                "GG183",
                path,
                f"{env.name} has a previewHost but rollout.strategy is single: nothing to preview",
                "set rollout.strategy: blueGreen, or remove ingress.previewHost",
            )
        elif preview in hosts:
            yield at.finding(
                "GG183",
                path,
                f"{env.name}'s previewHost {preview!r} is also a live ingress host",
                "use a host of its own for the preview colour",
            )


ROLLOUT_CHECKS: tuple[Callable[[Spec, SpecLocator], Iterator[Finding]], ...] = (
    check_colour_tags,
    check_colours_differ,
    check_idle_replicas,
    check_preview_host,
)
