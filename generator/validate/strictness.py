"""Where our own schemas (GG301) are stricter than the API server, and which of those are policy.

Our schemas are written from the API references and must never reject what the API server
accepts: `stricter_points` walks one of them beside the upstream CRD's `openAPIV3Schema` (or
Kubernetes' ObjectMeta for `metadata`) and lists every place it is stricter — a required field,
a type, an enum or const, a pattern, a bound, a closed object where the API server's is open or
knows more fields. The test suite fails on any such place that is not in `DELIBERATE`.

A `DELIBERATE` entry is a recommendation of gitopsgen's, not an API-server rule: a document that
breaks it is reported with the entry's policy id (GG12x) and severity, not as a GG301 schema error.
`SERVER_RULES` are rules the API server enforces in code rather than in its OpenAPI schema (object
names, for instance); our schemas state them, and they stay GG301.

Paths are instance paths: `spec.addresses[]` is every item of `spec.addresses`, `x.*` every value
of the map `x`; the root is "".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema import ValidationError

# (path, keyword) -> why: rules the API server applies to every object in code, not in its OpenAPI
# schema (apimachinery's ValidateObjectMetaAccessor; custom resource names are DNS subdomains)
SERVER_RULES: dict[tuple[str, str], str] = {
    ("apiVersion", "required"): "the API server cannot route an object without apiVersion",
    ("kind", "required"): "the API server cannot route an object without kind",
    ("metadata", "required"): "the API server refuses an object without metadata",
    ("metadata", "anyOf"): "the API server refuses an object with neither name nor generateName",
    ("metadata.name", "pattern"): "custom resource names are DNS subdomains",
    ("metadata.name", "maxLength"): "custom resource names are DNS subdomains (253 characters)",
    ("metadata.namespace", "pattern"): "namespace names are DNS labels",
    ("metadata.namespace", "maxLength"): "namespace names are DNS labels (63 characters)",
}


@dataclass(frozen=True)
class Stricter:
    """One place where our schema refuses something the upstream schema accepts."""

    kind: str
    path: str
    keyword: str
    detail: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.path, self.keyword)


@dataclass(frozen=True)
class Deliberate:
    """A difference kept on purpose: reported as `policy`, with the reason users read."""

    policy: str
    reason: str


# (kind, path, keyword) -> the policy that reports it. Every entry is a documented policy in
# policies.POLICIES and docs/validation.md; the test suite checks both ways.
_POOL = "an IPAddressPool without addresses gives MetalLB nothing to assign"
_SOURCE = (
    "Argo CD marks an Application without a source (or with an empty repoURL) invalid "
    "and syncs nothing"
)
_DESTINATION = "Argo CD marks an Application whose destination has neither server nor name invalid"
DELIBERATE: dict[tuple[str, str, str], Deliberate] = {
    ("IPAddressPool", "spec.addresses", "minItems"): Deliberate("GG120", _POOL),
    ("IPAddressPool", "spec.addresses[]", "minLength"): Deliberate(
        "GG120", "an empty string is no address (GG104 checks the form of the others)"
    ),
    **{
        (kind, f"{spec}{where}", keyword): Deliberate("GG121", _SOURCE)
        for kind, spec in (("Application", "spec"), ("ApplicationSet", "spec.template.spec"))
        for where, keyword in (
            ("", "anyOf"),
            (".source.repoURL", "minLength"),
            (".sources[].repoURL", "minLength"),
        )
    },
    ("Application", "spec.destination", "anyOf"): Deliberate("GG122", _DESTINATION),
    ("ApplicationSet", "spec.template.spec.destination", "anyOf"): Deliberate(
        "GG122", _DESTINATION
    ),
    ("ApplicationSet", "spec.goTemplateOptions[]", "pattern"): Deliberate(
        "GG123",
        "Go's text/template knows only missingkey=default|invalid|zero|error options and "
        "panics on any other, so the ApplicationSet generates nothing",
    ),
}


OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def compare_own_kind(
    kind: str, own: dict[str, Any], openapi: dict[str, Any], kube_defs: dict[str, Any]
) -> list[Stricter]:
    """Where our schema of `kind` (`own` holds `$defs`) is stricter than the CRD's
    `openAPIV3Schema`, whose `metadata` the API server reads as Kubernetes' ObjectMeta."""
    theirs = dict(openapi)
    theirs["properties"] = {
        **openapi.get("properties", {}),
        "metadata": {"$ref": f"#/$defs/{OBJECT_META}"},
    }
    return stricter_points(kind, own["$defs"][kind], theirs, own["$defs"], kube_defs)


def unlisted(points: list[Stricter]) -> list[Stricter]:
    """The points neither an API-server rule nor a deliberate policy: bugs in our schemas."""
    return [
        p for p in points if (p.path, p.keyword) not in SERVER_RULES and p.key not in DELIBERATE
    ]


def deliberate_for_error(kind: str, error: ValidationError) -> Deliberate | None:
    """The deliberate difference a validation error of our own schema is, if it is one."""
    for path, keyword in _error_keys(error):
        found = DELIBERATE.get((kind, path, keyword))
        if found is not None:
            return found
    return None


def _error_keys(error: ValidationError) -> Iterator[tuple[str, str]]:
    base = instance_path(error.absolute_path)
    keyword = str(error.validator)
    if keyword == "required":
        match = re.match(r"^'(.+)' is a required property$", error.message)
        if match:
            yield _join(base, match.group(1)), keyword
        return
    yield base, keyword


def instance_path(parts: Any) -> str:
    out = ""
    for part in parts:
        out = f"{out}[]" if isinstance(part, int) else _join(out, str(part))
    return out


def _join(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


# ---------------------------------------------------------------------------------------------
# The walk. `ours` is one of generator/schemas (its refs resolved in `defs`); `theirs` the upstream
# schema as the API server reads it: the CRD's raw `openAPIV3Schema` with its x-kubernetes-*
# extensions, or a Kubernetes definition (its refs resolved in `their_defs`).

_BOUNDS_MIN = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")
_BOUNDS_MAX = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
_COMBINATORS = ("oneOf", "anyOf", "allOf", "not", "if", "dependentRequired", "dependentSchemas")


def stricter_points(
    kind: str,
    ours: Any,
    theirs: Any,
    defs: dict[str, Any],
    their_defs: dict[str, Any] | None = None,
    path: str = "",
) -> list[Stricter]:
    """Every place `ours` is stricter than `theirs`, below `path`."""
    found = set(_walk(kind, ours, theirs, defs, their_defs or {}, path))
    return sorted(found, key=lambda s: (s.path, s.keyword, s.detail))


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        rest = {k: v for k, v in node.items() if k != "$ref"}
        node = {**defs[node["$ref"].rsplit("/", 1)[1]], **rest}
    return node


def _types(node: dict[str, Any]) -> set[str] | None:
    """The JSON types a schema node admits (null left out: nulls are pruned), or None for any."""
    if node.get("x-kubernetes-int-or-string"):
        return {"integer", "string"}
    branches = node.get("anyOf")
    if (
        "type" not in node
        and isinstance(branches, list)
        and branches
        and all(isinstance(b, dict) and set(b) == {"type"} for b in branches)
    ):
        found: set[str] = set()
        for branch in branches:
            found |= _types(branch) or set()
        return found
    value = node.get("type")
    if value is None:
        return None
    types = {value} if isinstance(value, str) else set(value)
    types.discard("null")
    if "number" in types:
        types.add("integer")
    return types


def _open_to(theirs: dict[str, Any]) -> dict[str, Any] | None:
    """The schema of fields the API server keeps beyond the named ones, or None: it drops them
    (pruning; with strict field validation, as kubectl asks, that is an error)."""
    extra = theirs.get("additionalProperties")
    if isinstance(extra, dict):
        return extra
    if extra is True or theirs.get("x-kubernetes-preserve-unknown-fields"):
        return {}
    if "type" not in theirs and not theirs.get("properties"):
        return {}  # no schema at all: anything
    return None


def _walk(
    kind: str,
    ours: Any,
    theirs: Any,
    defs: dict[str, Any],
    their_defs: dict[str, Any],
    path: str,
) -> Iterator[Stricter]:
    ours = _resolve(ours, defs)
    theirs = _resolve(theirs, their_defs)
    if not isinstance(ours, dict) or not isinstance(theirs, dict):
        return

    def point(keyword: str, detail: str, where: str = path) -> Stricter:
        return Stricter(kind, where, keyword, detail)

    our_types, their_types = _types(ours), _types(theirs)
    if our_types is not None and (their_types is None or their_types - our_types):
        yield point("type", f"ours {sorted(our_types)}, theirs {sorted(their_types or ['any'])}")
    for keyword in ("const", "enum"):
        if keyword in ours and path not in ("apiVersion", "kind"):
            allowed = [ours["const"]] if keyword == "const" else list(ours["enum"])
            theirs_allowed = [theirs["const"]] if "const" in theirs else theirs.get("enum")
            if theirs_allowed is None or any(v not in allowed for v in theirs_allowed):
                yield point(keyword, f"ours {allowed}, theirs {theirs_allowed or 'any'}")
    for keyword in ("pattern", "format"):
        if keyword in ours and ours[keyword] != theirs.get(keyword):
            yield point(keyword, f"ours {ours[keyword]!r}, theirs {theirs.get(keyword)!r}")
    for keyword in _BOUNDS_MIN:
        if keyword in ours and ours[keyword] > theirs.get(keyword, -math.inf):
            yield point(keyword, f"ours {ours[keyword]}, theirs {theirs.get(keyword)}")
    for keyword in _BOUNDS_MAX:
        if keyword in ours and ours[keyword] < theirs.get(keyword, math.inf):
            yield point(keyword, f"ours {ours[keyword]}, theirs {theirs.get(keyword)}")
    if ours.get("uniqueItems") and not theirs.get("uniqueItems"):
        yield point("uniqueItems", "ours requires unique items")
    for keyword in _COMBINATORS:
        if keyword in ours and ours[keyword] != theirs.get(keyword):
            if keyword == "anyOf" and "type" not in ours and our_types is not None:
                continue  # an anyOf of types, compared as types above
            yield point(keyword, f"ours {ours[keyword]!r}")
    for name in ours.get("required", []):
        if name not in theirs.get("required", []):
            yield point("required", "required by ours only", _join(path, name))

    our_props: dict[str, Any] = ours.get("properties", {})
    their_props: dict[str, Any] = theirs.get("properties", {})
    their_extra = _open_to(theirs)
    for name, sub in our_props.items():
        if name in their_props:
            yield from _walk(kind, sub, their_props[name], defs, their_defs, _join(path, name))
        elif their_extra is not None:
            yield from _walk(kind, sub, their_extra, defs, their_defs, _join(path, name))
    our_extra = ours.get("additionalProperties", True)
    if our_extra is False:
        for name in their_props:
            if name not in our_props:
                yield point(
                    "additionalProperties", "a field the API server knows", _join(path, name)
                )
        if their_extra is not None:
            yield point("additionalProperties", "closes an object the API server leaves open")
    elif isinstance(our_extra, dict) and their_extra is not None:
        yield from _walk(kind, our_extra, their_extra, defs, their_defs, _join(path, "*"))
    if isinstance(ours.get("items"), dict):
        their_items = theirs.get("items") if isinstance(theirs.get("items"), dict) else {}
        yield from _walk(kind, ours["items"], their_items, defs, their_defs, f"{path}[]")
