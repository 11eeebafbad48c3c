"""GG170-GG174: what GitOps Promoter documents but does not enforce, over the rendered documents
(the hydrated ApplicationSets' elements, the PromotionStrategies, the ArgoCDCommitStatuses).
Promoter's docs (docs/advanced-usage/custom-hydrator.md, shared-branch mode) ask for these;
broken, its controller promotes silently wrong or never: nothing on the cluster refuses them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gitopsgen.findings import Finding, build_finding
from gitopsgen.yamlsource import PathPart, SourceDocument, format_path

LoadedFile = tuple[str, list[SourceDocument]]
ENV_PLACEHOLDER = "{{ .env }}"


@dataclass(frozen=True)
class SyncedApp:
    """One Application an ApplicationSet element makes: the branch and path it syncs."""

    name: str
    branch: str
    path: str
    labels: dict[str, str]
    file: str
    doc: SourceDocument
    where: tuple[PathPart, ...]


def _kind(
    files: list[LoadedFile], kind: str
) -> Iterator[tuple[str, SourceDocument, dict[str, Any]]]:
    for file, docs in files:
        for doc in docs:
            if isinstance(doc.data, dict) and doc.data.get("kind") == kind:
                yield file, doc, doc.data


def synced_apps(files: list[LoadedFile]) -> list[SyncedApp]:
    """The hydrated Applications (plain directory sources on environment branches)."""
    apps = []
    for file, doc, data in _kind(files, "ApplicationSet"):
        spec = data.get("spec") or {}
        template = (spec.get("template") or {}).get("metadata") or {}
        labels = template.get("labels") or {}
        if labels.get("gitopsgen.io/delivery") != "hydrated":
            continue
        for g, generator in enumerate(spec.get("generators") or []):
            for e, element in enumerate((generator.get("list") or {}).get("elements") or []):
                env = str(element.get("env"))
                apps.append(
                    SyncedApp(
                        str(template.get("name", "")).replace(ENV_PLACEHOLDER, env),
                        str(element.get("branch")),
                        str(element.get("path")),
                        {k: str(v).replace(ENV_PLACEHOLDER, env) for k, v in labels.items()},
                        file,
                        doc,
                        ("spec", "generators", g, "list", "elements", e, "path"),
                    )
                )
    return apps


def _at(policy: str, app: SyncedApp, message: str, hint: str) -> Finding:
    pos = app.doc.position_of(app.where)
    return build_finding(
        policy, app.file, pos.line, pos.column, format_path(app.where), message, hint
    )


def _strategy_paths(files: list[LoadedFile]) -> dict[str, list[str | None]]:
    """branch -> the activePath of each strategy environment promoting it (None: whole branch)."""
    paths: dict[str, list[str | None]] = defaultdict(list)
    for _, _, data in _kind(files, "PromotionStrategy"):
        spec = data.get("spec") or {}
        for env in spec.get("environments") or []:
            paths[str(env.get("branch"))].append(env.get("activePath") or spec.get("activePath"))
    return paths


def _inside(inner: str, outer: str) -> bool:
    return outer in (".", "") or inner.startswith(outer.rstrip("/") + "/")


def check_promoter(files: list[LoadedFile]) -> Iterator[Finding]:
    apps = synced_apps(files)
    strategies = _strategy_paths(files)
    by_branch: dict[str, list[SyncedApp]] = defaultdict(list)
    for app in apps:
        by_branch[app.branch].append(app)
    for branch, on_branch in by_branch.items():
        promoted = strategies.get(branch, [])
        if None in promoted and any(p is not None for p in promoted):
            yield _at(
                "GG170",
                on_branch[0],
                f"branch {branch!r} is promoted both whole and by activePath",
                "set activePath on every strategy of the branch, or on none",
            )
        active = {p for p in promoted if p is not None}
        for app in on_branch:
            if active and app.path not in active:
                yield _at(
                    "GG170",
                    app,
                    f"{app.name} syncs {app.path!r} of {branch!r}, which no "
                    "activePath of the branch's PromotionStrategies names",
                    "set activePath on all applications of a branch or none",
                )
        seen: dict[str, SyncedApp] = {}
        for app in on_branch:
            if app.path in seen:
                yield _at(
                    "GG174",
                    app,
                    f"{app.name} and {seen[app.path].name} both sync {app.path!r} of {branch!r}",
                    "give each Application a path of its own",
                )
                continue
            for other in seen.values():
                if _inside(app.path, other.path) or _inside(other.path, app.path):
                    yield _at(
                        "GG171",
                        app,
                        f"{app.name}'s path {app.path!r} nests with "
                        f"{other.name}'s {other.path!r} on {branch!r}",
                        "keep the paths of one branch sibling-disjoint",
                    )
            seen[app.path] = app
        for path in sorted(active - {a.path for a in on_branch}):
            yield _at(
                "GG173",
                on_branch[0],
                f"a PromotionStrategy promotes {path!r} of {branch!r}, which no Application syncs",
                "use the same path in the PromotionStrategy and the sync source",
            )
    yield from _one_key_each(files, apps)


def _one_key_each(files: list[LoadedFile], apps: list[SyncedApp]) -> Iterator[Finding]:
    selectors = [
        (
            str((d.get("spec") or {}).get("key", "argocd-health")),
            ((d.get("spec") or {}).get("applicationSelector") or {}).get("matchLabels") or {},
        )
        for _, _, d in _kind(files, "ArgoCDCommitStatus")
    ]
    if not selectors:
        return
    for app in apps:
        keys = sorted(
            {
                key
                for key, match in selectors
                if all(app.labels.get(k) == str(v) for k, v in match.items())
            }
        )
        if len(keys) != 1:
            yield _at(
                "GG172",
                app,
                f"{app.name} is gated by {len(keys)} commit-status keys "
                f"({', '.join(keys) or 'none'})",
                "select each Application by exactly one ArgoCDCommitStatus",
            )
