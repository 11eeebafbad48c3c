"""Property names as Kubernetes CEL sees them, and the `fieldPath` of a rule.

The API server exposes an object's properties to CEL under escaped names: CEL keywords become
`__namespace__`, and `__`, `.`, `-`, `/` become `__underscores__`, `__dot__`, `__dash__`,
`__slash__` (so a rule reads `self.__namespace__`). Keys of maps (`additionalProperties`) are
data and stay as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gitopsgen.yamlsource import PathPart

RESERVED = frozenset(
    [
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
    ]
)


def escape(name: str) -> str:
    if name in RESERVED:
        return f"__{name}__"
    out = name.replace("__", "__underscores__")
    for char, word in ((".", "__dot__"), ("-", "__dash__"), ("/", "__slash__")):
        out = out.replace(char, word)
    return out


@dataclass
class Renames:
    """Where in a value keys must be renamed; None-valued subtrees need nothing."""

    names: dict[str, str] = field(default_factory=dict)
    properties: dict[str, Renames] = field(default_factory=dict)
    items: Renames | None = None
    values: Renames | None = None


def renames_for(schema: Any, memo: dict[int, Renames | None]) -> Renames | None:
    """The renames a value of `schema` needs, or None (then it is passed as it is)."""
    if not isinstance(schema, dict):
        return None
    key = id(schema)
    if key not in memo:
        memo[key] = None  # recursion guard; CRD schemas are trees
        memo[key] = _renames(schema, memo)
    return memo[key]


def _renames(schema: dict[str, Any], memo: dict[int, Renames | None]) -> Renames | None:
    out = Renames()
    for name, sub in (schema.get("properties") or {}).items():
        if escape(name) != name:
            out.names[name] = escape(name)
        child = renames_for(sub, memo)
        if child is not None:
            out.properties[name] = child
    out.items = renames_for(schema.get("items"), memo)
    out.values = renames_for(schema.get("additionalProperties"), memo)
    if out.names or out.properties or out.items or out.values:
        return out
    return None


def apply_renames(value: Any, renames: Renames | None) -> Any:
    if renames is None:
        return value
    if isinstance(value, list):
        return [apply_renames(v, renames.items) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key in renames.names or key in renames.properties:
            out[renames.names.get(key, key)] = apply_renames(item, renames.properties.get(key))
        else:
            out[key] = apply_renames(item, renames.values)
    return out


_FIELD_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\['((?:[^'\\]|\\.)*)'\]")


def parse_field_path(text: str) -> tuple[PathPart, ...]:
    """`.spec.foo['a.b']` as ('spec', 'foo', 'a.b'); anything unparsable stops the path there."""
    parts: list[PathPart] = []
    pos = 0
    while pos < len(text):
        found = _FIELD_PART.match(text, pos)
        if found is None:
            break
        parts.append(found.group(1) or found.group(2).replace("\\'", "'"))
        pos = found.end()
    return tuple(parts)
