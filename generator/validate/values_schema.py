"""The chart's values.schema.json, as findings at the place each rejected value is written.

Helm refuses values with one message for all the schema's errors ("values don't meet the
specifications of the schema(s) ... - at '/service/port': minimum: got 0, want 1"), and the
generated values file is nobody's to edit. So when Helm refuses, the merged values (the chart's
defaults, then the environment's values file, as Helm coalesces them) are checked here with the
same schema, one finding per error: a value written in `helmValues` at its spec line (an
unknown key with the closest key the chart knows), anything else at its line in the values
file. Should this check find nothing where Helm refused, Helm's own words are reported.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator, ValidationError

from gitopsgen.findings import Finding, build_finding
from gitopsgen.spec.load import written_at
from gitopsgen.spec.model import Environment
from gitopsgen.yamlsource import FastLoader, PathPart, SourceDocument, format_path, load_document

HINT = "fix the field in the spec (helmValues or the field it comes from)"


@cache
def _chart_schema(chart: Path) -> tuple[Draft7Validator, dict[str, Any]] | None:
    try:
        schema = json.loads((chart / "values.schema.json").read_text())
        defaults = yaml.load((chart / "values.yaml").read_text(), Loader=FastLoader) or {}
    except (OSError, ValueError, yaml.YAMLError):
        return None
    if not isinstance(schema, dict) or not isinstance(defaults, dict):
        return None
    return Draft7Validator(schema), defaults


def coalesce(defaults: Any, values: Any) -> Any:
    """Helm's merge of user values over chart defaults: maps key by key, a null deletes."""
    if not isinstance(defaults, dict) or not isinstance(values, dict):
        return values
    out = dict(defaults)
    for key, value in values.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = coalesce(out.get(key), value)
    return out


def values_schema_findings(
    root: Path,
    chart_path: str,
    env: Environment,
    values_file: str,
    values_text: str,
    spec_doc: SourceDocument | None,
    spec_file: str,
) -> list[Finding]:
    """One finding per schema error of the merged values (empty: the schema accepts them)."""
    loaded = _chart_schema((root / chart_path).resolve())
    if loaded is None:
        return []
    validator, defaults = loaded
    values_doc, _ = load_document(values_text)
    merged = coalesce(defaults, values_doc.data or {})
    errors = sorted(validator.iter_errors(merged), key=lambda e: list(map(str, e.absolute_path)))
    found: list[Finding] = []
    for error in errors:
        for path, message in _problems(error):
            if spec_doc is not None and _set_in(env.helm_values, path):
                found.append(_at_spec(spec_doc, spec_file, env, path, message, error))
            else:
                line = values_doc.position_of(list(path)).line
                found.append(
                    build_finding(
                        "GG303",
                        values_file,
                        line,
                        0,
                        format_path(path),
                        f"the chart's values.schema.json: {message}",
                        HINT,
                    )
                )
    return found


def _problems(error: ValidationError) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted(
            (error.schema.get("properties") or {}) if isinstance(error.schema, dict) else {}
        )
        for key in [k for k in error.instance if k not in known]:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            yield (*path, key), f"unknown field {key!r}{hint}"
        return
    yield path, str(error.message)


def _set_in(helm_values: Any, path: tuple[PathPart, ...]) -> bool:
    """Whether helmValues writes the value at `path` itself."""
    node = helm_values
    for part in path:
        present = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if not present:
            return False
        node = node[part]
    return True


def _at_spec(
    doc: SourceDocument,
    spec_file: str,
    env: Environment,
    path: tuple[PathPart, ...],
    message: str,
    error: ValidationError,
) -> Finding:
    spec_path: tuple[PathPart, ...] = ("environments", env.name, "helmValues", *path)
    where = written_at(doc, spec_path)
    unknown = error.validator == "additionalProperties"
    pos = doc.key_position_of(where) if unknown else doc.position_of(where)
    return build_finding(
        "GG303",
        spec_file,
        pos.line,
        pos.column,
        format_path(spec_path),
        f"the chart's values.schema.json: {message}",
        "fix helmValues: the chart's values.yaml and values.schema.json list what it takes",
    )
