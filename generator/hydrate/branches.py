"""What one proposed branch should hold, computed from its current tree: pure, no writes.

Argo CD's commit server rewrites every manifest.yaml and commits only when one changed; an
Application folder's hydrator.metadata and README.md are rewritten only with its manifest, so a
dry commit that changes nothing leaves the branch as it is and only the git note advances. The
files gitopsgen owns are the branch root's hydrator.metadata and .gitattributes (not in
shared-branch mode, where the root belongs to no one strategy) and the Application folders; a
file inside such a folder that gitopsgen does not write is removed with the next commit, and
nothing outside them is ever touched."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gitopsgen.hydrate.metadata import (
    GITATTRIBUTES_TEXT,
    DryCommit,
    commit_metadata,
    path_metadata,
    readme,
    to_json,
)
from gitopsgen.hydrate.plumbing import Entry, Tree
from gitopsgen.render.hydrated import GITATTRIBUTES, MANIFEST, METADATA, README, HydratedApp

BLOB = "100644"


@dataclass(frozen=True)
class AppFiles:
    app: HydratedApp
    manifest: str
    commands: tuple[str, ...]


@dataclass(frozen=True)
class Desired:
    """The branch's new flat tree (blob texts, not yet written) and what differs."""

    texts: dict[str, str]  # path -> text to write
    removed: tuple[str, ...]  # stale files inside gitopsgen's folders
    changed_manifests: tuple[str, ...]


def owned_paths(apps: tuple[HydratedApp, ...], shared: bool) -> tuple[str, ...]:
    root = () if shared else (METADATA, GITATTRIBUTES)
    return (*root, *(f"{a.path}/" for a in apps))


def desired_files(
    current: Tree,
    blob_sha: Callable[[str], str],
    apps: tuple[AppFiles, ...],
    repo_url: str,
    dry: DryCommit,
    shared: bool,
) -> Desired:
    """The files to write for `apps` over the branch's `current` tree. `blob_sha` names a text's
    blob id (git hash-object), to compare with the tree without reading it."""
    texts: dict[str, str] = {}
    changed: list[str] = []
    for files in apps:
        folder = files.app.path
        manifest_path = f"{folder}/{MANIFEST}"
        old = current.get(manifest_path)
        if old is not None and old.sha == blob_sha(files.manifest):
            continue
        changed.append(manifest_path)
        meta = path_metadata(repo_url, dry, files.commands, full=shared)
        texts[manifest_path] = files.manifest
        texts[f"{folder}/{METADATA}"] = to_json(meta)
        texts[f"{folder}/{README}"] = readme(meta)
        if shared:
            texts[f"{folder}/{GITATTRIBUTES}"] = _folder_attributes()
    if changed and not shared:
        texts[METADATA] = to_json(commit_metadata(repo_url, dry))
        texts[GITATTRIBUTES] = GITATTRIBUTES_TEXT
    written = {f"{f.app.path}/{name}" for f in apps for name in written_names(shared)}
    folders = tuple(f"{f.app.path}/" for f in apps)
    removed = tuple(
        sorted(p for p in current if p.startswith(folders) and p not in written) if changed else ()
    )
    return Desired(texts, removed, tuple(changed))


def written_names(shared: bool) -> tuple[str, ...]:
    return (MANIFEST, METADATA, README, *((GITATTRIBUTES,) if shared else ()))


def _folder_attributes() -> str:
    """A folder's own .gitattributes (patterns relative to it): the shared branch's root
    belongs to no one PromotionStrategy, so gitopsgen writes nothing there."""
    return f"{README} linguist-generated=true\n{METADATA} linguist-generated=true\n"


def apply_desired(current: Tree, desired: Desired, blob_of: Callable[[str], str]) -> Tree:
    """The new flat tree: `current` without the removed files, with the written ones."""
    parents = {p.rsplit("/", i)[0] for p in desired.texts for i in range(1, p.count("/") + 1)}
    # a file where a written folder must be goes: the folder is gitopsgen's
    tree = {p: e for p, e in current.items() if p not in desired.removed and p not in parents}
    for path, text in desired.texts.items():
        tree[path] = Entry(BLOB, "blob", blob_of(text))
    return tree
