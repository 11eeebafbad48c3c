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

# How many nodes aliases may add to a document once expanded. Real specs and manifests add a few
# hundred at most; a 2 KB "billion laughs" document adds billions.
MAX_ALIAS_NODES = 10_000
# Deeper nesting than this is refused before anything recursive walks the document.
MAX_DEPTH = 100
_C_COMPOSER_SAFE_DEPTH = 10_000

__all__ = [
    "MAX_ALIAS_NODES",
    "FastLoader",
    "PathPart",
    "Position",
    "SourceDocument",
    "YamlProblem",
    "alias_expansion_problem",
    "c_composer_is_safe",
    "describe_syntax_error",
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

    def existing_depth(self, path: Sequence[PathPart]) -> int:
        """How many leading parts of `path` exist in the document."""
        current = self.node
        for depth, part in enumerate(path):
            found = None if current is None else _child(current, part)
            if found is None:
                return depth
            current = found[1]
        return len(path)

    def key_position_of(self, path: Sequence[PathPart]) -> Position:
        """Where the key of the entry at `path` is (an unknown field is reported at its key)."""
        parent = _find_node(self.node, path[:-1]) if path else None
        found = None if parent is None else _child(parent, path[-1])
        return position_from_mark(found[0].start_mark) if found else self.position_of(path)


def position_from_mark(mark: yaml.Mark | None) -> Position:
    if mark is None:
        return Position(1, 1)
    return Position(mark.line + 1, mark.column + 1)


def load_documents(text: str) -> tuple[list[SourceDocument], list[YamlProblem]]:
    """Every document of a YAML stream, with syntax errors and duplicate keys reported.

    Nothing in the stream can crash the caller: a tag this loader cannot build, a key that is a
    list, or aliases that expand past MAX_ALIAS_NODES are problems at their place, like a syntax
    error. The expansion is measured on the composed nodes, before anything walks the aliases.
    """
    try:
        nodes = _compose_all(text)
    except yaml.MarkedYAMLError as exc:
        return [], [_syntax_problem(exc, text)]
    except RecursionError:
        message = f"lists and mappings nest deeper than {MAX_DEPTH} levels"
        return [], [YamlProblem(Position(1, 1), (), message, "alias-limit")]
    except yaml.YAMLError as exc:
        return [], [YamlProblem(Position(1, 1), (), f"invalid YAML: {exc}", "syntax")]
    for node in nodes:
        expansion = alias_expansion_problem(node)
        if expansion is not None:
            return [], [expansion]
    problems = [p for node in nodes for p in _duplicate_keys(node, ())]
    docs: list[SourceDocument] = []
    for node in nodes:
        try:
            docs.append(SourceDocument(_construct(node), node))
        except yaml.MarkedYAMLError as exc:
            return [], [_syntax_problem(exc, text)]
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


def _compose_all(text: str) -> list[yaml.Node]:
    """libyaml composes in C by recursion and kills the process on some 50,000 nested levels.
    Where the text could nest that deep (an upper bound: every bracket, and two levels per
    column of its longest line), PyYAML's Python composer is used: its RecursionError is caught.
    """
    loader = FastLoader if c_composer_is_safe(text) else yaml.SafeLoader
    return list(yaml.compose_all(text, Loader=loader))


def c_composer_is_safe(text: str) -> bool:
    """True when `text` cannot nest deep enough to crash libyaml's recursive composer."""
    longest = max(map(len, text.splitlines()), default=0)
    bound = text.count("[") + text.count("{") + 2 * (longest + 1)
    return bound <= _C_COMPOSER_SAFE_DEPTH


def alias_expansion_problem(root: yaml.Node) -> YamlProblem | None:
    """A problem when aliases expand the document by more than MAX_ALIAS_NODES nodes, when an
    alias refers to a collection that contains it (a document without end), or when lists and
    mappings nest deeper than MAX_DEPTH. Iterative, and each node is measured once."""
    sizes: dict[int, int] = {}
    unique = 0
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] - unique > MAX_ALIAS_NODES:
                return _limit_problem(
                    node,
                    f"YAML aliases (*name) here expand the document by more than "
                    f"{MAX_ALIAS_NODES:,} nodes (a 'billion laughs' document): write the values "
                    "out, or alias fewer nested blocks",
                )
            continue
        if key in open_nodes:
            return _limit_problem(node, "a YAML alias (*name) here refers to a block containing it")
        if key in sizes:
            continue
        if depth > MAX_DEPTH:
            return _limit_problem(node, f"lists and mappings nest deeper than {MAX_DEPTH} levels")
        unique += 1
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend(
            (child, depth + 1, False) for child in _children(node) if id(child) not in sizes
        )
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _limit_problem(node: yaml.Node, message: str) -> YamlProblem:
    return YamlProblem(position_from_mark(node.start_mark), (), message, "alias-limit")


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str) -> YamlProblem:
    """PyYAML's error in this file's terms: what is wrong, at the place where it is."""
    mark = exc.problem_mark or exc.context_mark
    message = f"invalid YAML: {describe_syntax_error(exc, text)}"
    return YamlProblem(position_from_mark(mark), (), message, "syntax")


def describe_syntax_error(exc: yaml.MarkedYAMLError, text: str) -> str:
    problem = str(exc.problem or "")
    context = str(exc.context or "")
    at, ctx = exc.problem_mark, exc.context_mark
    line_text = (
        text.splitlines()[at.line] if at is not None and at.line < len(text.splitlines()) else ""
    )
    char = line_text[at.column] if at is not None and at.column < len(line_text) else ""
    opened = f" at line {ctx.line + 1}, column {ctx.column + 1}" if ctx is not None else ""
    if "cannot start any token" in problem and char == "\t":
        return "a tab character: YAML indents with spaces only; replace the tab with spaces"
    if problem == "did not find expected key" and "block mapping" in context and at is not None:
        indent = len(line_text) - len(line_text.lstrip(" "))
        keys_at = ctx.column if ctx is not None else 0
        return (
            f"this line is indented by {indent} space(s), which lines it up with no key of the "
            f"mapping it is in (its keys are indented by {keys_at}, from line "
            f"{(ctx.line + 1) if ctx else '?'}): indent it like the keys it belongs with"
        )
    for kind, closing in (("flow sequence", "]"), ("flow mapping", "}")):
        if kind in context:
            what = "list" if closing == "]" else "mapping"
            return (
                f"the {what} opened{opened} is not closed here: a {closing!r} is missing "
                "(or a ',' between two entries)"
            )
    if "quoted scalar" in context:
        return f"the quoted string that starts{opened} is never closed: add the closing quote"
    if problem == "mapping values are not allowed in this context":
        return (
            "a ': ' inside a plain value: quote the value, or put a space after the colon of "
            "the key before it"
        )
    if problem == "found unhashable key":
        return "a key that is a list or a mapping (`? [a, b]`): keys in this file are names"
    if problem.startswith("could not determine a constructor for the tag"):
        tag = problem.rsplit(" ", 1)[-1].strip("'").replace("tag:yaml.org,2002:", "!!")
        return (
            f"the tag {tag!r} is not allowed: this file holds plain data "
            "(strings, numbers, booleans, lists and mappings)"
        )
    if problem == "found undefined alias":
        return "an alias (*name) that no anchor (&name) above it defines"
    if problem == "second occurrence" and "duplicate anchor" in context:
        return f"an anchor (&name) defined a second time (first{opened})"
    detail = f"{problem} ({context}{opened})" if context else problem
    return detail or str(exc)


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
