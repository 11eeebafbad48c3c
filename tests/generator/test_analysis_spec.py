"""The spec's `analysis` section and the serving knobs verify and canary read: defaults,
per-environment overrides, and refusals with file, line and field."""

from __future__ import annotations

import pytest

from gitopsgen.errors import SpecError
from gitopsgen.spec.load import parse_spec
from tests.support import FROZEN

SPEC_TEXT = (FROZEN / "spec.yaml").read_text()


def with_lines(defaults: str = "", prod: str = "") -> str:
    text = SPEC_TEXT
    if defaults:
        text = text.replace("defaults:\n", f"defaults:\n{defaults}", 1)
    if prod:
        text = text.replace(
            "    namespace: fastapi-prod\n", f"    namespace: fastapi-prod\n{prod}", 1
        )
    return text


def test_defaults_when_the_spec_says_nothing() -> None:
    spec, _ = parse_spec(SPEC_TEXT, "spec.yaml")
    prod = spec.environment("prod")
    assert prod.analysis.selector == 'namespace="fastapi-prod"'
    assert prod.analysis.prometheus_url is None
    assert (prod.analysis.window, prod.analysis.min_samples) == ("10m", 200)
    assert prod.analysis.max_error_rate == 0.01
    assert prod.analysis.min_shadow_agreement == 0.95
    assert prod.serving.canary_steps == (10, 25, 50, 100)
    assert (prod.serving.shadow_percent, prod.serving.shadow_tolerance) == (10, 0.0)


def test_defaults_section_is_overridden_per_environment() -> None:
    text = with_lines(
        defaults="  analysis: {prometheus: {url: http://prom:9090}, window: 5m, maxErrorRate: 0.05}\n",
        prod="    analysis: {window: 30m, selector: 'job=\"fastapi\"'}\n"
        "    serving: {defaultAlias: B, canarySteps: [50, 5, 20], shadowTolerance: 0.01}\n",
    )
    text = text.replace("    serving: {defaultAlias: B}   # green is live\n", "")
    spec, _ = parse_spec(text, "spec.yaml")
    prod, dev = spec.environment("prod"), spec.environment("dev")
    assert prod.analysis.prometheus_url == "http://prom:9090"
    assert (prod.analysis.window, prod.analysis.max_error_rate) == ("30m", 0.05)
    assert prod.analysis.selector == 'job="fastapi"'
    assert dev.analysis.window == "5m" and dev.analysis.selector == 'namespace="fastapi-dev"'
    assert prod.serving.canary_steps == (5, 20, 50)
    assert prod.serving.shadow_tolerance == 0.01


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        (
            '    analysis: {selector: \'namespace="x"} or vector(1) {a="\'}\n',
            "environments.prod.analysis.selector",
            "does not match",
        ),
        ("    analysis: {window: 10 minutes}\n", "environments.prod.analysis.window", "pattern"),
        ("    analysis: {minSamples: 0}\n", "environments.prod.analysis.minSamples", "less than"),
        ("    analysis: {maxErrorRate: 2}\n", "environments.prod.analysis.maxErrorRate", "greater"),
        ("    analysis: {maxP99: 1}\n", "environments.prod.analysis.maxP99", "maxP99Seconds"),
        (
            "    analysis: {prometheus: {url: prom:9090}}\n",
            "environments.prod.analysis.prometheus.url",
            "does not match",
        ),
    ],
)
def test_a_wrong_analysis_field_names_file_line_and_field(
    line: str, field: str, words: str
) -> None:
    text = with_lines(prod=line)
    expected_line = text.splitlines().index(line.rstrip("\n")) + 1
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "environments/environments.yaml")
    finding = caught.value.findings[0]
    assert (finding.file, finding.line, finding.path) == (
        "environments/environments.yaml",
        expected_line,
        field,
    )
    assert words in finding.message


def test_canary_steps_must_be_unique_percentages() -> None:
    text = SPEC_TEXT.replace(
        "canaryPercent: 10, abSplitPercent: 90}",
        "canaryPercent: 10, abSplitPercent: 90, canarySteps: [10, 10, 150]}",
    )
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "spec.yaml")
    messages = " ".join(f.message for f in caught.value.findings)
    assert "non-unique" in messages and "150 is greater than the maximum of 100" in messages


def test_shadow_knobs_reach_the_helm_values_only_with_a_shadow_alias() -> None:
    from gitopsgen.render.values import app_environment

    text = SPEC_TEXT.replace(
        "    serving: {defaultAlias: B}   # green is live\n",
        "    serving: {defaultAlias: B, shadowAlias: A, shadowTolerance: 0.00001}\n",
    )
    spec, _ = parse_spec(text, "spec.yaml")
    prod = app_environment(spec.environment("prod"))
    assert (prod["SHADOW_ALIAS"], prod["SHADOW_PERCENT"], prod["SHADOW_TOLERANCE"]) == (
        "A",
        "10",
        "0.00001",
    )
    dev = app_environment(spec.environment("dev"))
    assert "SHADOW_PERCENT" not in dev and "SHADOW_TOLERANCE" not in dev
