"""Bad specs: one clear message per problem with file, line, column and field; nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import SPEC, Invoke, snapshot

# (id, old text, new text, expected line, field path, finding id, words in the message)
CASES = [
    (
        "percent-over-100",
        "canaryPercent: 20}",
        "canaryPercent: 150}",
        22,
        "environments.dev.serving.canaryPercent",
        "GG006",
        "150 is greater than the maximum of 100",
    ),
    (
        "unknown-mode",
        "serving: {mode: blue_green,",
        "serving: {mode: shadow,",
        14,
        "defaults.serving.mode",
        "GG007",
        "'shadow' is not one of",
    ),
    (
        "unknown-alias",
        "serving: {defaultAlias: B}   # green",
        "serving: {defaultAlias: C}   # green",
        32,
        "environments.prod.serving.defaultAlias",
        "GG007",
        "'C' is not one of",
    ),
    (
        "replicas-wrong-type",
        "replicas: 2",
        "replicas: two",
        12,
        "defaults.replicas",
        "GG005",
        "'two' is not of type 'integer'",
    ),
    (
        "misspelt-field",
        "    namespace: fastapi-prod",
        "    namespce: fastapi-prod",
        30,
        "environments.prod.namespce",
        "GG003",
        "did you mean 'namespace'",
    ),
    (
        "missing-required",
        "    namespace: fastapi-dev\n",
        "",
        18,
        "environments.dev",
        "GG004",
        "'namespace' is required",
    ),
    (
        "duplicate-key",
        "    namespace: fastapi-prod\n",
        "    namespace: fastapi-prod\n    namespace: fastapi-other\n",
        31,
        "environments.prod.namespace",
        "GG002",
        "duplicate key",
    ),
    (
        "yaml-syntax",
        "whitelist: [10.10.0.0/16]",
        "whitelist: [10.10.0.0/16",
        37,
        "",
        "GG001",
        "invalid YAML",
    ),
    (
        "bad-env-name",
        "  prod:\n",
        "  Prod_1:\n",
        28,
        "environments.Prod_1",
        "GG008",
        "not a valid name",
    ),
    (
        "policy-host-bits",
        "[10.10.0.0/16]",
        "[10.10.0.1/16]",
        36,
        "environments.prod.ingress.whitelist[0]",
        "GG103",
        "the network is 10.10.0.0/16",
    ),
    (
        "policy-public",
        "[10.10.0.0/16]",
        "[0.0.0.0/0]",
        36,
        "environments.prod.ingress.whitelist[0]",
        "GG102",
        "whole internet",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "line", "path", "finding", "words"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_bad_spec_is_refused_with_its_place(
    tmp_repo: Path,
    run_cli: Invoke,
    old: str,
    new: str,
    line: int,
    path: str,
    finding: str,
    words: str,
) -> None:
    spec = tmp_repo / SPEC
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new, 1))
    (tmp_repo / "apps/fastapi/values/prod.yaml").unlink()  # a render would re-create it
    before = snapshot(tmp_repo)
    result = run_cli("render", "--root", tmp_repo, expect=1)
    lines = [ln for ln in result.stderr.splitlines() if f"[{finding}]" in ln]
    assert lines, result.stderr
    first = lines[0]
    assert first.startswith(f"{SPEC}:{line}:"), first
    assert f": {path}:" in first or (not path and f"{SPEC}:{line}:" in first), first
    assert words in first
    assert "Traceback" not in result.output
    assert snapshot(tmp_repo) == before


def test_every_problem_is_reported_at_once(tmp_repo: Path, run_cli: Invoke) -> None:
    spec = tmp_repo / SPEC
    text = spec.read_text().replace("canaryPercent: 20}", "canaryPercent: -1}")
    text = text.replace("replicas: 2", "replicas: 2.5").replace("pool: prod-pool", "pol: prod-pool")
    spec.write_text(text)
    result = run_cli("render", "--root", tmp_repo, expect=1)
    assert "canaryPercent: -1 is less than the minimum of 0" in result.stderr
    assert "defaults.replicas: 2.5 is not of type 'integer'" in result.stderr
    assert "environments.prod.metallb.pol: unknown field 'pol' (did you mean 'pool'?)" in (
        result.stderr
    )
    assert "'pool' is required" not in result.stderr  # the typo's echo (issue 26, item 17)
    assert "3 problem(s)" in result.stderr


def test_missing_spec_file_is_a_clear_error(tmp_path: Path, run_cli: Invoke) -> None:
    result = run_cli("render", "--root", tmp_path, expect=2)  # an I/O error, not a bad spec
    assert "cannot read spec environments/environments.yaml: No such file" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_spec_that_is_not_a_mapping(tmp_repo: Path, run_cli: Invoke) -> None:
    (tmp_repo / SPEC).write_text("- just\n- a list\n")
    result = run_cli("render", "--root", tmp_repo, expect=1)
    assert "the spec must be a YAML mapping" in result.stderr
