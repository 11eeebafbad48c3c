"""Kubernetes' own JSON Schemas, as shipped by kubernetes-validate, with validators built once.

kubernetes-validate rebuilds its validator for every document; we build a `referencing` registry
once per Kubernetes version, crawl it, and reuse one validator per kind.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import marshal
import os
import re
import tempfile
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from gitopsgen.validate.crds import cache_dir

FastCheck = Callable[[Any], bool]

DEFAULT_KUBE_VERSION = "1.33"  # a release most on-premise clusters run or have passed


def _schema_root() -> Any:
    return resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")


@cache
def available_versions() -> tuple[str, ...]:
    names = [p.name for p in _schema_root().iterdir() if p.name.endswith("-local-strict")]
    versions = {re.sub(r"^v(\d+\.\d+).*", r"\1", n) for n in names}
    return tuple(sorted(versions, key=lambda v: tuple(int(x) for x in v.split("."))))


def resolve_version(requested: str) -> str | None:
    """The newest shipped schema version not newer than `requested` (X.Y), or None."""
    wanted = tuple(int(x) for x in requested.lstrip("v").split(".")[:2])
    older = [v for v in available_versions() if tuple(int(x) for x in v.split(".")) <= wanted]
    return older[-1] if older else None


def _schema_dir(version: str) -> Any:
    return _schema_root().joinpath(f"v{version}.0-local-strict")


@cache
def _registry(version: str) -> Registry:
    defs = json.loads(_schema_dir(version).joinpath("_definitions.json").read_text())
    resource = Resource.from_contents(defs)
    registry: Registry = Registry().with_resource(
        "https://kubernetes.io/api/_definitions.json", resource
    )
    return registry.crawl()


def schema_file_name(api_version: str, kind: str) -> str:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{group_version}.json"


@cache
def kube_definitions(version: str) -> dict[str, Any]:
    """The `$defs` every kind's schema refers to."""
    defs: dict[str, Any] = json.loads(
        _schema_dir(version).joinpath("_definitions.json").read_text()
    )
    return dict(defs["$defs"])


@cache
def kind_schema(version: str, api_version: str, kind: str) -> dict[str, Any] | None:
    """A built-in kind's own schema (its `$ref`s point into kube_definitions), or None."""
    if "/" not in api_version and api_version != "v1":
        return None
    path = _schema_dir(version).joinpath(schema_file_name(api_version, kind))
    if not path.is_file():
        return None
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


@cache
def kube_validator(version: str, api_version: str, kind: str) -> Draft202012Validator | None:
    """A strict validator for a built-in kind, or None when Kubernetes has no such kind."""
    if "/" not in api_version and api_version != "v1":
        return None
    path = _schema_dir(version).joinpath(schema_file_name(api_version, kind))
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    schema.setdefault("$id", f"https://kubernetes.io/api/{schema_file_name(api_version, kind)}")
    return Draft202012Validator(schema, registry=_registry(version))


def _self_contained(version: str, api_version: str, kind: str) -> dict[str, Any]:
    """The kind's schema with the definitions it uses copied in (draft-07 style, no prose)."""
    defs = json.loads(_schema_dir(version).joinpath("_definitions.json").read_text())["$defs"]
    used: dict[str, Any] = {}

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and "#/$defs/" in value:
                name = value.split("#/$defs/", 1)[1]
                if name not in used:
                    used[name] = None
                    used[name] = inline(defs[name])
                out[key] = f"#/definitions/{name}"
            elif key != "description":
                out[key] = inline(value)
        return out

    schema = json.loads(
        _schema_dir(version).joinpath(schema_file_name(api_version, kind)).read_text()
    )
    root: dict[str, Any] = inline(schema)
    root["definitions"] = used
    root["$schema"] = "http://json-schema.org/draft-07/schema#"
    return root


@cache
def fast_kube_check(version: str, api_version: str, kind: str) -> FastCheck | None:
    """A generated validator (fastjsonschema) for the hot path, its bytecode cached on disk.

    About ten times faster than jsonschema per document; it only says valid or not, and a
    document it rejects is checked again by jsonschema for the findings.
    """
    try:
        import fastjsonschema  # compiles schemas; only when a generated validator is missing
    except ImportError:  # optional: jsonschema alone gives the same answers, slower
        return None
    if kube_validator(version, api_version, kind) is None:
        return None
    function = _load_generated(version, api_version, kind, fastjsonschema)
    if function is None:
        return None
    error = fastjsonschema.JsonSchemaException

    def check(document: Any) -> bool:
        try:
            function(document)
        except error:
            return False
        return True

    return check


def _load_generated(version: str, api_version: str, kind: str, fastjsonschema: Any) -> Any:
    schema = _self_contained(version, api_version, kind)
    digest = hashlib.sha256(
        json.dumps(schema, sort_keys=True).encode()
        + importlib.util.MAGIC_NUMBER
        + fastjsonschema.VERSION.encode()
    ).hexdigest()[:24]
    folder = cache_dir().parent / "validators"
    path = folder / f"{kind.lower()}-{digest}.marshal"
    code_object = None
    if path.is_file():
        try:
            code_object = marshal.loads(path.read_bytes())
        except (EOFError, ValueError, TypeError):
            code_object = None
    if code_object is None:
        try:
            source = fastjsonschema.compile_to_code(schema)
        except fastjsonschema.JsonSchemaDefinitionException:
            return None
        code_object = compile(source, f"<fastjsonschema {kind}>", "exec")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                handle.write(marshal.dumps(code_object))
            Path(tmp).replace(path)
        except OSError:
            pass  # a read-only cache only costs speed
    namespace: dict[str, Any] = {}
    exec(code_object, namespace)  # noqa: S102 - code generated from the shipped schemas
    names = [n for n in namespace if n.startswith("validate") and callable(namespace[n])]
    main = min(names, key=len) if names else None
    return namespace.get(main) if main else None
