"""Deployment decisions as commits: commit, promote, set, rollback.

Every command leaves the repository exactly as it was when it refuses or fails: no stray branch,
no half-edited spec, no partial commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from gitopsgen.errors import GitError, PromotionError, ValidationFailed
from gitopsgen.findings import Finding
from gitopsgen.git import Repo
from gitopsgen.promotion.edit import Edit
from gitopsgen.promotion.facts import PullRequestFacts
from gitopsgen.promotion.objectdiff import object_changes
from gitopsgen.promotion.prbody import pr_body
from gitopsgen.promotion.trailers import commit_message, field_changes
from gitopsgen.promotion.worktree import scratch_worktree, signals_held, signals_raise
from gitopsgen.render.registry import render_all
from gitopsgen.spec.edit import set_field
from gitopsgen.spec.model import Spec
from gitopsgen.sync.writer import Action, FileChange, apply_changes
from gitopsgen.validate.checked_render import RenderResult, render_repository
from gitopsgen.validate.run import ValidateOptions, default_crd_dirs, validate_repository
from gitopsgen.yamlsource import FastLoader


@dataclass
class Outcome:
    branch: str
    commit: str
    title: str
    body: str
    files: list[str] = field(default_factory=list)
    pushed: bool = False


def _render_and_validate(root: Path, spec_path: Path) -> tuple[RenderResult, list[Finding]]:
    """Write the render, then validate; on error the files are put back and ValidationFailed raised."""
    result = render_repository(spec_path, root)
    apply_changes(root, result.changes, result.folders)
    # with the upstream CRDs where `schemas fetch` cached them, as the PR check has them
    findings = validate_repository(ValidateOptions(root, spec_path, crd_dirs=default_crd_dirs([])))
    if any(f.is_error for f in findings):
        apply_changes(root, _reversed(result.changes), result.folders)
        raise ValidationFailed(findings)
    return result, findings


def _reversed(changes: list[FileChange]) -> list[FileChange]:
    undo = {
        Action.CREATE: Action.DELETE,
        Action.DELETE: Action.CREATE,
        Action.UPDATE: Action.UPDATE,
        Action.IDENTICAL: Action.IDENTICAL,
    }
    return [FileChange(c.path, undo[c.action], c.new, c.old) for c in changes]


def commit_render(root: Path, spec_path: Path, message: str | None) -> Outcome:
    """`gitopsgen commit`: render, validate, and commit exactly the spec and the rendered files
    (`git commit --only`, hooks run): whatever else the user staged stays staged. Any failure
    or signal puts the files and the index back as they were."""
    repo = Repo.at(root)
    branch = repo.current_branch()
    spec_rel = spec_path.resolve().relative_to(root.resolve()).as_posix()
    before_text = repo.show("HEAD", spec_rel)
    before = yaml.load(before_text, Loader=FastLoader) if before_text else None
    index = Path(repo.out("rev-parse", "--path-format=absolute", "--git-path", "index"))
    saved_index = index.read_bytes() if index.exists() else None
    changes: list[FileChange] = []
    folders: tuple[str, ...] = ()
    try:
        with signals_raise():
            result, _ = _render_and_validate(root, spec_path)
            changes, folders = result.changes, result.folders
            after = yaml.load(spec_path.read_text(), Loader=FastLoader)
            paths = _commit_paths(repo, root, [spec_rel] + [c.path for c in changes])
            if not repo.run("diff", "--quiet", "HEAD", "--", *paths, check=False).returncode:
                raise PromotionError(
                    "nothing to commit: the spec and the rendered files are committed"
                )
            text = commit_message(field_changes(before, after), message)
            sha = repo.commit(text, only=paths)
    except BaseException as exc:
        with signals_held():
            apply_changes(root, _reversed(changes), folders)
            if saved_index is not None and index.read_bytes() != saved_index:
                index.write_bytes(saved_index)
        if isinstance(exc, GitError):
            raise PromotionError(
                f"nothing was committed: {exc}; the files and the index are as they were"
            ) from exc
        raise
    return Outcome(branch, sha, text.splitlines()[0], text, paths)


def _commit_paths(repo: Repo, root: Path, paths: list[str]) -> list[str]:
    """The paths a commit can name: tracked ones (a deletion) and existing ones; new files are
    marked intent-to-add so `git commit --only` sees them, without staging their content."""
    tracked = set(filter(None, repo.out("ls-files", "-z", "--", *paths).split("\0")))
    usable = [p for p in paths if p in tracked or (root / p).exists()]
    new = [p for p in usable if p not in tracked]
    if new:
        repo.stage(new, intent_only=True)
    return usable


def apply_edit(
    root: Path, spec_path: Path, edit: Edit, before_spec: Spec, push: bool, remote: str
) -> Outcome:
    """A new branch with one commit that edits the spec and re-renders, built in a temporary
    worktree from HEAD: the user's branch, index and files are never touched, hooks run, and
    any failure or signal leaves no branch behind. `before_spec` is the spec as loaded now."""
    repo = Repo.at(root)
    original = repo.current_branch()
    if repo.branch_exists(edit.branch):
        raise PromotionError(f"branch {edit.branch!r} already exists; delete it or pass --branch")
    top = Path(repo.out("rev-parse", "--show-toplevel")).resolve()
    inner = root.resolve().relative_to(top)
    spec_rel = spec_path.resolve().relative_to(root.resolve()).as_posix()
    _require_committed(repo, (inner / spec_rel).as_posix(), edit)
    before_text = spec_path.read_text()
    after_text = before_text
    for path, value in edit.assignments:
        after_text = set_field(after_text, edit.where, path, value)
    before = yaml.load(before_text, Loader=FastLoader)
    changed = field_changes(before, yaml.load(after_text, Loader=FastLoader))
    if not changed:
        raise PromotionError(
            f"{edit.who} already has that value of {_fields(edit)}; nothing to change"
        )
    try:
        with signals_raise(), scratch_worktree(repo, edit.branch, f"{edit.title!r}") as folder:
            work = folder / inner
            (work / spec_rel).write_text(after_text)
            result, findings = _render_and_validate(work, work / spec_rel)
            spec, changes = result.spec, result.changes
            paths = [spec_rel] + [c.path for c in changes if c.action is not Action.IDENTICAL]
            scratch = Repo(work)
            scratch.stage(paths)
            sha = scratch.commit(commit_message(changed, edit.title))
            # the pull request is written before the push and inside the worktree, so that a
            # failure in it (the routing function, the chart) leaves no branch here or there
            objects = object_changes(
                work, before_spec, spec, render_all(before_spec), render_all(spec)
            )
            facts = PullRequestFacts(
                edit, changed, paths, before_spec, spec, work, findings, spec_rel, before, objects
            )
            body = pr_body(facts)
            if push:
                scratch.push(remote, edit.branch)
    except GitError as exc:
        raise PromotionError(
            f"{edit.who} {_fields(edit)} not changed: {exc}; the repository is as it was "
            f"(branch {original})"
        ) from exc
    return Outcome(edit.branch, sha, edit.title, body, paths, pushed=push)


def _fields(edit: Edit) -> str:
    return ", ".join(".".join(p) for p, _ in edit.assignments)


def _require_committed(repo: Repo, spec_rel: str, edit: Edit) -> None:
    """The promotion starts from HEAD: the spec must be as committed, or the user's edits
    would silently not be part of it. Everything else the user has is left alone."""
    dirty = repo.run("status", "--porcelain", "--", f":(top){spec_rel}").stdout.strip()
    if dirty:
        raise PromotionError(
            f"{edit.who} {_fields(edit)} not changed: {spec_rel} has uncommitted changes and "
            "the promotion starts from HEAD; commit or stash them first"
        )
