"""Check Kubernetes documents against every schema that knows their kind, with file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from gitopsgen.findings import Finding, Severity, build_finding
from gitopsgen.render.registry import declared_kinds
from gitopsgen.validate.apiserver import api_server_problems
from gitopsgen.validate.cel.rules import check_rules, rule_tree
from gitopsgen.validate.crds import CrdSchema, prepare_document, prune_nulls
from gitopsgen.validate.kube import fast_kube_check, kube_validator
from gitopsgen.validate.policies.spec_checks import POLICIES
from gitopsgen.validate.strictness import deliberate_for_error
from gitopsgen.yamlsource import PathPart, SourceDocument, format_path, load_documents

# Our own strict schemas, one per API group and version the renderers declare they emit.
OWN_SCHEMA_FILES = {
    k.api_version: k.own_schema_file for k in declared_kinds() if k.own_schema_file is not None
}


@cache
def _own_defs(api_version: str) -> dict[str, Any] | None:
    name = OWN_SCHEMA_FILES.get(api_version)
    if name is None:
        return None
    schema: dict[str, Any] = json.loads(
        resources.files("gitopsgen").joinpath(f"schemas/{name}").read_text()
    )
    return schema


@cache
def own_validator(api_version: str, kind: str) -> Draft202012Validator | None:
    schema = _own_defs(api_version)
    if schema is None or kind not in schema["$defs"]:
        return None
    return Draft202012Validator({"$defs": schema["$defs"], "$ref": f"#/$defs/{kind}"})


@cache
def _crd_validator(crd: CrdSchema) -> Draft202012Validator:
    return Draft202012Validator(crd.schema)


@dataclass
class SchemaSet:
    """Everything a document may be checked against in one run."""

    kube_version: str
    crds: dict[tuple[str, str], CrdSchema] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentRef:
    """Where a document comes from, for messages: its file and a label for the resource."""

    file: str
    label: str = ""
    line_offset: int = 0


def check_text(text: str, ref: DocumentRef, schemas: SchemaSet) -> list[Finding]:
    """Every document of a YAML stream: parse errors, then each document's schema findings."""
    docs, problems = load_documents(text)
    findings = [
        build_finding(
            "GG309",
            ref.file,
            p.position.line + ref.line_offset,
            p.position.column,
            format_path(p.path),
            p.message,
            "fix the YAML",
        )
        for p in problems
    ]
    return findings + check_documents(docs, ref, schemas)


def check_documents(
    docs: list[SourceDocument], ref: DocumentRef, schemas: SchemaSet
) -> list[Finding]:
    """Schema findings of already-parsed documents (empty documents are skipped)."""
    return [f for doc in docs if doc.data is not None for f in check_document(doc, ref, schemas)]


def check_document(doc: SourceDocument, ref: DocumentRef, schemas: SchemaSet) -> list[Finding]:
    data = doc.data
    if not isinstance(data, dict) or "apiVersion" not in data or "kind" not in data:
        return [
            _at(
                doc,
                ref,
                (),
                "GG301",
                Severity.ERROR,
                "not a Kubernetes object: apiVersion and kind are required",
            )
        ]
    api_version, kind = str(data["apiVersion"]), str(data["kind"])
    resource = _resource_name(data)
    findings: list[Finding] = []
    checked = False
    own = own_validator(api_version, kind)
    if own is not None:
        checked = True
        findings.extend(_schema_findings(own, prune_nulls(data), doc, ref, "GG301", resource))
    crd = schemas.crds.get((api_version, kind))
    if crd is not None:
        checked = True
        prepared = prepare_document(data, crd)
        crd_findings = list(
            _schema_findings(_crd_validator(crd), prepared, doc, ref, "GG302", resource)
        )
        findings.extend(crd_findings)
        findings.extend(_cel_findings(crd, prepared, bool(crd_findings), doc, ref, resource))
    kube = kube_validator(schemas.kube_version, api_version, kind)
    if kube is not None:
        checked = True
        fast = fast_kube_check(schemas.kube_version, api_version, kind)
        pruned = prune_nulls(data)
        if fast is None or not fast(pruned):
            findings.extend(_schema_findings(kube, pruned, doc, ref, "GG304", resource))
        if not findings:  # after a schema error the server stops before these rules
            findings.extend(
                _at(doc, ref, path, "GG304", Severity.ERROR, f"{resource}: {message}", API_HINT)
                for path, message in api_server_problems(pruned, schemas.kube_version)
            )
    if not checked:
        findings.append(
            _at(
                doc,
                ref,
                (),
                "GG305",
                Severity.SKIPPED,
                f"{resource}: no schema for {api_version} {kind}; not checked",
            )
        )
    return findings


API_HINT = "the API server's own validation refuses this value (a rule its schema does not state)"

# Schema errors after which the API server does not run the CEL rules (hasBlockingErr).
BLOCKING = frozenset(
    {"type", "required", "enum", "maxLength", "maxItems", "maxProperties", "anyOf"}
)


def _cel_findings(
    crd: CrdSchema,
    prepared: Any,
    invalid: bool,
    doc: SourceDocument,
    ref: DocumentRef,
    resource: str,
) -> list[Finding]:
    """The CRD's CEL rules: failed ones GG310, ones that could not run GG311 (skipped)."""
    if rule_tree(crd) is None:
        return []
    if invalid and any(e.validator in BLOCKING for e in _crd_validator(crd).iter_errors(prepared)):
        message = (
            f"{resource}: CEL rules not evaluated: the API server checks them only once "
            "this document's schema errors (GG302) are fixed"
        )
        return [_at(doc, ref, (), "GG311", Severity.SKIPPED, message, "fix the GG302 errors first")]
    return [
        _at(
            doc,
            ref,
            result.path,
            result.id,
            Severity.ERROR if result.id == "GG310" else Severity.SKIPPED,
            f"{resource}: {result.message}",
            f"CEL rule: {result.hint}",
        )
        for result in check_rules(crd, prepared)
    ]


def _resource_name(data: dict[str, Any]) -> str:
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    return f"{data['kind']}/{(meta or {}).get('name', '?')}"


def _schema_findings(
    validator: Draft202012Validator,
    data: Any,
    doc: SourceDocument,
    ref: DocumentRef,
    finding_id: str,
    resource: str,
) -> Iterator[Finding]:
    if validator.is_valid(data):  # the fast path; errors are collected only for a failing doc
        return
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        yield from _error_findings(error, doc, ref, finding_id, resource)


def _error_findings(
    error: ValidationError, doc: SourceDocument, ref: DocumentRef, finding_id: str, resource: str
) -> Iterator[Finding]:
    path = tuple(error.absolute_path)
    if finding_id == "GG301":
        deliberate = deliberate_for_error(resource.split("/", 1)[0], error)
        if deliberate is not None:  # gitopsgen's recommendation, not the API server's rule
            policy = POLICIES[deliberate.policy]
            yield _at(
                doc,
                ref,
                path,
                policy.id,
                policy.severity,
                f"{resource}: {policy.summary}",
                deliberate.reason,
            )
            return
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = (error.schema.get("properties") or {}) if isinstance(error.schema, dict) else {}
        for key in [k for k in error.instance if k not in known]:
            yield _at(
                doc,
                ref,
                (*path, key),
                finding_id,
                Severity.ERROR,
                f"{resource}: unknown field {key!r}",
            )
        return
    message = _message(error)
    yield _at(doc, ref, path, finding_id, Severity.ERROR, f"{resource}: {_shorten(message)}")


def _message(error: ValidationError) -> str:
    if error.validator in ("anyOf", "oneOf") and error.context:
        best = min(error.context, key=lambda e: len(list(e.absolute_path)))
        return f"{error.message} ({best.message})"
    return str(error.message)


def _shorten(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _at(
    doc: SourceDocument,
    ref: DocumentRef,
    path: tuple[PathPart, ...],
    finding_id: str,
    severity: Severity,
    message: str,
    hint: str = "see the schema of this kind",
) -> Finding:
    pos = doc.position_of(path)
    field_path = format_path(path)
    if ref.label:
        field_path = f"{ref.label}: {field_path}" if field_path else ref.label
    return build_finding(
        finding_id,
        ref.file,
        pos.line + ref.line_offset,
        pos.column,
        field_path,
        message,
        hint,
        severity=severity,
    )
