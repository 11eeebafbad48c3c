"""Upstream CRDs as JSON Schemas, checked the way the API server would.

The API server prunes nulls, applies the schema's defaults, ignores `status` where the CRD has a
status subresource, and (since 1.25, with fieldValidation=Strict as kubectl does) rejects unknown
fields. Plain JSON Schema does none of that, so we convert each `openAPIV3Schema` once: add
`additionalProperties: false` to structural objects, map the `x-kubernetes-*` extensions, and
keep the defaults so documents can be defaulted before they are checked. CEL rules
(`x-kubernetes-validations`) are celrules.py's.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from gitopsgen.safepaths import read_input
from gitopsgen.yamlsource import FastLoader, c_composer_is_safe

MAX_CRD_BYTES = 8 << 20  # a downloaded or cached CRD file; the largest pinned one is 1.4 MB
MAX_SCHEMA_DEPTH = 200  # of an openAPIV3Schema; the deepest pinned CRD nests 36 levels


@dataclass(frozen=True, eq=False)  # hashed by identity: one compiled validator per schema
class CrdSchema:
    api_version: str
    kind: str
    schema: dict[str, Any]
    status_subresource: bool
    source: str
    openapi: dict[str, Any] = field(default_factory=dict)  # as the CRD has it, for comparisons
    cel_rules: bool = True  # False: the file has no x-kubernetes-validations (skip the walk)


def crd_dirs_from_env() -> list[Path]:
    value = os.environ.get("GITOPSGEN_CRD_DIR", "")
    return [Path(p) for p in value.split(os.pathsep) if p]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitopsgen" / "crds"


@dataclass(frozen=True)
class CrdFileProblem:
    """A file in a CRD folder that cannot be used: validate reports it (GG309) and goes on."""

    path: str
    message: str


@dataclass(frozen=True)
class CrdCatalog:
    schemas: dict[tuple[str, str], CrdSchema]
    problems: tuple[CrdFileProblem, ...]


def load_crd_dirs(dirs: Iterable[Path]) -> dict[tuple[str, str], CrdSchema]:
    """(apiVersion, kind) -> schema, for every served version of every CRD below `dirs`."""
    return read_crd_dirs(dirs).schemas


def read_crd_dirs(dirs: Iterable[Path]) -> CrdCatalog:
    """Every usable CRD below `dirs`, and what is wrong with each file that is not one."""
    out: dict[tuple[str, str], CrdSchema] = {}
    problems = []
    for folder in dirs:
        for path in sorted(folder.rglob("*.y*ml")):
            if not path.is_file():  # a FIFO or a device is never opened
                continue
            crds, problem = _load_crd_file(str(path.resolve()), path.stat().st_mtime_ns)
            if problem:
                problems.append(CrdFileProblem(str(path), problem))
            for crd in crds:
                out.setdefault((crd.api_version, crd.kind), crd)
    return CrdCatalog(out, tuple(problems))


class _NoAliases(yaml.constructor.SafeConstructor):
    """Construction that refuses YAML aliases (*name): no upstream CRD has one, and a 1.7 KB
    alias bomb once made validate run past 60 s at 2.5 GB (every walk of the schema expands
    the shared nodes again). A node constructed twice is an alias."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            raise yaml.constructor.ConstructorError(
                None, None, "a YAML alias (*name): CRDs with aliases are refused", node.start_mark
            )
        return super().construct_object(node, deep)


class _FastCrdLoader(_NoAliases, FastLoader):
    pass


class _SafeCrdLoader(_NoAliases, yaml.SafeLoader):
    pass


@cache
def _load_crd_file(path: str, _mtime: int) -> tuple[tuple[CrdSchema, ...], str]:
    """(the CRD's schemas, the problem that makes the file unusable or "")."""
    try:
        if Path(path).stat().st_size > MAX_CRD_BYTES:
            return (), f"larger than {MAX_CRD_BYTES:,} bytes; not read"
        text = read_input(Path(path))
        loader = _FastCrdLoader if c_composer_is_safe(text) else _SafeCrdLoader
        docs = list(yaml.load_all(text, Loader=loader))
        return tuple(_schemas(docs, path, "x-kubernetes-validations" in text)), ""
    except OSError as exc:
        return (), f"cannot read: {exc.strerror}"
    except UnicodeDecodeError:
        return (), "cannot read: not UTF-8 text"
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return (), f"not a usable CRD file: {exc.problem or 'invalid YAML'}{where}"
    except yaml.YAMLError:
        return (), "not a usable CRD file: invalid YAML"
    except RecursionError:
        return (), f"not a usable CRD file: nested deeper than {MAX_SCHEMA_DEPTH} levels"
    except (AttributeError, KeyError, TypeError, ValueError):
        return (), "not a usable CustomResourceDefinition (a field of the wrong shape)"


def _schemas(docs: list[Any], path: str, cel_rules: bool) -> list[CrdSchema]:
    found = []
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc.get("spec") or {}
        group, kind = str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", ""))
        for version in spec.get("versions") or []:
            raw = (version.get("schema") or {}).get("openAPIV3Schema")
            if not version.get("served", True) or raw is None:
                continue
            if not isinstance(raw, dict):
                raise TypeError("openAPIV3Schema is not a mapping")
            found.append(
                CrdSchema(
                    api_version=f"{group}/{version['name']}",
                    kind=kind,
                    schema=to_json_schema(raw),
                    status_subresource="status" in (version.get("subresources") or {}),
                    source=path,
                    openapi=raw,
                    cel_rules=cel_rules,
                )
            )
    return found


def to_json_schema(node: Any, depth: int = 0) -> Any:
    """An OpenAPI v3 structural schema as a strict JSON Schema (a new object). RecursionError
    past MAX_SCHEMA_DEPTH levels, long before Python's own limit."""
    if depth > MAX_SCHEMA_DEPTH:
        raise RecursionError(f"nested deeper than {MAX_SCHEMA_DEPTH} levels")
    if isinstance(node, list):
        return [to_json_schema(item, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: to_json_schema(v, depth + 1)
        for k, v in node.items()
        if not k.startswith("x-kubernetes-") and k != "nullable"
    }
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if out.get("type") == "object" and "properties" in out and not preserve:
        out.setdefault("additionalProperties", False)
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def prune_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [prune_nulls(v) for v in value]
    return value


def apply_defaults(value: Any, schema: Any) -> Any:
    """Fill in the schema's `default`s for absent fields, as the API server does before checking."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        out = copy.copy(value)
        for name, sub in (schema.get("properties") or {}).items():
            if name not in out and isinstance(sub, dict) and "default" in sub:
                out[name] = copy.deepcopy(sub["default"])
            if name in out:
                out[name] = apply_defaults(out[name], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for name in out:
                if name not in (schema.get("properties") or {}):
                    out[name] = apply_defaults(out[name], extra)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(item, schema["items"]) for item in value]
    return value


def prepare_document(doc: dict[str, Any], crd: CrdSchema) -> dict[str, Any]:
    """What the API server would check: nulls pruned, defaults applied, status dropped."""
    data = prune_nulls(doc)
    if crd.status_subresource:
        data.pop("status", None)
    result: dict[str, Any] = apply_defaults(data, crd.schema)
    return result
