"""Change one field of the spec's text without touching anything else.

A round-trip YAML dump re-wraps flow mappings and moves comments; instead, we replace the value's
text span at the node's position (or insert the key into its mapping), then parse again to prove
that only that value changed.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from gitopsgen.errors import AssignmentError, EditError
from gitopsgen.yamlsource import FastLoader


def parse_assignment(text: str) -> tuple[tuple[str, ...], Any]:
    """`serving.canaryPercent=25` -> (("serving", "canaryPercent"), 25); the value is YAML."""
    field, sep, raw = text.partition("=")
    if not sep or not field.strip():
        raise AssignmentError(f"{text!r} is not FIELD=VALUE")
    parts = tuple(p for p in field.strip().split("."))
    if any(not p for p in parts):
        raise AssignmentError(f"{field!r} is not a dotted field path")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "not YAML"
        mark = getattr(exc, "problem_mark", None)
        where = f" at column {mark.column + 1}" if mark is not None else ""
        raise AssignmentError(
            f"{field.strip()}: {raw!r} is not a YAML value ({problem}{where})"
        ) from None
    return parts, value


def scalar_text(value: Any) -> str:
    """How a scalar is written in YAML (quoted only where it must be)."""
    if isinstance(value, dict | list):
        return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _child(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    for k, v in reversed(node.value):
        if str(k.value) == key:
            found: yaml.Node = v
            return found
    return None


def set_field(text: str, where: str | tuple[str, ...], path: tuple[str, ...], value: Any) -> str:
    """The spec text with `<where>.<path>` set to `value`, all else byte for byte. `where` is
    the mapping that holds the fields: `("environments", env)` (an environment's name alone
    means that), `("environments", env, "services", s)` or `("services", s)`."""
    level = ("environments", where) if isinstance(where, str) else where
    root = yaml.compose(text, Loader=FastLoader)
    if not isinstance(root, yaml.MappingNode):
        raise EditError("the spec is not a mapping")
    node: yaml.Node | None = root
    for part in level:
        node = _child(node, part) if isinstance(node, yaml.MappingNode) else None
    if not isinstance(node, yaml.MappingNode):
        raise EditError(f"no {'.'.join(level)} mapping in the spec")
    for depth, part in enumerate(path):
        child = _child(node, part)
        last = depth == len(path) - 1
        if child is None:
            edited = _insert(text, node, part, _nest(path[depth + 1 :], value))
            return _checked(text, edited, level, path, value)
        if last:
            if isinstance(child, yaml.CollectionNode) and not isinstance(value, dict | list):
                kind = "mapping" if isinstance(child, yaml.MappingNode) else "list"
                raise EditError(f"{'.'.join(path)} is a {kind}, not a single value")
            edited = (
                text[: child.start_mark.index] + scalar_text(value) + text[child.end_mark.index :]
            )
            return _checked(text, edited, level, path, value)
        if not isinstance(child, yaml.MappingNode):
            raise EditError(f"{'.'.join(path[: depth + 1])} is not a mapping")
        node = child
    raise EditError("an empty field path")


def _nest(rest: tuple[str, ...], value: Any) -> Any:
    for part in reversed(rest):
        value = {part: value}
    return value


def _insert(text: str, mapping: yaml.MappingNode, key: str, value: Any) -> str:
    """Add `key: value` to a mapping, in its own style."""
    entry = f"{key}: {scalar_text(value)}"
    if mapping.flow_style:
        close = text.rindex("}", 0, mapping.end_mark.index)
        before = text[:close].rstrip()
        sep = "" if before.endswith("{") else ", "
        return before + sep + entry + text[close:]
    if not mapping.value:
        raise EditError(f"cannot add {key!r} to an empty block mapping")
    first_key = mapping.value[0][0]
    indent = " " * first_key.start_mark.column
    last_value = mapping.value[-1][1]
    end = last_value.end_mark.index
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end
    return str(text[:line_end] + "\n" + indent + entry + text[line_end:])


def _checked(
    before: str, after: str, level: tuple[str, ...], path: tuple[str, ...], value: Any
) -> str:
    expected = copy.deepcopy(yaml.load(before, Loader=FastLoader))
    target = expected
    for part in level:
        target = target[part]
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value
    try:
        actual = yaml.load(after, Loader=FastLoader)
    except yaml.YAMLError as exc:
        raise EditError(f"editing {'.'.join(path)} would break the YAML: {exc}") from exc
    if actual != expected:
        raise EditError(f"editing {'.'.join(path)} would change more than that field")
    return after
