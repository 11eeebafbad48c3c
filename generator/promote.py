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
from generator.errors import GitopsgenError, ValidationFailed
from generator.findings import Finding
from generator.git import Repo
from generator.history import inverse_assignments, last_recorded_change
from generator.kubediff import object_changes
from generator.model import ALIAS_COLOURS, Spec
from generator.pipeline import render_repository
from generator.prbody import PullRequestFacts, pr_body
from generator.render import render_all
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
    """`gitopsgen commit`: render, validate, stage exactly the spec and rendered files, commit."""
    repo = Repo.at(root)
    branch = repo.current_branch()
    spec_rel = spec_path.resolve().relative_to(root.resolve()).as_posix()
    before_text = repo.show("HEAD", spec_rel)
    before = yaml.load(before_text, Loader=FastLoader) if before_text else None
    _, changes, _ = _render_and_validate(root, spec_path)
    after = yaml.load(spec_path.read_text(), Loader=FastLoader)
    paths = [spec_rel] + [c.path for c in changes]
    repo.stage(paths)
    if not repo.run("diff", "--cached", "--quiet", check=False).returncode:
        raise PromotionError("nothing to commit: the spec and the rendered files are committed")
    recorded = field_changes(before, after)
    if not recorded:
        raise PromotionError("nothing to commit: the spec's environments are as committed")
    text = commit_message(recorded, message)
    sha = repo.commit(text)
    return Outcome(branch, sha, text.splitlines()[0], text, paths)


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
    """On a clean tree: a new branch with one commit that edits the spec and re-renders.
    `before_spec` is the spec as loaded now (the caller has it already)."""
    repo = Repo.at(root)
    repo.require_clean()
    original = repo.current_branch()
    if repo.branch_exists(edit.branch):
        raise PromotionError(f"branch {edit.branch!r} already exists; delete it or pass --branch")
    spec_rel = spec_path.resolve().relative_to(root.resolve()).as_posix()
    before_text = spec_path.read_text()
    after_text = before_text
    for path, value in edit.assignments:
        after_text = set_field(after_text, edit.env, path, value)
    before = yaml.load(before_text, Loader=FastLoader)
    changed = field_changes(before, yaml.load(after_text, Loader=FastLoader))
    if not changed:
        fields = ", ".join(".".join(p) for p, _ in edit.assignments)
        raise PromotionError(f"{edit.env} already has that value of {fields}; nothing to change")
    repo.run("checkout", "--quiet", "-b", edit.branch)
    try:
        spec_path.write_text(after_text)
        spec, changes, findings = _render_and_validate(root, spec_path)
        paths = [spec_rel] + [c.path for c in changes if c.action is not Action.IDENTICAL]
        repo.stage(paths)
        sha = repo.commit(commit_message(changed, edit.title))
        if push:
            repo.push(remote, edit.branch)
    except BaseException:
        _restore(repo, original, edit.branch)
        raise
    repo.run("checkout", "--quiet", original)
    body = pr_body(
        PullRequestFacts(
            edit,
            changed,
            paths,
            before_spec,
            spec,
            root,
            findings,
            spec_rel,
            before,
            object_changes(root, before_spec, spec, render_all(before_spec), render_all(spec)),
        )
    )
    return Outcome(edit.branch, sha, edit.title, body, paths, pushed=push)


def _restore(repo: Repo, original: str, branch: str) -> None:
    """Back to exactly where we were: the original branch, a clean tree, no new branch."""
    repo.run("reset", "--quiet", "--hard", "HEAD", check=False)
    repo.run("clean", "--quiet", "-fd", check=False)
    repo.run("checkout", "--quiet", "-f", original, check=False)
    repo.run("branch", "--quiet", "-D", branch, check=False)


def promotion_edit(spec: Spec, root: Path, env: str, to: str, branch: str | None) -> Edit:
    """`promote ENV --to X`: X serves all traffic once merged. In canary or ab_test that means
    completing the rollout too: serving.mode becomes blue_green."""
    environment = _environment(spec, env)
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
    slug = "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in slug)[:60]
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
