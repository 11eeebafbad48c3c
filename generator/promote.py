"""Deployment decisions as commits: commit, promote, set, rollback.

Every command leaves the repository exactly as it was when it refuses or fails: no stray branch,
no half-edited spec, no partial commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.errors import GitopsgenError, ValidationFailed
from generator.findings import Finding
from generator.git import Repo
from generator.model import ALIAS_COLOURS, Spec
from generator.pipeline import render_repository
from generator.simulate import bucket_shares, serves_everything
from generator.spec import merged_environments
from generator.spec_edit import scalar_text, set_field
from generator.validate.run import ValidateOptions, validate_repository
from generator.writer import Action, FileChange, apply_changes
from generator.yamlsource import FastLoader

ALIAS_NAMES = {"a": "A", "b": "B", "blue": "A", "green": "B"}
ROUTING_FIELDS = {"mode", "defaultAlias", "canaryPercent", "abSplitPercent"}


class PromotionError(GitopsgenError):
    """A promotion was refused; the repository is as it was."""


def normalise_alias(text: str) -> str:
    try:
        return ALIAS_NAMES[text.strip().lower()]
    except KeyError:
        raise PromotionError(f"unknown alias {text!r}; use A, B, blue or green") from None


def field_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, list[str]]:
    """env -> ["serving.defaultAlias A -> B", ...] between two parsed specs (defaults merged)."""
    old = merged_environments(before) if before else {}
    new = merged_environments(after)
    out: dict[str, list[str]] = {}
    for env in sorted(set(old) | set(new), key=lambda e: list(new).index(e) if e in new else 99):
        if env not in new:
            out[env] = ["removed"]
        elif env not in old:
            out[env] = ["added"]
        else:
            diffs = list(_leaf_diffs(old[env], new[env], ()))
            if diffs:
                out[env] = diffs
    return out


def _leaf_diffs(a: Any, b: Any, path: tuple[str, ...]) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            yield from _leaf_diffs(a.get(key), b.get(key), (*path, str(key)))
    elif a != b:
        yield f"{'.'.join(path)} {_short(a)} -> {_short(b)}"


def _short(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, list | dict):
        return yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    return str(value).lower() if isinstance(value, bool) else str(value)


def commit_message(changes: dict[str, list[str]], title: str | None = None) -> str:
    lines = [f"{env}: {change}" for env, items in changes.items() for change in items]
    subject = title or (
        "; ".join(lines[:2]) + (" ..." if len(lines) > 2 else "")
        if lines
        else "gitopsgen: re-render"
    )
    body = "\n".join(f"- {line}" for line in lines)
    return (
        f"{subject}\n\n{body}\n\nRendered and validated by gitopsgen.\n" if body else subject + "\n"
    )


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
    text = commit_message(field_changes(before, after), message)
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
    if after_text == before_text:
        raise PromotionError(f"{edit.env} already has that value; nothing to change")
    repo.run("checkout", "--quiet", "-b", edit.branch)
    try:
        spec_path.write_text(after_text)
        spec, changes, findings = _render_and_validate(root, spec_path)
        before = yaml.load(before_text, Loader=FastLoader)
        after = yaml.load(after_text, Loader=FastLoader)
        changed = field_changes(before, after)
        paths = [spec_rel] + [c.path for c in changes if c.action is not Action.IDENTICAL]
        repo.stage(paths)
        sha = repo.commit(commit_message(changed, edit.title))
        if push:
            repo.push(remote, edit.branch)
    except BaseException:
        _restore(repo, original, edit.branch)
        raise
    repo.run("checkout", "--quiet", original)
    body = pr_body(edit, changed, paths, before_spec, spec, root, findings, spec_rel, before)
    return Outcome(edit.branch, sha, edit.title, body, paths, pushed=push)


def _restore(repo: Repo, original: str, branch: str) -> None:
    """Back to exactly where we were: the original branch, a clean tree, no new branch."""
    repo.run("reset", "--quiet", "--hard", "HEAD", check=False)
    repo.run("clean", "--quiet", "-fd", check=False)
    repo.run("checkout", "--quiet", "-f", original, check=False)
    repo.run("branch", "--quiet", "-D", branch, check=False)


def pr_body(
    edit: Edit,
    changed: dict[str, list[str]],
    paths: list[str],
    before: Spec,
    after: Spec,
    root: Path,
    findings: list[Finding],
    spec_rel: str,
    before_data: dict[str, Any],
) -> str:
    lines = ["### Change", ""]
    lines += [f"- `{env}`: {change}" for env, items in changed.items() for change in items]
    lines += ["", "### Files", "", *[f"- `{p}`" for p in paths]]
    if edit.note:
        lines += ["", f"Note: {edit.note}."]
    if any(part[0] == "serving" and part[-1] in ROUTING_FIELDS for part, _ in edit.assignments):
        old_env, new_env = before.environment(edit.env), after.environment(edit.env)
        lines += [
            "",
            "### Traffic",
            "",
            "Share of clients with an `x-client-id`, from the serving app's own routing function:",
            "",
            "| | A (blue) | B (green) |",
            "| --- | --- | --- |",
            _traffic_row("before", old_env.serving.mode, bucket_shares(old_env, root)),
            _traffic_row("after", new_env.serving.mode, bucket_shares(new_env, root)),
            "",
            f"Requests without `x-client-id` go to {new_env.serving.default_alias} "
            f"({ALIAS_COLOURS[new_env.serving.default_alias]}).",
        ]
    warnings = [f for f in findings if not f.is_error]
    lines += [
        "",
        "### Validation",
        "",
        f"`gitopsgen validate`: passed, {len(warnings)} warning(s) "
        "(spec schema, policies, Argo CD and MetalLB schemas, Helm render, preview).",
    ]
    lines += [
        "",
        "### Roll back",
        "",
        f"```sh\n{edit.rollback_hint or undo_command(edit.env, before_data, edit.assignments)}\n```",
        "",
        f"Spec: `{spec_rel}`. Generated by `gitopsgen`.",
    ]
    return "\n".join(lines) + "\n"


def _traffic_row(label: str, mode: str, shares: dict[str, float]) -> str:
    return f"| {label} ({mode}) | {shares['A']:g}% | {shares['B']:g}% |"


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
    described = ", ".join(f"{'.'.join(p)}={_short(v)}" for p, v in assignments)
    slug = "-".join(f"{p[-1]}-{_short(v)}" for p, v in assignments).lower()
    slug = "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in slug)[:60]
    return Edit(
        env,
        tuple(assignments),
        branch or f"set/{env}-{slug}",
        f"Set {described} in {env}",
        None,
    )


def undo_command(env: str, before: dict[str, Any], assignments: Any) -> str:
    """`gitopsgen set` with the values the environment had (defaults merged) before the edit."""
    merged = merged_environments(before)[env]
    parts = []
    for path, _ in assignments:
        value: Any = merged
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return f"git revert <this commit>   # {'.'.join(path)} was not set before"
        parts.append(f"{'.'.join(path)}={scalar_text(value)}")
    return f"gitopsgen set {env} {' '.join(parts)}   # or: git revert <this commit>"


def _environment(spec: Spec, env: str) -> Any:
    return spec.require(env)


def previous_alias(root: Path, spec_rel: str, env: str) -> tuple[str, str]:
    """(alias before the environment's last promotion, that commit) from the spec's history."""
    repo = Repo.at(root)
    history = []
    for sha in repo.commits_touching(spec_rel):
        text = repo.show(sha, spec_rel)
        try:
            data = yaml.load(text or "", Loader=FastLoader)
            alias = merged_environments(data)[env]["serving"]["defaultAlias"]
        except (yaml.YAMLError, KeyError, TypeError, AttributeError):
            continue
        history.append((sha, alias))
    for (sha, alias), (_, older) in zip(history, history[1:], strict=False):
        if alias != older:
            return older, sha
    raise PromotionError(
        f"nothing to roll back: the history of {spec_rel} has no earlier defaultAlias for {env}"
    )


def rollback_edit(root: Path, spec: Spec, spec_rel: str, env: str, branch: str | None) -> Edit:
    current = _environment(spec, env).serving.default_alias
    target, sha = previous_alias(root, spec_rel, env)
    if target == current:
        raise PromotionError(f"nothing to roll back: {env} already serves {target}")
    edit = promotion_edit(spec, root, env, target, branch or f"rollback/{env}-{target}")
    return Edit(
        edit.env,
        edit.assignments,
        edit.branch,
        f"Roll back {env} to {target} ({ALIAS_COLOURS[target]}), undoing {sha[:10]}",
        f"gitopsgen rollback {env}",
    )
