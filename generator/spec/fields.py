"""How the spec model's fields are read from a spec: the one home of every default.

Each field of a model dataclass is declared with `spec_field`: its spec key (from its name,
`canary_percent` <- `canaryPercent`, unless `key` names another path such as `model.name`), its
default (a value, or a `Derived` one computed from the rest of the environment) and what it
means. `build` maps a mapping onto a dataclass by those declarations, nested dataclasses
included, so no builder restates a default; the JSON Schema's `default`s and the docs' table of
fields are checked against, or generated from, the same declarations (`docs_table`).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, dataclass
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

T = TypeVar("T")
Key = tuple[str, ...]


@dataclass(frozen=True)
class Context:
    """What a derived default may read: the merged mapping of one environment (one service in
    one environment in the services form), its names, and where the builder is in it."""

    root: type[Any]  # the model class `data` is read into (the Environment)
    data: Mapping[str, Any]
    names: Mapping[str, Any]  # values the spec holds outside the mapping (name, service, ...)
    path: Key = ()

    def value(self, *path: str) -> Any:
        """The value at `path` of the mapping, or else the default its field declares."""
        return resolved_value(self, path)

    def at(self, *parts: str) -> Context:
        return Context(self.root, self.data, self.names, (*self.path, *parts))


@dataclass(frozen=True)
class Derived:
    """A default computed from the environment: `text` is how the docs table states it."""

    compute: Callable[[Context], Any]
    text: str


def spec_field(
    doc: str,
    *,
    default: Any = MISSING,
    factory: Callable[[], Any] | None = None,
    derived: Derived | None = None,
    key: str | None = None,
    convert: Callable[[Any], Any] | None = None,
    shown: str | None = None,
    when: Callable[[Context], bool] | None = None,
) -> Any:
    """A field read from the spec. `shown` overrides the docs table's default text (e.g.
    "required when enabled"); `when` builds an optional nested dataclass only where it holds."""
    metadata = {
        "doc": doc,
        "key": tuple(key.split(".")) if key else None,
        "derived": derived,
        "convert": convert,
        "shown": shown,
        "when": when,
    }
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def context_field(compute: Callable[[Context], Any]) -> Any:
    """A field the spec does not hold under its key: the environment's name, the service."""
    return dataclasses.field(metadata={"context": compute})


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def spec_key(f: dataclasses.Field[Any]) -> Key:
    return f.metadata.get("key") or (camel(f.name),)


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    """The resolved annotations of a model class (they are strings: postponed evaluation)."""
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _fields(cls: type[Any]) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(cast(Any, cls))


def model_class(kind: Any) -> type[Any] | None:
    """The dataclass a field holds (`X` or `X | None`), else None."""
    options = get_args(kind) if get_origin(kind) in (Union, types.UnionType) else (kind,)
    found = [o for o in options if dataclasses.is_dataclass(o) and isinstance(o, type)]
    return found[0] if found else None


def literal_values(kind: Any) -> tuple[Any, ...] | None:
    """The allowed values of a Literal field (`L` or `L | None`), else None."""
    options = get_args(kind) if get_origin(kind) in (Union, types.UnionType) else (kind,)
    for option in options:
        if get_origin(option) is Literal:
            return get_args(option)
    return None


def _lookup(data: Mapping[str, Any], key: Key) -> tuple[bool, Any]:
    current: Any = data
    for part in key:
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def _convert(f: dataclasses.Field[Any], kind: Any, raw: Any) -> Any:
    convert = f.metadata.get("convert")
    if convert is not None:
        return convert(raw)
    if kind is float and isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if get_origin(kind) is tuple:
        return tuple(raw)
    return raw


def spec_fields(cls: type[Any]) -> Iterator[dataclasses.Field[Any]]:
    return (f for f in dataclasses.fields(cls) if "doc" in f.metadata)


@dataclass(frozen=True)
class _Step:
    """How `build` fills one field, worked out once per class from its declaration."""

    name: str
    key: Key
    kind: Any
    nested: type[Any] | None
    spec: dataclasses.Field[Any]


_PLANS: dict[type[Any], tuple[_Step, ...]] = {}


def _plan(cls: type[Any]) -> tuple[_Step, ...]:
    """The steps of a class, cached: building 1,000 environments reads each declaration once,
    not 1,000 times (type hints and metadata are slow to look up)."""
    if cls not in _PLANS:
        hints = _hints(cls)
        _PLANS[cls] = tuple(
            _Step(f.name, spec_key(f), hints[f.name], model_class(hints[f.name]), f)
            for f in _fields(cls)
            if "context" in f.metadata or "doc" in f.metadata
        )
    return _PLANS[cls]


def build(cls: type[T], data: Mapping[str, Any], ctx: Context) -> T:
    """`cls` from `data` by its field declarations; absent fields take their declared default
    (a missing required field is a TypeError: the schema guarantees it is there)."""
    values: dict[str, Any] = {}
    for step in _plan(cls):
        meta = step.spec.metadata
        if "context" in meta:
            values[step.name] = meta["context"](ctx)
            continue
        if step.nested is not None:
            when = meta["when"]
            if when is not None and not when(ctx):
                values[step.name] = None
                continue
            present, part = _lookup(data, step.key)
            inner = part if present and isinstance(part, Mapping) else {}
            values[step.name] = build(step.nested, inner, ctx.at(*step.key))
            continue
        present, raw = _lookup(data, step.key)
        if present:
            values[step.name] = _convert(step.spec, step.kind, raw)
        elif meta["derived"] is not None:
            values[step.name] = meta["derived"].compute(ctx.at(*step.key))
    return cls(**values)


def resolved_value(ctx: Context, path: Key) -> Any:
    """The environment's value at a spec path, written or else declared as the default."""
    present, raw = _lookup(ctx.data, path)
    cls: type[Any] = ctx.root
    rest = path
    while True:
        step = _step_at(cls, rest)
        if step is None:
            return raw if present else None
        if step.nested is not None and len(rest) > len(step.key):
            cls, rest = step.nested, rest[len(step.key) :]
            continue
        f = step.spec
        if present:
            return _convert(f, step.kind, raw)
        if f.metadata["derived"] is not None:
            return f.metadata["derived"].compute(Context(ctx.root, ctx.data, ctx.names, path))
        if f.default is not MISSING:
            return f.default
        return f.default_factory() if f.default_factory is not MISSING else None


def _step_at(cls: type[Any], path: Key) -> _Step | None:
    for step in _plan(cls):
        if "doc" in step.spec.metadata and path[: len(step.key)] == step.key:
            return step
    return None


# --- what the declarations say, for the docs and the schema ------------------------------------


@dataclass(frozen=True)
class FieldDoc:
    """One leaf field of the model: its spec path, meaning, default and the Python type."""

    path: Key
    doc: str
    field: dataclasses.Field[Any]
    kind: Any

    @property
    def has_literal_default(self) -> bool:
        f = self.field
        return f.metadata["derived"] is None and (
            f.default not in (MISSING, None) or f.default_factory is not MISSING
        )

    @property
    def default(self) -> Any:
        f = self.field
        return f.default_factory() if f.default_factory is not MISSING else f.default

    def default_text(self) -> str:
        f = self.field
        if f.metadata["shown"] is not None:
            return str(f.metadata["shown"])
        if f.metadata["derived"] is not None:
            return str(f.metadata["derived"].text)
        if f.default is MISSING and f.default_factory is MISSING:
            return "required"
        return _value_text(self.default)


def _value_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return f"`{value}`"
    if isinstance(value, tuple | list):
        return "`[" + ", ".join(str(v) for v in value) + "]`" if value else "`[]`"
    if isinstance(value, dict):
        return "`{}`" if not value else f"`{value}`"
    return f"`{value}`"


def field_docs(cls: type[Any], prefix: Key = ()) -> Iterator[FieldDoc]:
    """Every leaf spec field below `cls`, in declaration order, nested dataclasses expanded."""
    hints = _hints(cls)
    for f in spec_fields(cls):
        path = (*prefix, *spec_key(f))
        nested = model_class(hints[f.name])
        if nested is not None:
            yield from field_docs(nested, path)
        else:
            yield FieldDoc(path, str(f.metadata["doc"]), f, hints[f.name])


TABLE_HEADER = "| field | meaning | default |\n| --- | --- | --- |\n"


def docs_table(cls: type[Any]) -> str:
    """The docs' table of an environment's fields, one row per field, from the declarations."""
    rows = [f"| `{'.'.join(d.path)}` | {d.doc} | {d.default_text()} |" for d in field_docs(cls)]
    return TABLE_HEADER + "\n".join(rows) + "\n"
