"""Commits built with git's plumbing, so `hydrate` never touches the user's worktree or index:
blobs (hash-object), trees (mktree), a commit (commit-tree), then every branch and the notes ref
moved in one `update-ref --stdin` transaction that names each ref's old value. An interrupted run
leaves every ref as it was (the objects it wrote are unreferenced and git gc drops them) or as
it is after; another writer in between makes the transaction fail instead of losing its commit."""

from __future__ import annotations

import os
from dataclasses import dataclass

from gitopsgen.errors import HydrateError
from gitopsgen.git import Repo

ZERO = "0" * 40


@dataclass(frozen=True)
class Entry:
    mode: str
    kind: str  # blob, tree or commit (a submodule)
    sha: str


Tree = dict[str, Entry]  # path (POSIX, from the root) -> entry; blobs and submodules only


def resolve(repo: Repo, ref: str) -> str | None:
    result = repo.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def read_tree(repo: Repo, commit: str | None) -> Tree:
    if commit is None:
        return {}
    out = repo.run("ls-tree", "-r", "-z", "--full-tree", commit).stdout
    tree: Tree = {}
    for record in filter(None, out.split("\0")):
        meta, path = record.split("\t", 1)
        mode, kind, sha = meta.split(" ")
        tree[path] = Entry(mode, kind, sha)
    return tree


def blob_text(repo: Repo, sha: str) -> str:
    return repo.run("cat-file", "blob", sha).stdout


def write_blob(repo: Repo, text: str) -> str:
    return repo.out("hash-object", "-w", "--stdin", stdin=text)


def write_tree(repo: Repo, tree: Tree) -> str:
    """The nested trees of a flat mapping, written bottom-up with mktree."""
    children: dict[str, dict[str, Entry]] = {"": {}}
    for path, entry in tree.items():
        parent, _, name = path.rpartition("/")
        _ensure(children, parent)
        children[parent][name] = entry
    for folder in sorted(children, key=lambda f: f.count("/") + (f != ""), reverse=True):
        if folder == "":
            continue
        parent, _, name = folder.rpartition("/")
        children[parent][name] = Entry("040000", "tree", _mktree(repo, children[folder]))
    return _mktree(repo, children[""])


def _ensure(children: dict[str, dict[str, Entry]], folder: str) -> None:
    while folder not in children:
        children[folder] = {}
        folder = folder.rpartition("/")[0]


def _mktree(repo: Repo, entries: dict[str, Entry]) -> str:
    lines = "".join(f"{e.mode} {e.kind} {e.sha}\t{name}\0" for name, e in sorted(entries.items()))
    return repo.out("mktree", "-z", stdin=lines)


def commit_tree(repo: Repo, tree: str, parent: str | None, message: str) -> str:
    args = ["commit-tree", tree, *(["-p", parent] if parent else []), "-F", "-"]
    return repo.out(*args, stdin=message)


def stage_note(repo: Repo, notes: str | None, commit: str, text: str) -> str:
    """The notes commit after `notes` (a notes history, None: none yet) with `text` on
    `commit`, built on a scratch ref (deleted after) so the real notes ref moves only in the
    transaction."""
    scratch = f"refs/notes/gitopsgen-hydrate-{os.getpid()}"
    try:
        if notes:
            repo.run("update-ref", scratch, notes)
        repo.run("notes", f"--ref={scratch}", "add", "-f", "-m", text, commit)
        staged = repo.out("rev-parse", scratch)
    finally:
        repo.run("update-ref", "-d", scratch, check=False)
    return staged


def update_refs(repo: Repo, moves: list[tuple[str, str, str | None]]) -> None:
    """Move every (ref, new, old) at once, or none: `update-ref --stdin` locks them all first."""
    if not moves:
        return
    lines = ["start"]
    lines += [f"update {ref} {new} {old or ZERO}" for ref, new, old in moves]
    lines += ["prepare", "commit"]
    result = repo.run("update-ref", "--stdin", stdin="\n".join(lines) + "\n", check=False)
    if result.returncode != 0:
        raise HydrateError(
            "another process moved a branch while hydrate ran; nothing was changed, run it "
            f"again: {result.stderr.strip()}"
        )
