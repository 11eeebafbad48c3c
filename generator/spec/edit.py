"""Change one field of the spec's text without touching anything else.

A round-trip YAML dump re-wraps flow mappings and moves comments; instead, we replace the value's
text span at the node's position (or insert the key into its mapping), then parse again to prove
that only that value changed.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import yaml

from gitopsgen.errors import AssignmentError, EditError
from gitopsgen.spec.model import ALIAS_COLOURS
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
            if isinstance(child, yaml.ScalarNode):
                edited = retell_comment(edited, child.start_mark.line, str(child.value), value)
            return _checked(text, edited, level, path, value)
        if not isinstance(child, yaml.MappingNode):
            raise EditError(f"{'.'.join(path[: depth + 1])} is not a mapping")
        node = child
    raise EditError("an empty field path")


def _words(old: str, new: Any) -> dict[str, str]:
    """What a comment about the old value would say differently about the new one: the value's
    text, and for an alias its colour (`# green is live` for B). A one-letter alias is not
    replaced as a word (`# A/B test` is about the mode), only through its colour."""
    new_text = scalar_text(new)
    words = {} if len(old) == 1 else {old: new_text}
    if old in ALIAS_COLOURS and new_text in ALIAS_COLOURS:
        before, after = ALIAS_COLOURS[old], ALIAS_COLOURS[new_text]
        words |= {before: after, before.capitalize(): after.capitalize()}
    return {k: v for k, v in words.items() if k != v}


def retell_comment(text: str, line: int, old: str, new: Any) -> str:
    """The trailing comment of `line` (0-based) told of the new value where it names the old
    one: `serving: {defaultAlias: A}   # blue is live` after a promotion from B, so the spec
    never says the old colour is live, and a rollback gives the very line back. A comment
    that does not name the old value is about something else and stays as it is."""
    span = _trailing_comment(text, line)
    words = _words(old, new)
    if span is None or not words:
        return text
    start, end = span
    pattern = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, words)) + r")(?![\w.-])")
    comment = pattern.sub(lambda m: words[m.group(1)], text[start:end])
    return text[:start] + comment + text[end:]


def _trailing_comment(text: str, line: int) -> tuple[int, int] | None:
    """Where the comment after the last YAML token of `line` is (None: there is none)."""
    starts = [m.start() for m in re.finditer("^", text, re.M)]
    if line >= len(starts):
        return None
    begin = starts[line]
    stop = text.find("\n", begin)
    stop = len(text) if stop == -1 else stop
    ends = [i for i in _node_ends(yaml.compose(text, Loader=FastLoader)) if begin <= i <= stop]
    if not ends:
        return None
    rest = max(ends)
    while rest < stop and text[rest] in " \t}],":
        rest += 1
    return (rest, stop) if rest < stop and text[rest] == "#" else None


def _node_ends(node: yaml.Node | None) -> Iterator[int]:
    if node is None:
        return
    yield node.end_mark.index
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _node_ends(key)
            yield from _node_ends(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _node_ends(item)


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
