"""Model versions pinned in the spec (`model.versions`): the schema's grammar, at any level,
rendered into the environment's values, and `set model.versions.B=9` as a string pin. The
registry side (`drift`, `validate --tracking-uri`) runs against a real MLflow server in
tests/serving/test_drift.py."""

from __future__ import annotations

import pytest
import yaml

from gitopsgen.errors import SpecError
from gitopsgen.promotion.decisions import set_edit
from gitopsgen.render.registry import render_all
from gitopsgen.spec.load import parse_spec
from tests.support import FROZEN_SPEC_TEXT

DEFAULT_MODEL = "  model: {name: best_model}\n"


def _pinned(versions: str, where: str = "defaults") -> str:
    assert DEFAULT_MODEL in FROZEN_SPEC_TEXT
    if where == "defaults":
        return FROZEN_SPEC_TEXT.replace(
            DEFAULT_MODEL, f"  model: {{name: best_model, versions: {versions}}}\n"
        )
    anchor = "    namespace: fastapi-prod\n"
    assert anchor in FROZEN_SPEC_TEXT
    return FROZEN_SPEC_TEXT.replace(anchor, anchor + f"    model: {{versions: {versions}}}\n")


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("bad", ['"0"', '"07"', '"v7"', "7", '"1.2"', '""'])
def test_a_pin_that_is_not_a_positive_integer_string_is_a_schema_error_at_its_line(
    bad: str,
) -> None:
    text = _pinned(f"{{B: {bad}}}", where="prod")
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "e.yaml")
    finding = next(f for f in caught.value.findings if f.path.endswith("versions.B"))
    assert finding.path == "environments.prod.model.versions.B"
    assert finding.line == _line_of(text, "model: {versions:")


def test_an_alias_other_than_a_or_b_is_refused_with_did_you_mean() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(_pinned('{b: "3"}'), "e.yaml")
    assert any(f.id == "GG003" and "versions" in f.path for f in caught.value.findings)


def test_pins_merge_from_defaults_and_render_into_each_environments_values() -> None:
    text = _pinned('{A: "7"}').replace(
        "    namespace: fastapi-prod\n",
        '    namespace: fastapi-prod\n    model: {versions: {B: "9"}}\n',
    )
    spec, _ = parse_spec(text, "e.yaml")
    assert spec.environment("prod").model_versions == (("A", "7"), ("B", "9"))
    assert spec.environment("dev").model_versions == (("A", "7"),)
    files = render_all(spec)
    prod = yaml.safe_load(files["apps/fastapi/values/prod.yaml"])["env"]
    dev = yaml.safe_load(files["apps/fastapi/values/dev.yaml"])["env"]
    assert (prod["MODEL_VERSION_A"], prod["MODEL_VERSION_B"]) == ("7", "9")
    assert dev["MODEL_VERSION_A"] == "7" and "MODEL_VERSION_B" not in dev


def test_without_pins_nothing_about_versions_is_rendered() -> None:
    spec, _ = parse_spec(FROZEN_SPEC_TEXT, "e.yaml")
    assert not any("MODEL_VERSION" in text for text in render_all(spec).values())


def test_set_a_pin_from_the_command_line_is_a_string() -> None:
    spec, _ = parse_spec(FROZEN_SPEC_TEXT, "e.yaml")
    edit = set_edit(spec, "prod", [(("model", "versions", "B"), 9)], None)
    assert edit.assignments == ((("model", "versions", "B"), "9"),)
    assert edit.branch == "set/prod-b-9"
