"""Deciding from a verification: the next canary step when it is Successful, a rollback when it
Failed. Both are promotion branches made by the promotion machinery (gitopsgen.promotion)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gitopsgen.analysis.verify import CheckVerdict, Verdict, Verification
from gitopsgen.analysis.verify_report import report_markdown
from gitopsgen.errors import PromotionError
from gitopsgen.promotion.decisions import rollback_edit, set_edit
from gitopsgen.promotion.edit import Edit, branch_part
from gitopsgen.spec.model import Environment, Spec


@dataclass(frozen=True)
class Step:
    assignments: list[tuple[tuple[str, ...], Any]]
    description: str
    slug: str


def next_step(env: Environment) -> Step:
    """The step after the current one: blue_green on A starts the canary at the first step;
    a canary moves to the next larger step; after the last one, blue_green on B."""
    serving = env.serving
    steps = serving.canary_steps
    if serving.mode == "blue_green":
        if serving.default_alias != "A":
            raise PromotionError(
                f"{env.name} serves B in blue_green and a canary sends its share to B: "
                f"promote {env.name} to A first, then step a new B in"
            )
        return Step(
            [(("serving", "mode"), "canary"), (("serving", "canaryPercent"), steps[0])],
            f"start the canary: B (green) at {steps[0]}%",
            str(steps[0]),
        )
    if serving.mode != "canary":
        raise PromotionError(
            f"{env.name} is in {serving.mode}; `gitopsgen canary` steps a canary or starts one "
            "from blue_green on A"
        )
    current = serving.canary_percent
    later = [p for p in steps if p > current]
    if later:
        return Step(
            [(("serving", "canaryPercent"), later[0])],
            f"B (green) from {current}% to {later[0]}%",
            str(later[0]),
        )
    return Step(
        [(("serving", "mode"), "blue_green"), (("serving", "defaultAlias"), "B")],
        f"B (green) took {current}% of clients, the last step: blue_green on B",
        "done",
    )


def canary_edit(
    spec: Spec,
    env_name: str,
    verification: Verification | None,
    branch: str | None,
    service: str | None = None,
) -> tuple[Edit, str]:
    """(the edit of the next step, the PR body's verification section). `verification` None means
    --skip-verify; anything but Successful is refused."""
    env = spec.require(env_name, service)
    step = next_step(env)
    if verification is not None and verification.verdict is not Verdict.SUCCESSFUL:
        failing = ", ".join(
            f"{r.check.title} {r.verdict} ({r.reason})"
            for r in verification.results
            if r.verdict in (CheckVerdict.FAILED, CheckVerdict.INCONCLUSIVE)
        )
        raise PromotionError(
            f"verify {env.title} is {verification.verdict}, not {Verdict.SUCCESSFUL}: {failing}; "
            "no step taken (--skip-verify overrides)"
        )
    edit = set_edit(spec, env_name, step.assignments, None, env.service)
    edit = replace(
        edit,
        branch=branch or f"canary/{branch_part(env_name, env.service)}-{step.slug}",
        title=f"Canary {env.title}: {step.description}",
    )
    return edit, verification_section(verification)


def verification_section(verification: Verification | None) -> str:
    if verification is None:
        return (
            "### Verification\n\n**Skipped** (`--skip-verify`): this step was taken without "
            "checking the current one on Prometheus.\n"
        )
    return "### Verification\n\n" + report_markdown(verification)


def rollback_for(
    root: Path, spec: Spec, spec_rel: str, verification: Verification, branch: str | None
) -> tuple[Edit, str]:
    """The rollback of a Failed verification: a canary or an A/B test ends with all traffic on
    A; in blue_green, when the failing candidate is the live alias (right after a switch), the
    alias before the last promotion comes back (`gitopsgen rollback`). A blue_green candidate that
    serves nothing needs no rollback: it is simply not promoted."""
    target = verification.target
    env = spec.require(target.environment, target.service)
    serving = env.serving
    if serving.mode != "blue_green":
        share = (
            serving.canary_percent if serving.mode == "canary" else 100 - serving.ab_split_percent
        )
        edit = set_edit(
            spec,
            env.name,
            [(("serving", "mode"), "blue_green"), (("serving", "defaultAlias"), "A")],
            None,
            env.service,
        )
        edit = replace(
            edit,
            branch=branch or f"rollback/{branch_part(env.name, env.service)}-A",
            title=f"Roll back {env.title} to A (blue): end the {serving.mode} of B at {share}%",
        )
    elif target.candidate == serving.default_alias:
        edit = rollback_edit(root, root / spec_rel, env.name, branch, env.service)
    else:
        raise PromotionError(
            f"{env.title} serves {serving.default_alias} in blue_green; the failing candidate "
            f"{target.candidate} serves no traffic, so there is nothing to roll back: do not "
            "promote it"
        )
    failing = "\n".join(
        f"- {r.check.title}: {r.reason} (`{r.check.query}`)" for r in verification.failed
    )
    section = (
        f"### Why\n\n`gitopsgen verify {env.name}{edit.flags}` failed:\n\n{failing}\n\n"
        + report_markdown(verification)
    )
    return edit, section
