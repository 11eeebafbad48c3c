"""Deployment decisions as commits: commit, promote, set, rollback.

Every command leaves the repository exactly as it was when it refuses or fails: no stray branch,
no half-edited spec, no partial commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.changes import TRAILER, commit_message, field_changes, value_text
from generator.errors import GitError, GitopsgenError, ValidationFailed
from generator.findings import Finding
from generator.git import Repo
from generator.history import inverse_assignments, last_recorded_change
from generator.kubediff import object_changes
from generator.model import ALIAS_COLOURS, Spec
from generator.pipeline import render_repository
from generator.prbody import PullRequestFacts, pr_body
from generator.render import render_all
from generator.scratch import scratch_worktree, signals_held, signals_raise
from generator.simulate import bucket_shares, serves_everything
from generator.spec import merged_environments
from generator.spec_edit import set_field
from generator.validate.run import ValidateOptions, validate_repository
from generator.writer import Action, FileChange, apply_changes
from generator.yamlsource import FastLoader

ALIAS_NAMES = {"a": "A", "b": "B", "blue": "A", "green": "B"}


class PromotionError(GitopsgenError):
    """A promotion was refused; the repository is as it was."""


def normalise_alias(text: str) -> str:
    try:
        return ALIAS_NAMES[text.strip().lower()]
    except KeyError:
        raise PromotionError(f"unknown alias {text!r}; use A, B, blue or green") from None


@dataclass
class Outcome:
    branch: str
    commit: str
    title: str
    body: str
    files: list[str] = field(default_factory=list)
    pushed: bool = False


def _render_and_validate(
    root: Path, spec_path: Path
) -> tuple[Spec, list[FileChange], list[Finding]]:
    """Write the render, then validate; on error the files are put back and ValidationFailed raised."""
    result = render_repository(spec_path, root)
    apply_changes(root, result.changes)
    findings = validate_repository(ValidateOptions(root, spec_path))
    if any(f.is_error for f in findings):
        apply_changes(root, _reversed(result.changes))
        raise ValidationFailed(findings)
    return result.spec, result.changes, findings


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
    try:
        with signals_raise():
            _, changes, _ = _render_and_validate(root, spec_path)
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
            apply_changes(root, _reversed(changes))
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


@dataclass(frozen=True)
class Edit:
    env: str
    assignments: tuple[tuple[tuple[str, ...], Any], ...]
    branch: str
    title: str
    rollback_hint: str | None  # None: the command that sets the old values back
    note: str | None = None  # said on stderr and in the pull request's Change section


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
        after_text = set_field(after_text, edit.env, path, value)
    before = yaml.load(before_text, Loader=FastLoader)
    changed = field_changes(before, yaml.load(after_text, Loader=FastLoader))
    if not changed:
        raise PromotionError(
            f"{edit.env} already has that value of {_fields(edit)}; nothing to change"
        )
    try:
        with signals_raise(), scratch_worktree(repo, edit.branch, f"{edit.title!r}") as folder:
            work = folder / inner
            (work / spec_rel).write_text(after_text)
            spec, changes, findings = _render_and_validate(work, work / spec_rel)
            paths = [spec_rel] + [c.path for c in changes if c.action is not Action.IDENTICAL]
            scratch = Repo(work)
            scratch.stage(paths)
            sha = scratch.commit(commit_message(changed, edit.title))
            if push:
                scratch.push(remote, edit.branch)
            objects = object_changes(
                work, before_spec, spec, render_all(before_spec), render_all(spec)
            )
    except GitError as exc:
        raise PromotionError(
            f"{edit.env} {_fields(edit)} not changed: {exc}; the repository is as it was "
            f"(branch {original})"
        ) from exc
    body = pr_body(
        PullRequestFacts(
            edit, changed, paths, before_spec, spec, root, findings, spec_rel, before, objects
        )
    )
    return Outcome(edit.branch, sha, edit.title, body, paths, pushed=push)


def _fields(edit: Edit) -> str:
    return ", ".join(".".join(p) for p, _ in edit.assignments)


def _require_committed(repo: Repo, spec_rel: str, edit: Edit) -> None:
    """The promotion starts from HEAD: the spec must be as committed, or the user's edits
    would silently not be part of it. Everything else the user has is left alone."""
    dirty = repo.run("status", "--porcelain", "--", f":(top){spec_rel}").stdout.strip()
    if dirty:
        raise PromotionError(
            f"{edit.env} {_fields(edit)} not changed: {spec_rel} has uncommitted changes and "
            "the promotion starts from HEAD; commit or stash them first"
        )


def promotion_edit(spec: Spec, root: Path, env: str, to: str, branch: str | None) -> Edit:
    """`promote ENV --to X`: X serves all traffic once merged. In canary or ab_test that means
    completing the rollout too: serving.mode becomes blue_green."""
    environment = _environment(spec, env)
    if environment.rollout.blue_green:  # a colour of the serving image, not a model alias
        from generator.bluegreen import colour_switch_edit

        return colour_switch_edit(environment, to, branch)
    serving = environment.serving
    alias = normalise_alias(to)
    colour = f"{alias} ({ALIAS_COLOURS[alias]})"
    if serves_everything(environment, root, alias):
        raise PromotionError(
            f"{env} already serves all traffic from {colour} (serving.mode {serving.mode}, "
            f"serving.defaultAlias {serving.default_alias}); nothing to promote"
        )
    assignments: list[tuple[tuple[str, ...], Any]] = []
    described = []
    if serving.default_alias != alias:
        assignments.append((("serving", "defaultAlias"), alias))
        described.append(f"defaultAlias {serving.default_alias} -> {alias}")
    note = None
    if serving.mode != "blue_green":
        assignments.append((("serving", "mode"), "blue_green"))
        described.append(f"mode {serving.mode} -> blue_green")
        share = bucket_shares(environment, root)[alias]
        note = (
            f"{colour} serves {share:g}% of {env}'s clients now (serving.mode {serving.mode}); "
            f"this promotion sets serving.mode blue_green, so it serves all of them once merged"
        )
    return Edit(
        env,
        tuple(assignments),
        branch or f"promote/{env}-{alias}",
        f"Promote {env} to {colour}: {', '.join(described)}",
        None,
        note,
    )


def set_edit(
    spec: Spec, env: str, assignments: list[tuple[tuple[str, ...], Any]], branch: str | None
) -> Edit:
    _environment(spec, env)
    described = ", ".join(f"{'.'.join(p)}={value_text(v)}" for p, v in assignments)
    slug = "-".join(f"{p[-1]}-{value_text(v)}" for p, v in assignments).lower()
    slug = "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in slug)
    while ".." in slug:  # git refuses "..", a trailing "." and a ".lock" end in a branch name
        slug = slug.replace("..", ".")
    slug = slug[:60]
    while slug != (trimmed := slug.rstrip(".-").removesuffix(".lock")):
        slug = trimmed
    slug = slug or "value"
    return Edit(
        env,
        tuple(assignments),
        branch or f"set/{env}-{slug}",
        f"Set {described} in {env}",
        None,
    )


def _environment(spec: Spec, env: str) -> Any:
    return spec.require(env)


def rollback_edit(root: Path, spec_path: Path, env: str, branch: str | None) -> Edit:
    """The exact inverse of the latest commit reachable from HEAD that recorded a change of
    `env` (its Gitopsgen-Change trailers), refused when the spec moved on since."""
    recorded = last_recorded_change(Repo.at(root), env)
    if recorded is None:
        raise PromotionError(
            f"nothing to roll back: no commit reachable from HEAD records a change of {env} "
            f"(a {TRAILER} trailer, which promote, set, rollback and commit add)"
        )
    current = merged_environments(yaml.load(spec_path.read_text(), Loader=FastLoader))[env]
    assignments = inverse_assignments(recorded, env, current)
    return Edit(
        env,
        tuple(assignments),
        branch or f"rollback/{env}-{recorded.sha[:8]}",
        f"Roll back {env}: undo {recorded.short} ({recorded.subject})",
        None,
    )
