"""Crafted CEL rules in a CRD (issue 26, item 11): rules too large or too deeply nested for the
Rust library, a regex that backtracks exponentially in Python's `re`, comprehensions that would
run for minutes. Each is a GG311 (not evaluated) or a correct answer within bounds, never a
PanicException or a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitopsgen.validate.cel import rules as celrules
from gitopsgen.validate.cel.budget import (
    DOCUMENT_COST,
    MAX_NESTING,
    MAX_RULE_CHARS,
    PER_CALL_COST,
    DocumentBudget,
    shape_of,
)
from gitopsgen.validate.crds import CrdSchema
from tests.support import REPO


def crd_with(rule: str) -> CrdSchema:
    """A CRD whose spec.values (a list of strings) carries `rule`."""
    values: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
    spec: dict[str, Any] = {
        "type": "object",
        "properties": {"values": values, "text": {"type": "string"}},
    }
    spec["x-kubernetes-validations"] = [{"rule": rule, "message": "crafted"}]
    openapi = {"type": "object", "properties": {"spec": spec}}
    return CrdSchema("example.org/v1", "Crafted", {}, False, "crafted.yaml", openapi)


def results(rule: str, spec: dict[str, Any]) -> list[celrules.RuleResult]:
    return celrules.check_rules(crd_with(rule), {"spec": spec})


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("(" * 100_000 + "true" + ")" * 100_000, f"over gitopsgen's {MAX_RULE_CHARS:,}"),
        (
            "(" * 4_000 + "true" + ")" * 4_000,
            f"nests 4000 brackets deep, over gitopsgen's {MAX_NESTING}",
        ),
        ("[" * 40 + "1" + "]" * 40 + " != []", "nests 40 brackets"),
        ("self.values.size() >= 0 && " * 400 + "true", "characters long"),
    ],
)
def test_a_rule_too_large_or_too_deep_is_not_compiled(rule: str, words: str) -> None:
    before = celrules.COMPILES["count"]
    (result,) = results(rule, {"values": ["a"]})
    assert result.id == "GG311" and words in result.message
    assert celrules.COMPILES["count"] == before  # never handed to the library
    assert len(result.message) < 600  # the rule is shown abridged


def test_the_library_never_panics_on_them_in_a_real_validate(
    tmp_path: Path, frozen_root: Path
) -> None:
    """In a subprocess, as a user runs it: the Rust panic hook writes to the process's stderr."""
    crds = tmp_path / "crds"
    crds.mkdir()
    rule = "(" * 100_000 + "true" + ")" * 100_000
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "crafteds.example.org"},
        "spec": {
            "group": "example.org",
            "names": {"kind": "Crafted", "plural": "crafteds"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": crd_with(rule).openapi},
                }
            ],
        },
    }
    (crds / "crafted.yaml").write_text(yaml.safe_dump(crd, width=1 << 30))
    doc = tmp_path / "doc.yaml"
    doc.write_text(
        "apiVersion: example.org/v1\nkind: Crafted\nmetadata: {name: x}\nspec: {values: [a]}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "gitopsgen", "validate", "--root", str(frozen_root), "--crd-dir", str(crds),
         "--format", "json", str(doc)],
        capture_output=True, text=True, check=False, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert "panicked" not in result.stderr and "Traceback" not in result.stderr
    found = [f for f in json.loads(result.stdout) if f["file"].endswith("doc.yaml")]
    skipped = [f for f in found if f["id"] == "GG311"]
    assert len(skipped) == 1 and "over gitopsgen's" in skipped[0]["message"], found


def test_find_with_a_catastrophic_pattern_runs_in_linear_time() -> None:
    """`(a+)+$` on 30 a's and a b backtracks 2^30 times in Python's `re` (minutes); RE2 does not."""
    rule = "self.text.find('(a+)+$') == ''"
    started = time.monotonic()
    assert results(rule, {"text": "a" * 30_000 + "b"}) == []
    assert results("self.text.findAll('(a+)+b').size() == 1", {"text": "a" * 30_000 + "b"}) == []
    assert time.monotonic() - started < 5.0
    (wrong,) = results(rule, {"text": "aaa"})
    assert wrong.id == "GG310"


def test_an_invalid_re2_pattern_is_an_evaluation_error() -> None:
    (result,) = results("self.text.find('(?=x)') == ''", {"text": "x"})
    assert result.id == "GG310" and "invalid regular expression" in result.message


def test_a_triple_comprehension_over_400_items_is_over_budget() -> None:
    """Once 44 s; estimated at 400^3 times its tokens, it is not run."""
    rule = "self.values.all(a, self.values.all(b, self.values.all(c, a + b + c != '')))"
    started = time.monotonic()
    (result,) = results(rule, {"values": ["x"] * 400})
    assert time.monotonic() - started < 2.0
    assert result.id == "GG311"
    assert f"over the per-call limit of {PER_CALL_COST:,}" in result.message
    assert results(rule, {"values": ["x"] * 5}) == []  # the same rule on a few items runs


def test_the_document_budget_is_shared_by_its_rules() -> None:
    budget = DocumentBudget(now=0.0)
    spent = [budget.refusal(PER_CALL_COST, now=0.0) for _ in range(DOCUMENT_COST // PER_CALL_COST)]
    assert spent == [""] * (DOCUMENT_COST // PER_CALL_COST)
    assert "cost budget" in budget.refusal(1, now=0.0)
    assert "time budget" in DocumentBudget(now=0.0).refusal(1, now=1e6)


def test_string_literals_do_not_count_as_nesting() -> None:
    shape = shape_of(
        "self.x == '((((((((((((((((((((((((((((((((((((((((' && self.y.all(v, v != ')')"
    )
    assert (shape.nesting, shape.comprehensions) == (1, 1)
