"""`gitopsgen hydrate` on real git repositories with a bare origin: the branch layout and every
metadata field against the Argo CD commit server / GitOps Promoter contract, idempotence, the
note, stale files, `--check`, refusals and the all-or-nothing move of the branches."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from gitopsgen.git import Repo
from gitopsgen.hydrate import plumbing, run
from gitopsgen.hydrate.manifests import ManifestSource
from gitopsgen.validate.checked_render import render_repository
from tests.support import SPEC, Invoke, git, state

DEV = "environment/dev-next"
PROD = "environment/prod-next"
NOTES = "refs/notes/hydrator.metadata"
FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


def show(root: Path, rev: str, path: str) -> str:
    """The blob as stored (the `git` helper strips the final newline)."""
    text = Repo(root).show(rev, path)
    assert text is not None, f"{rev}:{path} is missing"
    return text


def note(root: Path, rev: str) -> dict[str, str]:
    data: dict[str, str] = json.loads(git(root, "notes", "--ref=hydrator.metadata", "show", rev))
    return data


def edit_spec(root: Path, run_cli: Invoke, old: str, new: str, message: str) -> str:
    spec = root / SPEC
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new, 1))
    run_cli("render", "--root", root)
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", message)
    return git(root, "rev-parse", "HEAD")


def test_layout_and_every_metadata_field(clone: Path, run_cli: Invoke, origin: Path) -> None:
    before = state(clone)
    out = run_cli("hydrate", "--root", clone, "--push").stdout
    dry = git(clone, "rev-parse", "HEAD")
    assert f"{DEV}: commit" in out and f"{PROD}: commit" in out
    after = state(clone)
    # the worktree, index, HEAD and files are untouched; only the new branches are listed
    assert (after[0], *after[2:]) == (before[0], *before[2:])
    assert after[1].split() == ["environment/dev-next", "environment/prod-next", "*", "main"]
    files = git(clone, "ls-tree", "-r", "--name-only", DEV).splitlines()
    assert sorted(files) == sorted(
        [
            ".gitattributes",
            "hydrator.metadata",
            *(
                f"{app}/{name}"
                for app in ("fastapi", "metallb")
                for name in ("README.md", "hydrator.metadata", "manifest.yaml")
            ),
        ]
    )
    root_text = show(clone, DEV, "hydrator.metadata")
    meta = json.loads(root_text)
    assert root_text == json.dumps(meta, indent=2, ensure_ascii=False) + "\n"  # 2-space, newline
    assert list(meta) == ["repoURL", "drySha", "author", "date", "subject"]
    assert FULL_SHA.match(meta["drySha"]) and meta["drySha"] == dry
    assert meta["repoURL"] == "https://github.com/example-org/mlops-gitops.git"
    assert meta["author"] == "Test Engineer <test@example.org>"
    assert datetime.fromisoformat(meta["date"]).tzinfo is not None
    assert "T" in meta["date"] and meta["subject"] == "initial"
    app_meta = json.loads(show(clone, DEV, "fastapi/hydrator.metadata"))
    assert list(app_meta) == ["repoURL", "drySha", "commands"] and app_meta["drySha"] == dry
    assert any("--values apps/fastapi/values/dev.yaml" in c for c in app_meta["commands"])
    readme = show(clone, DEV, "fastapi/README.md")
    assert f"git checkout {dry}" in readme and app_meta["commands"][-1] in readme
    assert show(clone, DEV, ".gitattributes").splitlines() == [
        "**/README.md linguist-generated=true",
        "**/hydrator.metadata linguist-generated=true",
    ]
    docs = list(yaml.safe_load_all(show(clone, DEV, "fastapi/manifest.yaml")))
    kinds = [d["kind"] for d in docs]
    assert "Deployment" in kinds and kinds == sorted(kinds)
    assert [
        d["metadata"]["name"] for d in yaml.safe_load_all(show(clone, DEV, "metallb/manifest.yaml"))
    ] == ["dev-pool", "dev-pool-l2"]
    assert note(clone, DEV) == {"drySha": dry}
    assert git(clone, "notes", "--ref=hydrator.metadata", "show", DEV) == f'{{"drySha":"{dry}"}}'
    remote = git(clone, "ls-remote", str(origin))
    for ref in (f"refs/heads/{DEV}", f"refs/heads/{PROD}", NOTES):
        assert ref in remote


def test_second_run_commits_nothing_and_only_the_note_moves(clone: Path, run_cli: Invoke) -> None:
    run_cli("hydrate", "--root", clone)
    first = git(clone, "rev-parse", DEV)
    notes_before = git(clone, "rev-parse", NOTES)
    out = run_cli("hydrate", "--root", clone).stdout
    assert "unchanged" in out and git(clone, "rev-parse", DEV) == first
    assert git(clone, "rev-parse", NOTES) == notes_before  # same drySha: not even the note
    (clone / "NOTES.txt").write_text("not part of the spec\n")
    git(clone, "add", "NOTES.txt")
    git(clone, "commit", "--quiet", "-m", "docs only")
    dry = git(clone, "rev-parse", "HEAD")
    run_cli("hydrate", "--root", clone)
    assert git(clone, "rev-parse", DEV) == first  # no commit: no manifest changed
    assert git(clone, "rev-parse", NOTES) != notes_before
    assert note(clone, DEV) == {"drySha": dry} and note(clone, PROD) == {"drySha": dry}
    assert json.loads(show(clone, DEV, "hydrator.metadata"))["drySha"] != dry
    run_cli("hydrate", "--root", clone, "--check")


def test_a_spec_change_commits_the_changed_environment_only(clone: Path, run_cli: Invoke) -> None:
    run_cli("hydrate", "--root", clone)
    prod = git(clone, "rev-parse", PROD)
    dev = git(clone, "rev-parse", DEV)
    old_metallb_meta = show(clone, DEV, "metallb/hydrator.metadata")
    dry = edit_spec(
        clone,
        run_cli,
        "    namespace: fastapi-dev\n",
        "    namespace: fastapi-dev\n    replicas: 3\n",
        "dev: 3 replicas\n\nscale for the load test",
    )
    result = run_cli("hydrate", "--root", clone, "--check", expect=1)
    assert f"{DEV}: fastapi/manifest.yaml is behind the spec at {dry[:12]}" in result.stdout
    assert f"{PROD}: its hydrator note does not name {dry[:12]}" in result.stdout
    run_cli("hydrate", "--root", clone)
    assert git(clone, "rev-parse", PROD) == prod
    assert git(clone, "rev-parse", f"{DEV}~1") == dev
    changed = git(clone, "diff", "--name-only", dev, DEV).splitlines()
    assert changed == [
        "fastapi/README.md",
        "fastapi/hydrator.metadata",
        "fastapi/manifest.yaml",
        "hydrator.metadata",
    ]
    assert show(clone, DEV, "metallb/hydrator.metadata") == old_metallb_meta
    meta = json.loads(show(clone, DEV, "hydrator.metadata"))
    assert meta["subject"] == "dev: 3 replicas" and meta["body"] == "scale for the load test\n"
    deployment = next(
        d
        for d in yaml.safe_load_all(show(clone, DEV, "fastapi/manifest.yaml"))
        if d["kind"] == "Deployment"
    )
    assert deployment["spec"]["replicas"] == 3


def test_reference_trailers_become_references(clone: Path, run_cli: Invoke) -> None:
    sha = "b82add298aa045d3672880802d5305c5a8aaa46e"
    message = (
        "bump image\n\nWhy it moved.\n\n"
        "Argocd-reference-commit-author: Ada Lovelace <ada@example.org>\n"
        f"Argocd-reference-commit-sha: {sha}\n"
        "Argocd-reference-commit-subject: feat: faster model\n"
        'Argocd-reference-commit-body: "line one\\n\\nline two"\n'
        "Argocd-reference-commit-repourl: https://git.example.org/org/app\n"
        "Argocd-reference-commit-date: 2025-06-09T13:50:18-04:00\n"
    )
    git(clone, "commit", "--quiet", "--allow-empty", "-m", message)
    run_cli("hydrate", "--root", clone)
    meta = json.loads(show(clone, DEV, "hydrator.metadata"))
    assert meta["references"] == [
        {
            "commit": {
                "author": "Ada Lovelace <ada@example.org>",
                "date": "2025-06-09T13:50:18-04:00",
                "subject": "feat: faster model",
                "body": "line one\n\nline two",
                "sha": sha,
                "repoURL": "https://git.example.org/org/app",
            }
        }
    ]
    assert "Argocd-reference" not in meta["body"] and meta["body"].startswith("Why it moved.")


def test_a_short_reference_sha_is_refused_before_any_write(clone: Path, run_cli: Invoke) -> None:
    git(
        clone,
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        "bump\n\nArgocd-reference-commit-sha: b82add2\n",
    )
    result = run_cli("hydrate", "--root", clone, expect=1)
    assert "not a full commit SHA" in result.stderr and "b82add2" in result.stderr
    assert git(clone, "branch", "--list", "environment/*") == ""


def test_uncommitted_spec_is_refused(clone: Path, run_cli: Invoke) -> None:
    spec = clone / SPEC
    spec.write_text(spec.read_text() + "# edited\n")
    before = state(clone)
    result = run_cli("hydrate", "--root", clone, expect=1)
    assert "uncommitted changes" in result.stderr and SPEC in result.stderr
    assert state(clone) == before and "Traceback" not in result.output


def test_an_ssh_repo_url_is_an_error_at_its_line(clone: Path, run_cli: Invoke) -> None:
    edit_spec(
        clone,
        run_cli,
        "url: https://github.com/example-org/mlops-gitops.git",
        "url: git@github.com:example-org/mlops-gitops.git",
        "ssh url",
    )
    line = next(
        i
        for i, text in enumerate((clone / SPEC).read_text().splitlines(), 1)
        if "git@github.com" in text
    )
    result = run_cli("hydrate", "--root", clone, expect=1)
    assert f"{SPEC}:{line}: repo.url 'git@github.com" in result.stderr
    assert git(clone, "branch", "--list", "environment/*") == ""


def test_check_names_hand_edits_and_stray_files_and_hydrate_removes_strays_only_in_its_folders(
    clone: Path, run_cli: Invoke, tmp_path: Path
) -> None:
    run_cli("hydrate", "--root", clone)
    run_cli("hydrate", "--root", clone, "--check")
    work = tmp_path / "hand"
    git(clone, "worktree", "add", "--quiet", str(work), DEV)
    (work / "fastapi" / "manifest.yaml").write_text("kind: ConfigMap\n")
    (work / "fastapi" / "extra.yaml").write_text("kind: Secret\n")
    (work / "ci").mkdir()
    (work / "ci" / "pipeline.yaml").write_text("steps: []\n")
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "-m", "hand edit")
    result = run_cli("hydrate", "--root", clone, "--check", expect=1)
    assert f"{DEV}: fastapi/manifest.yaml was edited by hand" in result.stdout
    assert f"{DEV}: fastapi/extra.yaml was edited by hand" in result.stdout
    assert "ci/pipeline.yaml" not in result.stdout  # not gitopsgen's folder
    git(clone, "worktree", "remove", "--force", str(work))
    run_cli("hydrate", "--root", clone)
    files = git(clone, "ls-tree", "-r", "--name-only", DEV).splitlines()
    assert "fastapi/extra.yaml" not in files and "ci/pipeline.yaml" in files
    assert show(clone, DEV, "ci/pipeline.yaml") == "steps: []\n"
    run_cli("hydrate", "--root", clone, "--check")


def test_check_on_a_missing_branch_fails(clone: Path, run_cli: Invoke) -> None:
    result = run_cli("hydrate", "dev", "--root", clone, "--check", expect=1)
    assert f"{DEV}: missing" in result.stdout and PROD not in result.stdout


def test_a_branch_moved_meanwhile_leaves_every_branch_as_it_was(
    clone: Path, run_cli: Invoke
) -> None:
    """All or nothing: plan both environments, move one branch behind hydrate's back, apply."""
    run_cli("hydrate", "--root", clone)
    edit_spec(clone, run_cli, "  replicas: 2\n", "  replicas: 4\n", "all: 4 replicas")
    repo = Repo.at(clone)
    result = render_repository(clone / SPEC, clone)
    dry = run.dry_commit(repo, [SPEC])
    plans = run.plan(
        repo,
        result.spec,
        ManifestSource(clone, result.spec, result.files),
        dry,
        ("dev", "prod"),
        None,
    )
    other = git(clone, "commit-tree", f"{PROD}^{{tree}}", "-p", PROD, "-m", "someone else")
    git(clone, "update-ref", f"refs/heads/{PROD}", other)
    refs = {ref: git(clone, "rev-parse", ref) for ref in (DEV, PROD, NOTES)}
    with pytest.raises(Exception, match="another process moved a branch"):
        run.apply(repo, plans, dry)
    assert {ref: git(clone, "rev-parse", ref) for ref in refs} == refs
    assert plumbing.resolve(repo, "refs/notes/gitopsgen-hydrate-0") is None


def test_shared_branch_mode_touches_no_sibling_path(clone: Path, run_cli: Invoke) -> None:
    """activePaths: one proposed branch per Application, `<active>-next/<path>`, built on the
    active branch with every other folder kept; the metadata GitOps Promoter reads at
    `<activePath>/hydrator.metadata`; nothing written at the root."""
    edit_spec(
        clone,
        run_cli,
        "kind: Environments\n",
        "kind: Environments\ndelivery: {mode: hydrated, activePaths: true}\n",
        "shared",
    )
    sibling = Repo(clone).out("hash-object", "-w", "--stdin", stdin="kind: Other\n")
    tree = Repo(clone).out("mktree", stdin=f"100644 blob {sibling}\tmanifest.yaml\n")
    top = Repo(clone).out("mktree", stdin=f"040000 tree {tree}\tpayments\n")
    active = git(clone, "commit-tree", top, "-m", "another team's app")
    git(clone, "update-ref", "refs/heads/environment/dev", active)
    run_cli("hydrate", "dev", "--root", clone)
    dry = git(clone, "rev-parse", "HEAD")
    branch = f"{DEV}/fastapi"
    assert git(clone, "rev-parse", f"{branch}~1") == active
    files = git(clone, "ls-tree", "-r", "--name-only", branch).splitlines()
    assert sorted(files) == [
        "fastapi/.gitattributes",
        "fastapi/README.md",
        "fastapi/hydrator.metadata",
        "fastapi/manifest.yaml",
        "payments/manifest.yaml",
    ]
    assert git(clone, "diff", "--name-only", active, branch, "--", "payments") == ""
    assert git(clone, "rev-parse", f"{branch}:payments") == tree
    meta = json.loads(show(clone, branch, "fastapi/hydrator.metadata"))
    assert meta["drySha"] == dry and list(meta)[:3] == ["repoURL", "drySha", "commands"]
    assert meta["subject"] == "shared" and "author" in meta and "date" in meta
    assert "metallb" not in files
    assert git(clone, "ls-tree", "-r", "--name-only", f"{DEV}/metallb").splitlines()[-1] == (
        "payments/manifest.yaml"
    )
    assert note(clone, branch) == {"drySha": dry}
    run_cli("hydrate", "dev", "--root", clone, "--check")


def test_hydrated_mode_applicationsets_validate_and_preview(
    tmp_repo: Path, run_cli: Invoke, shared_crds: Path
) -> None:
    """delivery hydrated: each Application syncs its folder of its active environment branch as
    a plain directory; the rendered ApplicationSets pass the strict schemas and the upstream
    CRDs, and preview expands them."""
    spec = tmp_repo / SPEC
    spec.write_text(
        spec.read_text().replace(
            "kind: Environments\n", "kind: Environments\ndelivery: {mode: hydrated}\n", 1
        )
    )
    run_cli("render", "--root", tmp_repo)
    run_cli("validate", "--root", tmp_repo, "--crd-dir", shared_crds)
    apps = list(yaml.safe_load_all(run_cli("preview", "prod", "--root", tmp_repo).stdout))
    sources = {a["metadata"]["name"]: a["spec"]["source"] for a in apps}
    assert sources["fastapi-prod"] == {
        "repoURL": "https://github.com/example-org/mlops-gitops.git",
        "targetRevision": "environment/prod",
        "path": "fastapi",
        "directory": {"recurse": False},
    }
    assert sources["mlops-serving-metallb-prod"]["targetRevision"] == "environment/prod"
    assert sources["mlops-serving-metallb-prod"]["path"] == "metallb"
    assert all(a["metadata"]["labels"]["gitopsgen.io/delivery"] == "hydrated" for a in apps)


def test_hydrated_mode_refuses_an_ssh_url_at_its_line(tmp_repo: Path, run_cli: Invoke) -> None:
    spec = tmp_repo / SPEC
    text = spec.read_text().replace(
        "kind: Environments\n", "kind: Environments\ndelivery: {mode: hydrated}\n", 1
    )
    spec.write_text(
        text.replace(
            "https://github.com/example-org/mlops-gitops.git",
            "ssh://git@github.com/example-org/mlops-gitops.git",
        )
    )
    line = next(i for i, t in enumerate(spec.read_text().splitlines(), 1) if "ssh://" in t)
    result = run_cli("render", "--root", tmp_repo, expect=1)
    assert f"{SPEC}:{line}" in result.output and "repo.url" in result.output
    assert "GG008" in result.output or "does not match" in result.output
