"""Load the environments spec: YAML with positions, JSON Schema, defaults merged, typed model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jsonschema import ValidationError

from gitopsgen.errors import SpecError, SpecUnreadable
from gitopsgen.findings import Finding
from gitopsgen.safepaths import read_input
from gitopsgen.spec.forms import form_problems
from gitopsgen.spec.merge import (
    PER_ENVIRONMENT,
    Target,
    declared_services,
    deep_merge,
    is_services_form,
    merged_environments,
    merged_targets,
    written_at,
)
from gitopsgen.spec.model import Spec, build_environment, build_spec
from gitopsgen.spec.schema import (
    SCHEMA_IDS,
    environment_validator,
    error_findings,
    finding_at,
    name_validator,
    schema_finding,
    sound_targets,
    spec_schema,
    validators,
)
from gitopsgen.spec.typos import as_meant
from gitopsgen.yamlsource import PathPart, SourceDocument, format_path, load_document

# Kept importable from here: the levels and their merge live in spec.merge.
__all__ = [
    "SCHEMA_IDS",
    "SpecReading",
    "deep_merge",
    "load_spec",
    "merged_environments",
    "parse_spec",
    "read_spec",
    "read_spec_text",
    "spec_schema",
    "written_at",
]


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
        schema_finding(
            display, p.position.line, p.position.column, p.kind, format_path(p.path), p.message
        )
        for p in problems
    ]
    if doc.node is None or not isinstance(doc.data, dict):
        if not findings:
            findings.append(
                schema_finding(display, 1, 1, "type", "", "the spec must be a YAML mapping")
            )
        return SpecReading(doc, findings, None, {}, findings[0])
    findings.extend(_schema_findings(doc, display))
    findings.extend(_form_findings(doc, display))
    meant = _as_meant(doc, findings)
    if _mergeable(meant.data):
        findings.extend(_resolved_findings(meant, display))
    findings = sorted(set(findings))
    global_error = next((f for f in findings if _is_global(f, meant.data)), None)
    if problems or not _mergeable(meant.data):
        first = findings[0] if findings else None
        return SpecReading(doc, findings, None, {}, global_error or first)
    app_image = _app_image(meant.data, findings)
    broken = _broken_targets(meant, display, findings, app_image)
    app_name = str((meant.data.get("app") or {}).get("name") or "app")
    envs = tuple(
        build_environment(target, env, app_image, app_name)
        for target, env in merged_targets(meant.data).items()
        if target.key not in broken
    )
    spec = build_spec(meant.data, display, envs)
    return SpecReading(doc, findings, spec, broken, global_error, meant.data)


def _as_meant(doc: SourceDocument, findings: list[Finding]) -> SourceDocument:
    """The spec read as meant, each mistyped key renamed (gitopsgen.spec.typos): a typo is one
    finding (its GG003), not also every field it leaves missing. Positions stay the file's."""
    if not any(f.id == SCHEMA_IDS["additionalProperties"] for f in findings):
        return doc
    return replace(doc, data=as_meant(doc.data, validators()[0]))


def _is_global(finding: Finding, data: dict[str, Any]) -> bool:
    """An error that keeps anything from being rendered: outside the levels of environments
    (a service's own level counts as one of them when its name is sound)."""
    if finding.path.startswith(("environments", "defaults", "app.image")):
        return False
    parts = finding.path.split(".")
    named = len(parts) > 2 and parts[0] == "services" and parts[1] in declared_services(data)
    return not (named and name_validator("serviceName").is_valid(parts[1]))


def _broken_targets(
    doc: SourceDocument, display: str, findings: list[Finding], app_image: dict[str, Any]
) -> dict[str, Finding]:
    """Each target (an environment, or a service in one) the schema does not accept, with the
    first error that says why, by its key."""
    validator = environment_validator()
    services_form = is_services_form(doc.data)
    image_errors = [f for f in findings if f.path.startswith("app.image")]
    app_errors = [f for f in findings if f.path.startswith("app") or _is_global(f, doc.data)]
    broken: dict[str, Finding] = {}
    targets = merged_targets(doc.data)
    sound = sound_targets(targets)
    for target, env in targets.items():
        bad_name = _bad_name(doc, display, target)
        if bad_name is not None:
            broken[target.key] = bad_name
            continue
        errors = () if target in sound else validator.iter_errors(env)
        error = next(iter(sorted(errors, key=str)), None)
        if error is not None:
            broken[target.key] = next(error_findings(error, _prefix(target, error), doc, display))
            continue
        typo = next(
            (f for f in findings if f.id == "GG003" and _within(f.path, target.environment)), None
        )
        if typo is not None:  # read as meant, but never rendered from a guess
            broken[target.key] = typo
            continue
        own = set(env.get("image") or {})
        if services_form:
            if "repository" not in own:
                broken[target.key] = next(_image_findings(doc, display))
            continue
        if "repository" not in {*app_image, *own}:
            broken[target.key] = (app_errors or findings)[0]
            continue
        for finding in image_errors:
            # app.image.<field> is broken: an environment that sets <field> itself is not
            needed = set(finding.path.split(".")[2:3]) or {"repository", "tag"}
            if not needed <= own:
                broken[target.key] = finding
                break
    return broken


def _within(path: str, env_name: str) -> bool:
    """A finding's path inside the environment, or inside `defaults` (which it inherits)."""
    own = f"environments.{env_name}"
    return path == own or path.startswith((f"{own}.", f"{own}[", "defaults."))


def _bad_name(doc: SourceDocument, display: str, target: Target) -> Finding | None:
    if not name_validator().is_valid(target.environment):
        where: tuple[PathPart, ...] = ("environments", target.environment)
        return finding_at(doc, display, where, "pattern", "not a valid name")
    if target.service is not None and not name_validator("serviceName").is_valid(target.service):
        return finding_at(doc, display, target.path, "pattern", "not a valid service name")
    return None


def _prefix(target: Target, error: ValidationError) -> tuple[PathPart, ...]:
    """Where an error of a target's merged fields belongs: an environment's own fields (its
    cluster, its pool) are the environment's, whichever service reads them."""
    head = tuple(error.absolute_path)[:1]
    if target.service is not None and head and head[0] in PER_ENVIRONMENT:
        return ("environments", target.environment)
    return target.path


def _app_image(data: dict[str, Any], findings: list[Finding]) -> dict[str, Any]:
    image = (data.get("app") or {}).get("image") if isinstance(data.get("app"), dict) else None
    if not isinstance(image, dict) or any(f.path.startswith("app.image") for f in findings):
        return {}
    return image


def _mergeable(data: dict[str, Any]) -> bool:
    envs = data.get("environments")
    defaults = data.get("defaults", {})
    services = data.get("services", {})
    return (
        isinstance(envs, dict)
        and isinstance(defaults, dict)
        and all(isinstance(env, dict) for env in envs.values())
        and isinstance(services, dict)
        and all(isinstance(fields, dict) for fields in services.values())
        and all(
            isinstance(env.get("services", {}), dict)
            and all(isinstance(f, dict) for f in env.get("services", {}).values())
            for env in envs.values()
        )
    )


def _schema_findings(doc: SourceDocument, display: str) -> Iterator[Finding]:
    validator, _ = validators()
    for error in validator.iter_errors(doc.data):
        if not error.absolute_path and error.validator in ("anyOf", "not"):
            continue  # one form or the other: _form_findings says it in the spec's terms
        yield from error_findings(error, (), doc, display)


def _form_findings(doc: SourceDocument, display: str) -> Iterator[Finding]:
    for problem in form_problems(doc.data):
        yield finding_at(
            doc, display, problem.path, problem.kind, problem.message, at_key=problem.at_key
        )


def _resolved_findings(doc: SourceDocument, display: str) -> Iterator[Finding]:
    _, validator = validators()
    targets = merged_targets(doc.data)
    sound = sound_targets(targets)
    for target, env in targets.items():
        for error in () if target in sound else validator.iter_errors(env):
            yield from error_findings(error, _prefix(target, error), doc, display)
    yield from _image_findings(doc, display)


def _image_findings(doc: SourceDocument, display: str) -> Iterator[Finding]:
    """The image repository may be set in `app.image` or per environment (in the services form:
    per service or per environment), but somewhere."""
    if is_services_form(doc.data):
        yield from _service_image_findings(doc, display)
        return
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
        yield finding_at(
            doc,
            display,
            ("app", "image", "repository"),
            "required",
            "'repository' is required: set it in app.image (or as image.repository in "
            f"{', '.join(lacking)})",
        )


def _service_image_findings(doc: SourceDocument, display: str) -> Iterator[Finding]:
    lacking: dict[str, list[str]] = {}
    for target, env in merged_targets(doc.data).items():
        image = env.get("image")
        if target.service and not (isinstance(image, dict) and "repository" in image):
            lacking.setdefault(target.service, []).append(target.environment)
    for service, envs in lacking.items():
        yield finding_at(
            doc,
            display,
            ("services", service, "image", "repository"),
            "required",
            f"'repository' is required: set image.repository in services.{service} (or in "
            f"environments.<env>.services.{service} of {', '.join(envs)})",
        )


def _display_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
