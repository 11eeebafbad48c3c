"""GG160: where requests without an `x-client-id` go. The canary's percentage routes only
clients that send an id; every other request goes to `serving.defaultAlias`. With a canary
whose defaultAlias is its candidate (B), that is all anonymous traffic on the candidate, which
no canaryPercent states: a warning, since a test environment may want exactly that."""

from __future__ import annotations

from collections.abc import Iterator

from gitopsgen.findings import Finding
from gitopsgen.spec.model import Spec
from gitopsgen.spec.parts import Serving
from gitopsgen.validate.policies.locator import SpecLocator, env_path


def sends_anonymous_to_candidate(serving: Serving) -> bool:
    """A canary whose defaultAlias is its candidate (B): every request without an
    `x-client-id` goes to the candidate, whatever canaryPercent says."""
    return (
        serving.mode == "canary" and serving.default_alias == "B" and serving.canary_percent < 100
    )


def check_anonymous_canary(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    for env in spec.environments:
        serving = env.serving
        if sends_anonymous_to_candidate(serving):
            yield at.finding(
                "GG160",
                env_path(env, "serving", "defaultAlias"),
                f"{env.name}'s canary sends {serving.canary_percent}% of clients with an "
                "x-client-id to the candidate B, and every request without one to B too "
                "(defaultAlias: B)",
                "set serving.defaultAlias: A, so anonymous clients stay on the live model",
            )
