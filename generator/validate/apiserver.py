"""Rules the API server applies in code to built-in kinds, which their JSON Schemas do not
state: a Quantity's grammar (`resources.limits.memory: lots` is refused), a container's
requests within its limits, the grammar of object names per kind (a Service's name is a
63-character DNS-1035 label, so a blue-green `<app.name>-preview` can be refused) and of label
keys and values. Reported as GG304, the API server's rule, like a schema error.

kubernetes-validate's schemas type a Quantity as "string or number" and a name as a string;
apimachinery's `resource.ParseQuantity`, `ValidateResourceRequirements`, `NameIsDNS1035Label`
and `ValidateLabels` are what the server runs. Quantities are found through the kind's own
schema (every `$ref` to `resource.Quantity`), so every place one sits is checked, not a list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from gitopsgen.validate.kube import kind_schema, kube_definitions
from gitopsgen.yamlsource import PathPart

QUANTITY_DEF = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>[eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|)$"
)
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_CRONJOB_NAME_MAX = 52  # the Job controller appends an 11-character suffix

Problem = tuple[tuple[PathPart, ...], str]


def parse_quantity(value: Any) -> Decimal | None:
    """The value of a Kubernetes Quantity as ParseQuantity reads it, or None where the API
    server refuses it. A JSON number is read as its text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    match = _QUANTITY.match(str(value))
    if match is None:
        return None
    try:
        number = Decimal(match.group("number"))
    except InvalidOperation:
        return None
    suffix = match.group("suffix")
    if suffix in _BINARY:
        return number * (Decimal(1024) ** _BINARY[suffix])
    exponent = _DECIMAL[suffix] if suffix in _DECIMAL else int(suffix[1:])
    if abs(exponent) > 1000:  # far beyond any quantity; Decimal would still compute it
        return None
    return number.scaleb(exponent)


@cache
def quantity_paths(version: str, api_version: str, kind: str) -> tuple[tuple[str, ...], ...]:
    """Every place in the kind where a Quantity sits: property names, `*` for an array's
    items, `{}` for a map's values. Recursive definitions are followed once per branch."""
    schema = kind_schema(version, api_version, kind)
    if schema is None:
        return ()
    defs = kube_definitions(version)
    found: list[tuple[str, ...]] = []

    def walk(node: Any, path: tuple[str, ...], stack: frozenset[str]) -> None:
        if not isinstance(node, dict) or len(path) > 40:
            return
        ref = node.get("$ref")
        if isinstance(ref, str) and "#/$defs/" in ref:
            name = ref.split("#/$defs/", 1)[1]
            if name == QUANTITY_DEF:
                found.append(path)
            elif name not in stack:
                walk(defs.get(name), path, stack | {name})
            return
        for key, child in (node.get("properties") or {}).items():
            walk(child, (*path, key), stack)
        walk(node.get("items"), (*path, "*"), stack)
        walk(node.get("additionalProperties"), (*path, "{}"), stack)

    walk(schema, (), frozenset())
    return tuple(found)


def _at_pattern(
    data: Any, pattern: tuple[str, ...], path: tuple[PathPart, ...]
) -> Iterator[tuple[tuple[PathPart, ...], Any]]:
    """(path, value) of every value of `data` the pattern reaches."""
    if not pattern:
        yield path, data
        return
    step, rest = pattern[0], pattern[1:]
    if step == "*" and isinstance(data, list):
        for index, item in enumerate(data):
            yield from _at_pattern(item, rest, (*path, index))
    elif step == "{}" and isinstance(data, dict):
        for key, item in data.items():
            yield from _at_pattern(item, rest, (*path, key))
    elif isinstance(data, dict) and step in data:
        yield from _at_pattern(data[step], rest, (*path, step))


def quantity_problems(data: Any, version: str, api_version: str, kind: str) -> list[Problem]:
    problems: list[Problem] = []
    for pattern in quantity_paths(version, api_version, kind):
        for path, value in _at_pattern(data, pattern, ()):
            if value is None:
                continue
            parsed = parse_quantity(value)
            if parsed is None:
                problems.append(
                    (
                        path,
                        f"Invalid value: {value!r}: quantities must match the regular expression "
                        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                    )
                )
            elif parsed < 0 and "resources" in path:
                problems.append(
                    (path, f"Invalid value: {value!r}: must be greater than or equal to 0")
                )
    problems.extend(_requests_within_limits(data))
    return problems


def _requests_within_limits(data: Any) -> Iterator[Problem]:
    """ValidateResourceRequirements: each request at most its limit, for every container."""
    for path, resources in _container_resources(data, ()):
        limits, requests = resources.get("limits"), resources.get("requests")
        if not isinstance(limits, dict) or not isinstance(requests, dict):
            continue
        for name, request in requests.items():
            wanted, allowed = parse_quantity(request), parse_quantity(limits.get(name))
            if wanted is not None and allowed is not None and wanted > allowed:
                yield (
                    (*path, "requests", name),
                    f"Invalid value: {request!r}: must be less than or equal to {name} limit of "
                    f"{limits[name]}",
                )


def _container_resources(data: Any, path: tuple[PathPart, ...]) -> Iterator[Any]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                for index, container in enumerate(value):
                    if isinstance(container, dict) and isinstance(container.get("resources"), dict):
                        yield (*path, key, index, "resources"), container["resources"]
            else:
                yield from _container_resources(value, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _container_resources(item, (*path, index))


def name_problems(data: dict[str, Any], api_version: str, kind: str) -> list[Problem]:
    """The object's name as the API server's validation for its kind reads it."""
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name:
        return []
    path: tuple[PathPart, ...] = ("metadata", "name")
    if kind == "Service" and api_version == "v1":
        return _grammar(path, name, DNS1035_LABEL, 63, "a DNS-1035 label")
    if kind == "Namespace" and api_version == "v1":
        return _grammar(path, name, DNS1123_LABEL, 63, "a lowercase RFC 1123 label")
    if kind == "CronJob" and len(name) > _CRONJOB_NAME_MAX:
        return [(path, f"Invalid value: {name!r}: must be no more than 52 characters")]
    if kind.startswith(("Role", "ClusterRole")):
        return []  # RBAC names are path segments, not DNS names
    return _grammar(path, name, DNS1123_SUBDOMAIN, 253, "a lowercase RFC 1123 subdomain")


def _grammar(
    path: tuple[PathPart, ...], name: str, pattern: re.Pattern[str], limit: int, what: str
) -> list[Problem]:
    if len(name) > limit:
        return [(path, f"Invalid value: {name!r}: must be no more than {limit} characters")]
    if not pattern.match(name):
        return [(path, f"Invalid value: {name!r}: must be {what}")]
    return []


def label_problems(data: dict[str, Any]) -> list[Problem]:
    """ValidateLabels on the object's, its pod template's and its selectors' labels."""
    problems: list[Problem] = []
    places: list[tuple[tuple[PathPart, ...], Any]] = [
        (("metadata", "labels"), (data.get("metadata") or {}).get("labels")),
    ]
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    template = (spec or {}).get("template")
    if isinstance(template, dict) and isinstance(template.get("metadata"), dict):
        places.append(
            (("spec", "template", "metadata", "labels"), template["metadata"].get("labels"))
        )
    selector = (spec or {}).get("selector")
    if isinstance(selector, dict):
        inner = selector.get("matchLabels")
        if inner is not None:
            places.append((("spec", "selector", "matchLabels"), inner))
        elif data.get("kind") == "Service":
            places.append((("spec", "selector"), selector))
    for path, labels in places:
        if isinstance(labels, dict):
            for key, value in labels.items():
                problems.extend(_label(path, str(key), value))
    return problems


def _label(path: tuple[PathPart, ...], key: str, value: Any) -> list[Problem]:
    problems: list[Problem] = []
    prefix, _, name = key.rpartition("/")
    if (
        len(name) > 63
        or not _LABEL_NAME.match(name)
        or (prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)))
    ):
        problems.append(
            ((*path, key), f"Invalid value: {key!r}: a label key must be a qualified name")
        )
    text = value if isinstance(value, str) else str(value)
    if len(text) > 63:
        problems.append(
            ((*path, key), f"Invalid value: {text!r}: must be no more than 63 characters")
        )
    elif not _LABEL_VALUE.match(text):
        problems.append(
            (
                (*path, key),
                f"Invalid value: {text!r}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'",
            )
        )
    return problems


def api_server_problems(data: dict[str, Any], version: str) -> list[Problem]:
    """Every rule above, for a built-in kind's document (nulls pruned)."""
    api_version, kind = str(data.get("apiVersion")), str(data.get("kind"))
    return [
        *name_problems(data, api_version, kind),
        *label_problems(data),
        *quantity_problems(data, version, api_version, kind),
    ]
