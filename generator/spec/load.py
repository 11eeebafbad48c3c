"""Load the environments spec: YAML with positions, JSON Schema, defaults merged, typed model."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from gitopsgen.errors import SpecError, SpecUnreadable
from gitopsgen.findings import Finding, build_finding
from gitopsgen.safepaths import read_input
from gitopsgen.spec.model import Spec, build_environment, build_spec
from gitopsgen.spec.typos import as_meant
from gitopsgen.yamlsource import PathPart, SourceDocument, format_path, load_document

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
def _validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    schema = spec_schema()
    resolved = {
        "$schema": schema["$schema"],
        "$defs": schema["$defs"],
        "$ref": "#/$defs/resolvedEnvironment",
    }
    return Draft202012Validator(schema), Draft202012Validator(resolved)


@cache
def _environment_validator() -> Draft202012Validator:
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


@cache
def _name_validator() -> Draft202012Validator:
    schema = spec_schema()
    return Draft202012Validator(
        {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/dnsLabel"}
    )


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else (lists included) is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_spec(path: Path, root: Path) -> tuple[Spec, SourceDocument]:
    """Read and check the spec file; raise SpecError with every problem found."""
    return parse_spec(*read_spec_text(path, root))


def read_spec_text(path: Path, root: Path) -> tuple[str, str]:
    """(text, path for messages); SpecUnreadable when the file cannot be read."""
    display = _display_path(path, root)
    try:
        text = read_input(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SpecUnreadable(f"cannot read spec {display}: {reason}") from exc
    return text, display


def parse_spec(text: str, display: str) -> tuple[Spec, SourceDocument]:
    reading = read_spec(text, display)
    if reading.findings or reading.spec is None:
        raise SpecError(reading.findings)
    return reading.spec, reading.document


@dataclass(frozen=True)
class SpecReading:
    """What the schema says about a spec, and the parts of it that can still be checked.

    `spec` holds the environments the schema accepted (all of them when `findings` is empty);
    `broken` names each left-out environment with the error that keeps it out; `global_error`
    is an error outside environments and defaults, which keeps anything from being rendered.
    `spec` is None only when the file is not a mapping of environments at all."""

    document: SourceDocument
    findings: list[Finding]
    spec: Spec | None
    broken: dict[str, Finding] = field(default_factory=dict)
    global_error: Finding | None = None
    meant: Any = None  # the data as meant (gitopsgen.spec.typos), which `spec` was built from


def read_spec(text: str, display: str) -> SpecReading:
    """The schema's findings and the accepted parts of the spec; never raises on bad input."""
    doc, problems = load_document(text)
    findings = [
        _finding(
            display, p.position.line, p.position.column, p.kind, format_path(p.path), p.message
        )
        for p in problems
    ]
    if doc.node is None or not isinstance(doc.data, dict):
        if not findings:
            findings.append(_finding(display, 1, 1, "type", "", "the spec must be a YAML mapping"))
        return SpecReading(doc, findings, None, {}, findings[0])
    findings.extend(_schema_findings(doc, display))
    meant = _as_meant(doc, findings)
    if _mergeable(meant.data):
        findings.extend(_resolved_findings(meant, display))
    findings = sorted(set(findings))
    global_error = next((f for f in findings if _is_global(f)), None)
    if problems or not _mergeable(meant.data):
        first = findings[0] if findings else None
        return SpecReading(doc, findings, None, {}, global_error or first)
    app_image = _app_image(meant.data, findings)
    broken = _broken_environments(meant, display, findings, app_image)
    app_name = str((meant.data.get("app") or {}).get("name") or "app")
    envs = tuple(
        build_environment(name, env, app_image, app_name)
        for name, env in merged_environments(meant.data).items()
        if name not in broken
    )
    spec = build_spec(meant.data, display, envs)
    return SpecReading(doc, findings, spec, broken, global_error, meant.data)


def _as_meant(doc: SourceDocument, findings: list[Finding]) -> SourceDocument:
    """The spec read as meant, each mistyped key renamed (gitopsgen.spec.typos): a typo is one
    finding (its GG003), not also every field it leaves missing. Positions stay the file's."""
    if not any(f.id == SCHEMA_IDS["additionalProperties"] for f in findings):
        return doc
    return replace(doc, data=as_meant(doc.data, _validators()[0]))


def _is_global(finding: Finding) -> bool:
    return not finding.path.startswith(("environments", "defaults", "app.image"))


def _broken_environments(
    doc: SourceDocument, display: str, findings: list[Finding], app_image: dict[str, Any]
) -> dict[str, Finding]:
    """Each environment the schema does not accept, with the first error that says why."""
    validator = _environment_validator()
    names = _name_validator()
    image_errors = [f for f in findings if f.path.startswith("app.image")]
    app_errors = [f for f in findings if f.path.startswith("app") or _is_global(f)]
    broken: dict[str, Finding] = {}
    for name, env in merged_environments(doc.data).items():
        where: tuple[PathPart, ...] = ("environments", name)
        if not names.is_valid(name):
            broken[name] = _finding_at(doc, display, where, "pattern", "not a valid name")
            continue
        error = next(iter(sorted(validator.iter_errors(env), key=str)), None)
        if error is not None:
            broken[name] = next(_error_findings(error, where, doc, display))
            continue
        typo = next((f for f in findings if f.id == "GG003" and _within(f.path, name)), None)
        if typo is not None:  # read as meant, but never rendered from a guess
            broken[name] = typo
            continue
        own = set(env.get("image") or {})
        if "repository" not in {*app_image, *own}:
            broken[name] = (app_errors or findings)[0]
            continue
        for finding in image_errors:
            # app.image.<field> is broken: an environment that sets <field> itself is not
            needed = set(finding.path.split(".")[2:3]) or {"repository", "tag"}
            if not needed <= own:
                broken[name] = finding
                break
    return broken


def _within(path: str, env_name: str) -> bool:
    """A finding's path inside the environment, or inside `defaults` (which it inherits)."""
    own = f"environments.{env_name}"
    return path == own or path.startswith((f"{own}.", f"{own}[", "defaults."))


def _app_image(data: dict[str, Any], findings: list[Finding]) -> dict[str, Any]:
    image = (data.get("app") or {}).get("image") if isinstance(data.get("app"), dict) else None
    if not isinstance(image, dict) or any(f.path.startswith("app.image") for f in findings):
        return {}
    return image


def _mergeable(data: dict[str, Any]) -> bool:
    envs = data.get("environments")
    defaults = data.get("defaults", {})
    return (
        isinstance(envs, dict)
        and isinstance(defaults, dict)
        and all(isinstance(env, dict) for env in envs.values())
    )


def merged_environments(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    defaults = data.get("defaults") or {}
    return {name: deep_merge(defaults, env or {}) for name, env in data["environments"].items()}


def _schema_findings(doc: SourceDocument, display: str) -> Iterator[Finding]:
    validator, _ = _validators()
    for error in validator.iter_errors(doc.data):
        yield from _error_findings(error, (), doc, display)


def _resolved_findings(doc: SourceDocument, display: str) -> Iterator[Finding]:
    _, validator = _validators()
    for name, env in merged_environments(doc.data).items():
        prefix: tuple[PathPart, ...] = ("environments", name)
        for error in validator.iter_errors(env):
            yield from _error_findings(error, prefix, doc, display)
    yield from _image_findings(doc, display)


def _image_findings(doc: SourceDocument, display: str) -> Iterator[Finding]:
    """The image repository may be set in `app.image` or per environment, but somewhere."""
    app = doc.data.get("app")
    app_image = app.get("image") if isinstance(app, dict) else None
    if not isinstance(app_image, dict) or "repository" in app_image:
        return  # set, or the schema reports what is wrong with app.image
    lacking = [
        name
        for name, env in merged_environments(doc.data).items()
        if not (isinstance(env.get("image"), dict) and "repository" in env["image"])
    ]
    if lacking:
        yield _finding_at(
            doc,
            display,
            ("app", "image", "repository"),
            "required",
            "'repository' is required: set it in app.image (or as image.repository in "
            f"{', '.join(lacking)})",
        )


def _error_findings(
    error: ValidationError,
    prefix: tuple[PathPart, ...],
    doc: SourceDocument,
    display: str,
) -> Iterator[Finding]:
    if error.validator in ("if", "then", "allOf", "anyOf", "oneOf") and error.context:
        for sub in error.context:
            yield from _error_findings(sub, prefix, doc, display)
        return
    inner = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted((error.schema.get("properties") or {}).keys())
        extras = [k for k in error.instance if k not in allowed]
        for key in extras:
            yield _finding_at(
                doc,
                display,
                (*prefix, *inner, key),
                "additionalProperties",
                f"unknown field {key!r}{_did_you_mean(str(key), allowed)}",
                at_key=True,
            )
        return
    if "propertyNames" in error.absolute_schema_path:
        yield _finding_at(
            doc,
            display,
            (*prefix, *inner, str(error.instance)),
            "pattern",
            f"{error.instance!r} is not a valid name: use lowercase letters, digits "
            "and '-' (a DNS label)",
            at_key=True,
        )
        return
    if error.validator == "required":
        message = str(error.message).replace("is a required property", "is required")
    else:
        message = _short_message(error)
    yield _finding_at(doc, display, (*prefix, *inner), _kind_of(error), message)


def _finding_at(
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
    return _finding(display, pos.line, pos.column, kind, format_path(path), message)


def written_at(doc: SourceDocument, path: tuple[PathPart, ...]) -> tuple[PathPart, ...]:
    """Where a value of a merged environment is written: the environment, else `defaults`, else
    (for the image) `app.image`. A value written nowhere points at the nearest place it could be
    written: the candidate of which most exists."""
    if len(path) < 2 or path[0] != "environments":
        return path
    rest = path[2:]
    candidates = [path, ("defaults", *rest)]
    if rest[:1] == ("image",):
        candidates.append(("app", *rest))
    for candidate in candidates:
        if doc.has_path(candidate):
            return candidate
    prefix = {c: len(c) - len(rest) for c in candidates}
    return max(
        candidates,
        key=lambda c: (
            doc.existing_depth(c) - prefix[c] if doc.existing_depth(c) >= prefix[c] else -1
        ),
    )


_HINTS = {
    "syntax": "fix the YAML at this place; the rest of the file is checked once it parses",
    "duplicate-key": "keep one of the two entries",
    "alias-limit": "write the values out where they are used",
}


def _finding(display: str, line: int, column: int, kind: str, path: str, message: str) -> Finding:
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


def _did_you_mean(key: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (allowed: {', '.join(allowed)})"


def _display_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
