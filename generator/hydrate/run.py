"""`hydrate` and `hydrate --check`: plan every proposed branch, then move them all at once.

A run reads the spec commit (refusing uncommitted spec, chart or rendered files: the drySha
must name what was rendered), renders each Application's manifests, plans each proposed branch
over its current tree, writes blobs, trees and commits with git plumbing and moves every branch
and the notes ref in one transaction. The user's worktree, index and checked-out branch are
never touched."""

from __future__ import annotations

from dataclasses import dataclass

from gitopsgen.errors import HydrateError
from gitopsgen.git import Repo
from gitopsgen.hydrate import plumbing
from gitopsgen.hydrate.branches import (
    AppFiles,
    Desired,
    apply_desired,
    desired_files,
    owned_paths,
    written_names,
)
from gitopsgen.hydrate.manifests import ManifestSource
from gitopsgen.hydrate.metadata import NOTES_REF as NOTES_REF
from gitopsgen.hydrate.metadata import DryCommit, check_repo_url, check_sha, note_text
from gitopsgen.render.hydrated import (
    METALLB_SERVICE,
    HydratedApp,
    active_branch,
    hydrated_apps,
    proposed_branch,
    services,
)
from gitopsgen.spec.model import Spec
from gitopsgen.sync.writer import FileChange, pending

TRAILER = "Gitopsgen-hydrated-from"
REMOTE_NOTES = "refs/gitopsgen/origin-notes"


@dataclass(frozen=True)
class BranchPlan:
    branch: str
    apps: tuple[HydratedApp, ...]
    head: str | None  # the local branch now (the transaction's old value)
    proposed: str | None  # the proposed branch's newest commit, local or origin's (None: new)
    base: str | None  # what the new commit builds on: the newest of local and origin's
    desired: Desired


@dataclass(frozen=True)
class Outcome:
    branch: str
    commit: str  # the branch's commit after the run
    committed: bool
    changed: tuple[str, ...]
    removed: tuple[str, ...]

    def line(self, dry_sha: str) -> str:
        if self.committed:
            listed = ", ".join(self.changed)
            return f"{self.branch}: commit {self.commit[:12]} ({listed})"
        return f"{self.branch}: unchanged at {self.commit[:12]}; note drySha {dry_sha[:12]}"


def dry_commit(repo: Repo, watched: list[str]) -> DryCommit:
    """HEAD of the spec branch, refusing uncommitted changes under `watched`."""
    dirty = repo.out("status", "--porcelain", "--untracked-files=all", "--", *watched)
    if dirty:
        listed = "\n  ".join(dirty.splitlines()[:10])
        raise HydrateError(
            "the spec or rendered files have uncommitted changes; the drySha must name what "
            f"was rendered, so commit them first:\n  {listed}"
        )
    out = repo.run("show", "-s", "--format=%H%x00%an <%ae>%x00%aI%x00%B", "HEAD").stdout
    sha, author, date, message = out.split("\0", 3)
    return DryCommit(check_sha(sha, "the spec commit"), author, date, message.strip() + "\n")


def plan(
    repo: Repo,
    spec: Spec,
    source: ManifestSource,
    dry: DryCommit,
    environments: tuple[str, ...],
    service: str | None,
) -> list[BranchPlan]:
    check_repo_url(spec.repo_url, spec.source)  # the CLI has named its line already
    plans: list[BranchPlan] = []
    shared = spec.delivery.active_paths
    for env in environments:
        apps = tuple(a for a in hydrated_apps(spec, env) if service in (None, a.service))
        groups = [(a,) for a in apps] if shared else [apps]
        for group in groups:
            branch = proposed_branch(spec.delivery, env, group[0].path)
            fallback = active_branch(spec.delivery, env) if shared else None
            head, proposed, base = _base(repo, branch, fallback)
            files = tuple(AppFiles(a, source.manifests(a), source.commands(a)) for a in group)
            current = plumbing.read_tree(repo, base)
            desired = desired_files(
                current, lambda text: _blob_id(repo, text), files, spec.repo_url, dry, shared
            )
            plans.append(BranchPlan(branch, group, head, proposed, base, desired))
    return plans


def _blob_id(repo: Repo, text: str) -> str:
    return repo.out("hash-object", "--stdin", stdin=text)


def _base(
    repo: Repo, branch: str, fallback: str | None
) -> tuple[str | None, str | None, str | None]:
    head = plumbing.resolve(repo, f"refs/heads/{branch}")
    remote = plumbing.resolve(repo, f"refs/remotes/origin/{branch}")
    proposed = base = _newest(repo, head, remote, branch)
    if base is None and fallback is not None:
        # a new proposed branch of the shared mode starts from the active branch: siblings kept
        local_active = plumbing.resolve(repo, f"refs/heads/{fallback}")
        remote_active = plumbing.resolve(repo, f"refs/remotes/origin/{fallback}")
        base = _newest(repo, local_active, remote_active, fallback)
    return head, proposed, base


def _newest(repo: Repo, local: str | None, remote: str | None, name: str) -> str | None:
    if local is None or remote is None or local == remote:
        return local or remote
    if _is_ancestor(repo, local, remote):
        return remote
    if _is_ancestor(repo, remote, local):
        return local
    raise HydrateError(
        f"{name} and origin/{name} have diverged; someone else wrote it. Reset the local one "
        f"to origin's (`git branch -f {name} origin/{name}`) and run hydrate again"
    )


def _is_ancestor(repo: Repo, older: str, newer: str) -> bool:
    return repo.run("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0


def apply(repo: Repo, plans: list[BranchPlan], dry: DryCommit) -> list[Outcome]:
    """Write every commit, then move every branch and the notes ref in one transaction."""
    moves: list[tuple[str, str, str | None]] = []
    outcomes: list[Outcome] = []
    notes: list[tuple[str, str]] = []
    for p in plans:
        target, committed = p.base, False
        if p.desired.changed_manifests:
            tree = apply_desired(
                plumbing.read_tree(repo, p.base),
                p.desired,
                lambda text: plumbing.write_blob(repo, text),
            )
            tree_sha = plumbing.write_tree(repo, tree)
            target = plumbing.commit_tree(repo, tree_sha, p.base, _message(p.branch, dry))
            committed = True
        if target is None:
            continue
        if target != p.head:
            moves.append((f"refs/heads/{p.branch}", target, p.head))
        notes.append((target, note_text(dry.sha)))
        outcomes.append(
            Outcome(p.branch, target, committed, p.desired.changed_manifests, p.desired.removed)
        )
    moves.extend(_note_moves(repo, notes))
    plumbing.update_refs(repo, moves)
    return outcomes


def _note_moves(repo: Repo, notes: list[tuple[str, str]]) -> list[tuple[str, str, str | None]]:
    old = plumbing.resolve(repo, NOTES_REF)
    remote = plumbing.resolve(repo, REMOTE_NOTES)
    staged = _newest(repo, old, remote, NOTES_REF)
    for commit, text in notes:
        if note_on(repo, commit, staged) == text:
            continue
        staged = plumbing.stage_note(repo, staged, commit, text)
    return [(NOTES_REF, staged, old)] if staged and staged != old else []


def note_on(repo: Repo, commit: str, notes_commit: str | None) -> str | None:
    """The hydrator note on `commit` in the notes history `notes_commit` (None: no note).
    Notes trees fan out (ab/cdef...) once they grow: the entry is found either way."""
    if notes_commit is None:
        return None
    names = repo.out("ls-tree", "-r", "--name-only", notes_commit).splitlines()
    path = next((n for n in names if n.replace("/", "") == commit), None)
    return None if path is None else repo.out("show", f"{notes_commit}:{path}")


def check(repo: Repo, plans: list[BranchPlan], dry: DryCommit, shared: bool) -> list[str]:
    """What keeps each proposed branch from being what `hydrate` would make it: missing, a
    manifest behind the spec, a file edited by hand since gitopsgen's last commit, a file
    gitopsgen does not write inside its folders, a note naming an older drySha."""
    problems: list[str] = []
    notes = _newest(
        repo, plumbing.resolve(repo, NOTES_REF), plumbing.resolve(repo, REMOTE_NOTES), NOTES_REF
    )
    for p in plans:
        if p.proposed is None:
            problems.append(f"{p.branch}: missing; `gitopsgen hydrate` creates it")
            continue
        problems += [
            f"{p.branch}: {path} is behind the spec at {dry.sha[:12]}"
            for path in p.desired.changed_manifests
        ]
        problems += _hand_edits(repo, p, shared)
        if not p.desired.changed_manifests and note_on(repo, p.proposed, notes) != note_text(
            dry.sha
        ):
            problems.append(f"{p.branch}: its hydrator note does not name {dry.sha[:12]}")
    return problems


def _hand_edits(repo: Repo, p: BranchPlan, shared: bool) -> list[str]:
    assert p.proposed is not None
    last = repo.out("log", "-1", "--format=%H", f"--grep=^{TRAILER}: ", p.proposed)
    owned = owned_paths(p.apps, shared)
    if not last:
        return [f"{p.branch}: has no commit of gitopsgen hydrate"]
    edited = repo.out("diff", "--name-only", last, p.proposed, "--", *owned).splitlines()
    tree = plumbing.read_tree(repo, p.proposed)
    written = {f"{a.path}/{n}" for a in p.apps for n in written_names(shared)}
    strays = [
        path
        for path in tree
        if path.startswith(tuple(f"{a.path}/" for a in p.apps)) and path not in written
    ]
    return [f"{p.branch}: {path} was edited by hand after {last[:12]}" for path in edited] + [
        f"{p.branch}: {path} is not written by gitopsgen" for path in strays if path not in edited
    ]


def _message(branch: str, dry: DryCommit) -> str:
    subject = dry.message.strip().splitlines()[0] if dry.message.strip() else ""
    return (
        f"{dry.sha[:7]}: {subject}\n\nHydrated {branch} from {dry.sha} by gitopsgen hydrate.\n\n"
        f"{TRAILER}: {dry.sha}\n"
    )


def push(repo: Repo, outcomes: list[Outcome]) -> None:
    """Every branch and the notes in one atomic push, never forced."""
    refs = [f"refs/heads/{o.branch}:refs/heads/{o.branch}" for o in outcomes]
    if plumbing.resolve(repo, NOTES_REF):
        refs.append(f"{NOTES_REF}:{NOTES_REF}")
    result = repo.run("push", "--atomic", "--porcelain", "origin", *refs, check=False)
    if result.returncode != 0:
        raise HydrateError(
            "origin refused the push (someone else pushed first?); the local branches are "
            f"hydrated, run hydrate --push again: {(result.stderr or result.stdout).strip()}"
        )


def fetch(repo: Repo, spec: Spec) -> None:
    """Origin's proposed branches and notes, so the new commits build on what others pushed."""
    prefix = spec.delivery.branch_prefix
    repo.run("fetch", "--quiet", "origin", f"+refs/heads/{prefix}*:refs/remotes/origin/{prefix}*")
    repo.run("fetch", "--quiet", "origin", f"+{NOTES_REF}:{REMOTE_NOTES}", check=False)


def service_names(spec: Spec) -> tuple[str, ...]:
    return (*services(spec), METALLB_SERVICE)


def require_rendered(changes: list[FileChange]) -> None:
    """The rendered files committed with the spec are what the spec renders (else the drySha
    would name a commit whose rendered folders disagree with the manifests)."""
    stale = pending(changes)
    if stale:
        listed = ", ".join(c.path for c in stale[:5])
        raise HydrateError(
            f"rendered files are stale ({listed}); run `gitopsgen render` and commit"
        )


def watched_paths(spec: Spec, outputs: tuple[str, ...]) -> list[str]:
    """What the drySha must name exactly: the spec, the chart and the rendered folders."""
    return [spec.source, spec.chart_path, *outputs]
