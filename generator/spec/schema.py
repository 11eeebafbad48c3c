"""The spec's JSON Schema, and its errors as findings at the line where each value is written."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from gitopsgen.findings import Finding, build_finding
from gitopsgen.spec.forms import did_you_mean
from gitopsgen.spec.merge import written_at
from gitopsgen.yamlsource import PathPart, SourceDocument, format_path

# Stable ids of the spec's own checks (policies of the validator are GG1xx).
SCHEMA_IDS = {
    "syntax": "GG001",
    "duplicate-key": "GG002",
    "additionalProperties": "GG003",
    "required": "GG004",
    "type": "GG005",
    "range": "GG006",
    "enum": "GG007",
    "pattern": "GG008",
    "other": "GG009",
    "alias-limit": "GG010",
}
_RANGE_KEYWORDS = {
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
    "exclusiveMinimum",
    "exclusiveMaximum",
}


@cache
def spec_schema() -> dict[str, Any]:
    text = resources.files("gitopsgen").joinpath("schemas/environments.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    schema = spec_schema()
    resolved = {
        "$schema": schema["$schema"],
        "$defs": schema["$defs"],
        "$ref": "#/$defs/resolvedEnvironment",
    }
    return Draft202012Validator(schema), Draft202012Validator(resolved)


@cache
def environment_validator() -> Draft202012Validator:
    """One environment after `defaults` are merged in: its fields and what it must have."""
    schema = spec_schema()
    return Draft202012Validator(
        {
            "$schema": schema["$schema"],
            "$defs": schema["$defs"],
            "allOf": [
                {"$ref": "#/$defs/environmentFields"},
                {"$ref": "#/$defs/resolvedEnvironment"},
            ],
        }
    )


# From this many targets on, each is first checked by a generated validator (fastjsonschema):
# 0.09 ms against jsonschema's 0.9 ms per target, for 0.15 s of compiling; only a target it
# refuses is checked again by jsonschema, for the findings.
FAST_FROM = 100


@cache
def _fast_environment_check() -> Callable[[Any], bool] | None:
    """The generated twin of `environment_validator` (None without fastjsonschema)."""
    try:
        import fastjsonschema  # compiles the schema into Python; only for large specs
    except ImportError:  # optional: jsonschema alone gives the same answers, slower
        return None
    schema = spec_schema()
    check = fastjsonschema.compile(
        {"$defs": schema["$defs"], "allOf": environment_validator().schema["allOf"]},
        use_default=False,  # never fill defaults into the data it checks
    )

    def valid(data: Any) -> bool:
        try:
            check(data)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return valid


def sound_targets(targets: dict[Any, dict[str, Any]]) -> set[Any]:
    """The targets the generated validator accepts, in a spec of FAST_FROM targets or more
    (none below that: compiling would cost more than it saves); their merged fields need no
    jsonschema pass, which would find nothing."""
    check = _fast_environment_check() if len(targets) >= FAST_FROM else None
    return set() if check is None else {t for t, data in targets.items() if check(data)}


@cache
def name_validator(definition: str = "dnsLabel") -> Draft202012Validator:
    schema = spec_schema()
    return Draft202012Validator(
        {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    )


def error_findings(
    error: ValidationError,
    prefix: tuple[PathPart, ...],
    doc: SourceDocument,
    display: str,
) -> Iterator[Finding]:
    if error.validator in ("if", "then", "allOf", "anyOf", "oneOf") and error.context:
        for sub in error.context:
            yield from error_findings(sub, prefix, doc, display)
        return
    inner = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted((error.schema.get("properties") or {}).keys())
        extras = [k for k in error.instance if k not in allowed]
        for key in extras:
            yield finding_at(
                doc,
                display,
                (*prefix, *inner, key),
                "additionalProperties",
                f"unknown field {key!r}{did_you_mean(str(key), allowed)}",
                at_key=True,
            )
        return
    if "propertyNames" in error.absolute_schema_path:
        yield finding_at(
            doc,
            display,
            (*prefix, *inner, str(error.instance)),
            "pattern",
            f"{error.instance!r} is not a valid name: use lowercase letters, digits "
            "and '-' (a DNS label" + (", at most 53 characters)" if _is_service(error) else ")"),
            at_key=True,
        )
        return
    if error.validator == "required":
        message = str(error.message).replace("is a required property", "is required")
    else:
        message = _short_message(error)
    yield finding_at(doc, display, (*prefix, *inner), _kind_of(error), message)


def _is_service(error: ValidationError) -> bool:
    return "services" in tuple(error.absolute_path)[-1:]


def finding_at(
    doc: SourceDocument,
    display: str,
    path: tuple[PathPart, ...],
    kind: str,
    message: str,
    *,
    at_key: bool = False,
) -> Finding:
    """A finding at `path`, located where its value is written (a key's own name: at the key)."""
    where = written_at(doc, path)
    pos = doc.key_position_of(where) if at_key else doc.position_of(where)
    return schema_finding(display, pos.line, pos.column, kind, format_path(path), message)


_HINTS = {
    "syntax": "fix the YAML at this place; the rest of the file is checked once it parses",
    "duplicate-key": "keep one of the two entries",
    "alias-limit": "write the values out where they are used",
}


def schema_finding(
    display: str, line: int, column: int, kind: str, path: str, message: str
) -> Finding:
    hint = _HINTS.get(kind, "see the spec reference in docs/spec.md")
    return build_finding(SCHEMA_IDS[kind], display, line, column, path, message, hint)


def _kind_of(error: ValidationError) -> str:
    keyword = str(error.validator)
    if keyword in _RANGE_KEYWORDS:
        return "range"
    if keyword in ("enum", "const"):
        return "enum"
    if keyword in ("type", "pattern", "required", "additionalProperties"):
        return keyword
    return "other"


def _short_message(error: ValidationError) -> str:
    if error.validator == "pattern":
        return f"{error.instance!r} does not match the pattern {error.validator_value!r}"
    if error.validator == "propertyNames":
        return f"{error.instance!r} is not a valid name"
    return str(error.message)
