"""A canary's percentage routes only clients sending `x-client-id`; the rest go to
`defaultAlias`. Where that is the candidate, a policy warns and `simulate` and the pull request
say what anonymous clients get (issue 26, item 20)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitopsgen.spec.load import parse_spec
from gitopsgen.validate.policies import check_spec_policies
from tests.support import FROZEN_SPEC_TEXT, SPEC, Invoke

DEV = "    serving: {defaultAlias: B, canaryPercent: 20}\n"


def _gg160(dev_serving: str) -> list[tuple[str, int]]:
    text = FROZEN_SPEC_TEXT.replace(DEV, f"    serving: {dev_serving}\n")
    spec, doc = parse_spec(text, SPEC)
    return [(f.severity.value, f.line) for f in check_spec_policies(spec, doc) if f.id == "GG160"]


@pytest.mark.parametrize(
    ("serving", "warned"),
    [
        ("{mode: canary, defaultAlias: B, canaryPercent: 20}", True),
        ("{mode: canary, defaultAlias: A, canaryPercent: 20}", False),
        ("{mode: canary, defaultAlias: B, canaryPercent: 100}", False),  # B serves all anyway
        ("{mode: blue_green, defaultAlias: B}", False),
        ("{mode: ab_test, defaultAlias: B}", False),
    ],
)
def test_a_canary_sending_anonymous_traffic_to_its_candidate_warns(
    serving: str, warned: bool
) -> None:
    assert _gg160(serving) == ([("warning", 22)] if warned else [])


def test_simulate_says_what_anonymous_clients_get(tmp_repo: Path, run_cli: Invoke) -> None:
    spec = tmp_repo / SPEC
    spec.write_text(
        spec.read_text().replace(
            DEV, "    serving: {mode: canary, defaultAlias: B, canaryPercent: 20}\n"
        )
    )
    out = run_cli("simulate", "dev", "--clients", "1000", "--root", tmp_repo).stdout
    assert out.splitlines()[1] == (
        "requests without x-client-id: B (green), the canary's candidate: all of them, not 20% "
        "(set serving.defaultAlias: A to keep them on the live model)"
    )
    spec.write_text(
        spec.read_text().replace(
            "defaultAlias: B, canaryPercent: 20", "defaultAlias: A, canaryPercent: 20"
        )
    )
    out = run_cli("simulate", "dev", "--root", tmp_repo).stdout
    assert out.splitlines()[1] == (
        "requests without x-client-id: A (blue), the live model; the canary's share applies to "
        "clients with an id"
    )


def test_the_pull_request_says_what_anonymous_clients_get(clone: Path, run_cli: Invoke) -> None:
    body = run_cli(
        "set", "prod", "serving.mode=canary", "serving.canaryPercent=25", "--root", clone
    ).stdout
    assert (
        "Requests without `x-client-id` go to B (green), the canary's candidate: all of them, "
        "not 25%" in body
    )
    assert "passed, 1 warning(s)" in body  # GG160
