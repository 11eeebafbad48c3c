"""The blueGreen policies (GG180-GG183), on the `blue-green` golden case's spec: each one caught at
its line and field, with its severity, and a spec keeping it passes."""

from __future__ import annotations

import pytest

from gitopsgen.findings import Finding
from gitopsgen.spec.load import parse_spec
from gitopsgen.validate.policies import check_spec_policies
from gitopsgen.validate.policies.spec_checks import POLICIES
from tests.support import REPO, SPEC

BASE = (REPO / "tests/generator/golden/blue-green/spec.yaml").read_text()
PROD_ROLLOUT = '    rollout: {active: blue, green: {image: {tag: "1.5.0"}, alias: B}}'
DEV_HOST = "      previewHost: fastapi-dev-preview.example.internal"


def findings_of(text: str) -> list[Finding]:
    spec, doc = parse_spec(text, SPEC)
    return check_spec_policies(spec, doc)


def edited(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_golden_case_breaks_no_policy() -> None:
    assert findings_of(BASE) == []


# (edit, policy, field path, the text on the finding's line, severity)
CASES = [
    (
        (PROD_ROLLOUT, PROD_ROLLOUT.replace('"1.5.0"', "latest")),
        "GG180",
        "environments.prod.rollout.green.image.tag",
        "rollout: {active: blue",
        "error",
    ),
    (
        ('green: {image: {tag: "1.5.0"}, alias: A}', "green: {image: {tag: latest}, alias: A}"),
        "GG180",
        "environments.dev.rollout.green.image.tag",
        "green: {image: {tag: latest}",
        "warning",  # dev and staging are not production-like
    ),
    (
        (PROD_ROLLOUT, PROD_ROLLOUT.replace('"1.5.0"}, alias: B', '"1.4.0"}, alias: A')),
        "GG181",
        "environments.prod.rollout.green",
        "rollout: {active: blue",
        "error",
    ),
    (
        (PROD_ROLLOUT, PROD_ROLLOUT.replace("active: blue", "active: blue, idleReplicas: 0")),
        "GG182",
        "environments.prod.rollout.idleReplicas",
        "active: blue, idleReplicas: 0",
        "warning",
    ),
    (
        (DEV_HOST, "      previewHost: fastapi.example.internal"),
        "GG183",
        "environments.dev.ingress.previewHost",
        "previewHost: fastapi.example.internal",
        "error",
    ),
    (
        ("    strategy: blueGreen\n", "    strategy: single\n"),
        "GG183",
        "environments.dev.ingress.previewHost",
        DEV_HOST.strip(),
        "error",
    ),
]


@pytest.mark.parametrize(("edit", "policy", "path", "on_line", "severity"), CASES)
def test_policy_is_caught_at_its_line_and_field(
    edit: tuple[str, str], policy: str, path: str, on_line: str, severity: str
) -> None:
    text = edited(*edit)
    found = [f for f in findings_of(text) if f.id == policy]
    assert found, f"{policy} did not fire"
    assert (found[0].path, found[0].line, found[0].severity.value) == (
        path,
        line_of(text, on_line),
        severity,
    )
    assert found[0].hint
    assert policy in POLICIES


def test_an_idle_colour_at_zero_outside_production_is_fine() -> None:
    # dev runs idleReplicas 0 in the golden case: no GG182
    assert "idleReplicas: 0" in BASE
    assert not [f for f in findings_of(BASE) if f.id == "GG182"]


def test_colours_differing_only_in_alias_pass() -> None:
    text = edited(PROD_ROLLOUT, PROD_ROLLOUT.replace('"1.5.0"', '"1.4.0"'))
    assert not [f for f in findings_of(text) if f.id == "GG181"]


def test_policies_report_through_validate_with_file_and_line() -> None:
    text = edited(PROD_ROLLOUT, PROD_ROLLOUT.replace('"1.5.0"', "latest"))
    (finding,) = [f for f in findings_of(text) if f.id == "GG180"]
    assert finding.one_line().startswith(f"{SPEC}:{line_of(text, 'rollout: {active: blue')}:")
