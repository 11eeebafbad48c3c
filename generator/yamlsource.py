"""YAML with positions: parse once into nodes, build plain data, and map a field path to its line.

PyYAML keeps the last of two equal keys silently; we report duplicates instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

try:  # libyaml is ten times faster on large files (the ApplicationSet CRD is 1.4 MB)
    from yaml import CSafeLoader as FastLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as FastLoader  # type: ignore[assignment]

PathPart = str | int

__all__ = [
    "FastLoader",
    "PathPart",
    "Position",
    "SourceDocument",
    "YamlProblem",
    "format_path",
    "load_document",
    "load_documents",
    "position_from_mark",
]


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True)
class YamlProblem:
    """A syntax error or duplicate key, with where it is."""

    position: Position
    path: tuple[PathPart, ...]
    message: str
    kind: str  # "syntax" or "duplicate-key"


@dataclass(frozen=True)
class SourceDocument:
    """One YAML document: its data and the node tree it was built from."""

    data: Any
    node: yaml.Node | None

    def position_of(self, path: Sequence[PathPart]) -> Position:
        """Where `path` is; where it is absent, its deepest ancestor that exists."""
        return _position(self.node, path)

    def has_path(self, path: Sequence[PathPart]) -> bool:
        return _find_node(self.node, path) is not None


def position_from_mark(mark: yaml.Mark | None) -> Position:
    if mark is None:
        return Position(1, 1)
    return Position(mark.line + 1, mark.column + 1)


def load_documents(text: str) -> tuple[list[SourceDocument], list[YamlProblem]]:
    """Every document of a YAML stream, with syntax errors and duplicate keys reported."""
    try:
        nodes = list(yaml.compose_all(text, Loader=FastLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"invalid YAML: {exc.problem or exc}"
        return [], [YamlProblem(position_from_mark(mark), (), message, "syntax")]
    except yaml.YAMLError as exc:
        return [], [YamlProblem(Position(1, 1), (), f"invalid YAML: {exc}", "syntax")]
    problems = [p for node in nodes for p in _duplicate_keys(node, ())]
    docs = [SourceDocument(_construct(node), node) for node in nodes]
    return docs, problems


def load_document(text: str) -> tuple[SourceDocument, list[YamlProblem]]:
    """A single-document YAML file (an empty file is an empty mapping)."""
    docs, problems = load_documents(text)
    if not docs:
        return SourceDocument({} if not problems else None, None), problems
    return docs[0], problems


def _construct(node: yaml.Node) -> Any:
    loader = FastLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _duplicate_keys(node: yaml.Node, path: tuple[PathPart, ...]) -> Iterator[YamlProblem]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                yield YamlProblem(
                    position_from_mark(key.start_mark),
                    (*path, name),
                    f"duplicate key {name!r} (YAML keeps only the last one)",
                    "duplicate-key",
                )
            seen.add(name)
            yield from _duplicate_keys(value, (*path, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, index))


def _child(node: yaml.Node, part: PathPart) -> tuple[yaml.Node, yaml.Node] | None:
    """(key node, value node) of a mapping entry, or (item, item) of a sequence index."""
    if isinstance(node, yaml.MappingNode):
        for key, value in reversed(node.value):  # the last duplicate wins, as in the data
            if str(key.value) == str(part):
                return key, value
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        inside = 0 <= part < len(node.value)
        return (node.value[part], node.value[part]) if inside else None
    return None


def _find_node(node: yaml.Node | None, path: Sequence[PathPart]) -> yaml.Node | None:
    current = node
    for part in path:
        if current is None:
            return None
        found = _child(current, part)
        current = None if found is None else found[1]
    return current


def _position(node: yaml.Node | None, path: Sequence[PathPart]) -> Position:
    if node is None:
        return Position(1, 1)
    current = node
    mark = node.start_mark
    for part in path:
        found = _child(current, part)
        if found is None:
            break
        key, current = found
        # A scalar points at its value; a missing child points at its parent's key.
        mark = (
            current.start_mark if not isinstance(current, yaml.CollectionNode) else key.start_mark
        )
    return position_from_mark(mark)


def format_path(path: Sequence[PathPart]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
