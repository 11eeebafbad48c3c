"""One home for every default: the model's field declarations. The builder reads them, and the
JSON Schema's `default`s, its enums and the docs' table of fields are held equal to them here."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from typing import Any

import pytest

from gitopsgen.spec.fields import FieldDoc, docs_table, field_docs, literal_values
from gitopsgen.spec.load import parse_spec, spec_schema
from gitopsgen.spec.model import Environment, Spec
from tests.support import FROZEN_SPEC_TEXT, REPO

# Where the table of an environment's fields lives: the spec reference.
TABLE_FILES = (REPO / "docs" / "spec.md",)
TABLE = re.compile(
    r"^\| field \| meaning \| default \|\n\| --- \| --- \| --- \|\n(?:\|.*\n)+", re.M
)


def _schema_node(schema: dict[str, Any], node: dict[str, Any], path: tuple[str, ...]) -> Any:
    for part in path:
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        node = node.get("properties", {}).get(part)
        if node is None:
            return None
    return node


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _schema_default(doc: FieldDoc) -> Any:
    """The default the schema must state: literal ones; "" and None stand for "not given"."""
    if not doc.has_literal_default or doc.default in ("", None):
        return None
    return _jsonable(doc.default)


def _declared(cls: type[Any]) -> list[FieldDoc]:
    return list(field_docs(cls))


def _schema_defaults(schema: dict[str, Any], node: Any, path: tuple[str, ...]) -> dict[str, Any]:
    """Every `default` the schema states below `node`, by dotted path."""
    out: dict[str, Any] = {}
    while isinstance(node, dict) and "$ref" in node:
        if "default" in node:
            out[".".join(path)] = node["default"]
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    if not isinstance(node, dict):
        return out
    if "default" in node:
        out[".".join(path)] = node["default"]
    for key, child in (node.get("properties") or {}).items():
        out.update(_schema_defaults(schema, child, (*path, key)))
    return out


@pytest.mark.parametrize(
    ("cls", "node"),
    [(Environment, "$defs/environmentFields"), (Spec, "")],
    ids=["environment", "spec"],
)
def test_the_schema_states_the_model_defaults_and_no_other(cls: type[Any], node: str) -> None:
    schema = spec_schema()
    base = schema["$defs"]["environmentFields"] if node else schema
    expected = {".".join(d.path): _schema_default(d) for d in _declared(cls)}
    expected = {path: value for path, value in expected.items() if value is not None}
    stated = _schema_defaults(schema, base, ())
    if cls is Spec:  # the environments' own defaults are the other case's
        stated = {p: v for p, v in stated.items() if not p.startswith(("defaults", "environ"))}
    assert stated == expected
    assert len(expected) >= (20 if cls is Environment else 2)


def test_the_schema_enums_are_the_model_literal_types() -> None:
    schema = spec_schema()
    base = schema["$defs"]["environmentFields"]
    checked = 0
    for doc in _declared(Environment):
        allowed = literal_values(doc.kind)
        if allowed is None:
            continue
        node = _schema_node(schema, base, doc.path)
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        assert tuple(node["enum"]) == allowed, doc.path
        checked += 1
    assert checked >= 7  # mode, aliases, provider, client address, policy, strategy, colours


def test_no_description_restates_a_default_the_schema_states() -> None:
    schema = spec_schema()
    base = schema["$defs"]["environmentFields"]
    for doc in _declared(Environment):
        node = _schema_node(schema, base, doc.path)
        if node is not None and "default" in node:
            assert not re.search(r"\bdefault\b", node.get("description", ""), re.I), doc.path


def test_the_builder_restates_no_default() -> None:
    """The model reads the spec through the declarations: no `.get(key, default)` in it."""
    tree = ast.parse((REPO / "generator/spec/model.py").read_text())
    restated = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and len(node.args) == 2
    ]
    assert restated == []


def test_an_environment_without_optional_fields_gets_the_declared_defaults() -> None:
    spec, _ = parse_spec(FROZEN_SPEC_TEXT, "environments/environments.yaml")
    prod = spec.environment("prod")
    declared = {".".join(d.path): d.default for d in _declared(Environment)}
    assert prod.serving.poll_interval_seconds == declared["serving.pollIntervalSeconds"] == 30
    assert prod.serving.canary_steps == declared["serving.canarySteps"]
    assert prod.analysis.window == declared["analysis.window"]
    assert prod.metallb is not None
    assert prod.metallb.namespace == declared["metallb.namespace"]
    # derived ones: from the environment's own values
    assert prod.analysis.selector == 'namespace="fastapi-prod"'
    assert prod.rollout.idle_replicas == prod.replicas
    assert prod.rollout.green.tag == prod.image.tag and prod.rollout.green.alias == "B"
    assert prod.production_like and not spec.environment("dev").production_like


def _table_file() -> Path:
    for path in TABLE_FILES:
        if path.is_file() and TABLE.search(path.read_text()):
            return path
    raise AssertionError("no table of an environment's fields in docs/spec.md")


def test_the_docs_table_of_fields_is_generated_from_the_model() -> None:
    """The first `| field | meaning | default |` table is `docs_table(Environment)`; refresh it
    with GITOPSGEN_UPDATE_DOCS=1 after changing a declaration."""
    path = _table_file()
    text = path.read_text()
    generated = docs_table(Environment)
    if os.environ.get("GITOPSGEN_UPDATE_DOCS"):
        text = TABLE.sub(lambda _m: generated, text, count=1)
        path.write_text(text)
    found = TABLE.search(text)
    assert found is not None
    assert found.group(0) == generated, (
        f"{path.name}'s table of fields differs from the model; refresh with "
        "GITOPSGEN_UPDATE_DOCS=1 pytest tests/generator/test_spec_defaults.py"
    )
