"""Policies over rendered documents (and any extra YAML): MetalLB references and annotations,
secrets in files."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import PurePosixPath

from gitopsgen.findings import Finding, build_finding
from gitopsgen.validate.policies.addresses import parse_pool_entry
from gitopsgen.validate.policies.promoter import check_promoter
from gitopsgen.validate.policies.secrets import secret_findings_in
from gitopsgen.validate.policies.spec_checks import deprecated_key_paths
from gitopsgen.yamlsource import PathPart, SourceDocument, format_path

LoadedFile = tuple[str, list[SourceDocument]]


def _finding(
    policy: str, file: str, doc: SourceDocument, path: tuple[PathPart, ...], message: str, hint: str
) -> Finding:
    pos = doc.position_of(path)
    return build_finding(policy, file, pos.line, pos.column, format_path(path), message, hint)


def check_l2_pools(files: list[LoadedFile]) -> Iterator[Finding]:
    """MetalLB silently ignores an L2Advertisement that names a pool that does not exist."""
    pools: dict[tuple[str, str], set[str]] = defaultdict(set)
    for file, docs in files:
        folder = str(PurePosixPath(file).parent)
        for doc in docs:
            data = doc.data
            if isinstance(data, dict) and data.get("kind") == "IPAddressPool":
                meta = data.get("metadata") or {}
                pools[(folder, str(meta.get("namespace", "")))].add(str(meta.get("name")))
    for file, docs in files:
        folder = str(PurePosixPath(file).parent)
        for doc in docs:
            data = doc.data
            if not isinstance(data, dict) or data.get("kind") != "L2Advertisement":
                continue
            namespace = str((data.get("metadata") or {}).get("namespace", ""))
            names = (data.get("spec") or {}).get("ipAddressPools") or []
            for index, name in enumerate(names):
                if name not in pools[(folder, namespace)]:
                    yield _finding(
                        "GG108",
                        file,
                        doc,
                        ("spec", "ipAddressPools", index),
                        f"L2Advertisement names the pool {name!r}, which is not defined "
                        f"in {folder}/ (namespace {namespace or '?'})",
                        "name an IPAddressPool synced with it",
                    )


def check_pool_addresses(files: list[LoadedFile]) -> Iterator[Finding]:
    """JSON Schema sees MetalLB addresses as plain strings; parse them."""
    for file, docs in files:
        for doc in docs:
            data = doc.data
            if not isinstance(data, dict) or data.get("kind") != "IPAddressPool":
                continue
            for index, entry in enumerate((data.get("spec") or {}).get("addresses") or []):
                parsed, problem = parse_pool_entry(str(entry))
                if parsed is None:
                    yield _finding(
                        "GG104",
                        file,
                        doc,
                        ("spec", "addresses", index),
                        problem,
                        "use a CIDR or first-last, e.g. 10.0.0.10-10.0.0.30",
                    )


def check_annotations_and_secrets(files: list[LoadedFile]) -> Iterator[Finding]:
    for file, docs in files:
        for doc in docs:
            for path in deprecated_key_paths(doc.data, ()):
                yield _finding(
                    "GG109",
                    file,
                    doc,
                    path,
                    f"{path[-1]} is deprecated",
                    "use the metallb.io/ prefix",
                )
            for path, message in secret_findings_in(doc.data, ()):
                yield _finding(
                    "GG112",
                    file,
                    doc,
                    path,
                    message,
                    "keep it in the Secret named by secrets.name (the chart loads its keys into the environment); reference the Secret by name only",
                )


def check_rendered_policies(files: list[LoadedFile]) -> list[Finding]:
    return [
        *check_l2_pools(files),
        *check_pool_addresses(files),
        *check_annotations_and_secrets(files),
        *check_promoter(files),
    ]


__all__ = ["LoadedFile", "check_annotations_and_secrets", "check_rendered_policies"]
