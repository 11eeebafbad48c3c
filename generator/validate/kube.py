"""Kubernetes' own JSON Schemas, as shipped by kubernetes-validate, with validators built once.

kubernetes-validate rebuilds its validator for every document; we build a `referencing` registry
once per Kubernetes version, crawl it, and reuse one validator per kind.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

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
