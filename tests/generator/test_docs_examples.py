"""Every example output in the docs is what the tool prints, and every spec the docs show is
one the tool accepts.

Each `<!-- example: ID -->` block (tests/docs_support.py) has a producer here that runs the
command on the frozen spec (a real git repository with a bare origin where the command makes a
branch) and returns what it printed; the test compares the two byte for byte. After an intended
change of the output, `make golden` (GITOPSGEN_UPDATE_GOLDEN=1) writes the new text into the
docs. Examples that need another module's fixtures are checked there (TESTED_ELSEWHERE)."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitopsgen.promotion.prbody import manifest_diff
from gitopsgen.render.promoter import PROMOTER_PATH
from gitopsgen.render.registry import render_all
from gitopsgen.spec.load import parse_spec
from gitopsgen.spec.model import Spec
from gitopsgen.validate.checked_render import render_repository
from tests.docs_support import UNMARKED_LANGUAGES, Block, all_blocks, examples, replace_example
from tests.support import (
    FROZEN_SPEC_TEXT,
    REPO,
    SPEC,
    Invoke,
    frozen_repository,
    git,
    git_repository,
    golden_repository,
)

UPDATE = os.environ.get("GITOPSGEN_UPDATE_GOLDEN") == "1"
TESTED_ELSEWHERE = {
    "verify-disagree": "tests/generator/test_verify.py",
    "drift-text": "tests/serving/test_drift.py",
    **dict.fromkeys(
        (
            f"services-{n}"
            for n in (
                "spec",
                "render",
                "values",
                "preview",
                "not-deployed",
                "promote",
                "several",
                "unknown",
            )
        ),
        "tests/generator/test_docs_services.py",
    ),
    "helm-values-fragment": "tests/generator/test_docs_pages.py",
    "helm-values-refused": "tests/generator/test_docs_pages.py",
    **dict.fromkeys(
        ("own-init", "own-render", "own-validate", "own-upgrade-check"),
        "tests/generator/test_own_repository_doc.py",
    ),
}


@dataclass
class Workspace:
    """What a producer may use: a folder of its own, the CLI in-process, and (asked for only
    by the producers that make a branch) a git clone of the frozen spec with a bare origin."""

    tmp_path: Path
    run_cli: Invoke
    request: pytest.FixtureRequest

    def repository(self, *edits: tuple[str, str]) -> Path:
        """The frozen repository, its spec edited by exact replacements (each must apply)."""
        root = frozen_repository(self.tmp_path / "repo")
        spec = root / SPEC
        text = spec.read_text()
        for old, new in edits:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        spec.write_text(text)
        return root

    def clone(self) -> Path:
        root: Path = self.request.getfixturevalue("clone")
        return root

    def origin(self) -> Path:
        bare: Path = self.request.getfixturevalue("origin")
        return bare

    def merged(self, root: Path, *args: str) -> None:
        """Run a branch-making command and merge its branch, as a reviewer would."""
        result = self.run_cli(*args, "--root", root)
        line = next(ln for ln in result.stderr.splitlines() if ln.startswith("created branch"))
        git(root, "merge", "--quiet", "--ff-only", line.split()[2])


DEV_SERVING = "    serving: {defaultAlias: B, canaryPercent: 20}\n"
PROD_SERVING = "    serving: {defaultAlias: B}   # green is live\n"


def spec_error(ws: Workspace) -> str:
    root = ws.repository((DEV_SERVING, DEV_SERVING.replace("20}", "150}")))
    return ws.run_cli("render", "--root", root, expect=1).stderr


def prod_values(ws: Workspace) -> str:
    root = ws.repository()
    return render_repository(root / SPEC, root).files["apps/fastapi/values/prod.yaml"]


def _validate(ws: Workspace, output_format: str) -> str:
    root = ws.repository(
        (DEV_SERVING, DEV_SERVING + "    image: {tag: latest}\n"),
        ("whitelist: [10.10.0.0/16]", "whitelist: [10.10.0.0/16, 0.0.0.0/0]"),
    )
    return ws.run_cli("validate", "--format", output_format, "--root", root, expect=1).stdout


def promote_diff(ws: Workspace) -> str:
    """The promotion's commit as `git diff` shows it, without the lines a reader skips."""
    root = ws.clone()
    ws.run_cli("promote", "prod", "--to", "blue", "--root", root)
    diff = git(root, "diff", "-U0", "main", "promote/prod-A")
    kept = [
        line
        for line in diff.splitlines()
        if line.startswith(("--- ", "-", "+")) and not line.startswith("+++ ")
    ]
    return "\n".join(kept) + "\n"


def _promote_from_canary(ws: Workspace) -> tuple[str, str]:
    root = ws.clone()
    ws.merged(root, "set", "prod", "serving.mode=canary")
    result = ws.run_cli("promote", "prod", "--to", "green", "--root", root)
    return result.stdout, result.stderr


def promote_from_canary_note(ws: Workspace) -> str:
    _, stderr = _promote_from_canary(ws)
    return "".join(ln for ln in stderr.splitlines(keepends=True) if ln.startswith("note: "))


def set_canary_pr_body(ws: Workspace) -> str:
    args = ("set", "prod", "serving.mode=canary", "serving.canaryPercent=25")
    return ws.run_cli(*args, "--root", ws.clone()).stdout


def object_diff(ws: Workspace) -> str:
    """The objects of the PR body's "What Kubernetes will see", without its heading and intro."""
    whitelist = "ingress.whitelist=[10.10.0.0/16, 10.20.0.0/16]"
    args = ("set", "prod", "replicas=3", whitelist, "syncPolicy.selfHeal=false")
    body = ws.run_cli(*args, "--root", ws.clone()).stdout
    section = body.split("### What Kubernetes will see\n", 1)[1].split("\n### ", 1)[0]
    start = section.index("**prod**")
    return section[start:].rstrip("\n") + "\n"


def bluegreen_promote_pr_body(ws: Workspace) -> str:
    root = git_repository(golden_repository(ws.tmp_path / "bg", "blue-green"), ws.origin())
    return ws.run_cli("promote", "prod", "--to", "green", "--root", root).stdout


def import_layers(_: Workspace) -> str:
    """The layers contract of pyproject.toml, top to bottom, as contributing.md shows it."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    return " > ".join(layers) + "\n"


def render_after_edit(ws: Workspace) -> str:
    root = ws.repository((PROD_SERVING, PROD_SERVING + "    replicas: 3\n"))
    return ws.run_cli("render", "--root", root).stdout


def _hydrated_spec() -> Spec:
    text = (Path(__file__).parent / "golden/hydrated/spec.yaml").read_text()
    return parse_spec(text, "environments/environments.yaml")[0]


def promoter_objects(_: Workspace) -> str:
    return render_all(_hydrated_spec())[PROMOTER_PATH]


def hydrated_pr_link(_: Workspace) -> str:
    """The PR body's manifest-diff section for a promotion of prod, hydrated golden spec."""
    return "\n".join(manifest_diff(_hydrated_spec(), "prod")).strip("\n") + "\n"


EXAMPLES: dict[str, Callable[[Workspace], str]] = {
    "spec-error": spec_error,
    "prod-values": prod_values,
    "validate-text": lambda ws: _validate(ws, "text"),
    "validate-github": lambda ws: _validate(ws, "github"),
    "promote-diff": promote_diff,
    "promote-from-canary-note": promote_from_canary_note,
    "promote-from-canary-pr-body": lambda ws: _promote_from_canary(ws)[0],
    "set-canary-pr-body": set_canary_pr_body,
    "object-diff": object_diff,
    "render-after-edit": render_after_edit,
    "bluegreen-promote-pr-body": bluegreen_promote_pr_body,
    "import-layers": import_layers,
    "promoter-objects": promoter_objects,
    "hydrated-pr-link": hydrated_pr_link,
}


def test_every_example_in_the_docs_is_produced_by_a_test() -> None:
    shown = set(examples())
    produced = set(EXAMPLES) | set(TESTED_ELSEWHERE)
    assert shown - produced == set(), "examples in the docs that no test produces"
    assert produced - shown == set(), "producers whose example is no longer in the docs"
    for name, module in TESTED_ELSEWHERE.items():
        assert f'example("{name}")' in (REPO / module).read_text(), (name, module)


def test_every_output_shown_is_marked() -> None:
    """A block that is not a command to type is either an example the tool printed or a spec
    the tool reads: unmarked, nobody would keep it equal."""
    unmarked = [
        f"{b.where} ({b.info or 'no language'})"
        for b in all_blocks()
        if b.kind is None and b.info not in UNMARKED_LANGUAGES
    ]
    assert unmarked == [], "mark these <!-- example: ID --> or <!-- input: ... -->"


@pytest.fixture
def no_crds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The examples show a run without upstream CRDs, whatever this machine has cached."""
    monkeypatch.delenv("GITOPSGEN_CRD_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.usefixtures("no_crds")
def test_example_is_what_the_tool_prints(
    name: str, tmp_path: Path, run_cli: Invoke, request: pytest.FixtureRequest
) -> None:
    printed = EXAMPLES[name](Workspace(tmp_path, run_cli, request))
    shown = examples()[name]
    if UPDATE and printed != shown.body:
        replace_example(name, printed)
        return
    diff = "".join(
        difflib.unified_diff(
            shown.body.splitlines(keepends=True),
            printed.splitlines(keepends=True),
            f"{shown.where} (shown)",
            "printed",
        )
    )
    assert printed == shown.body, (
        f"the docs show another output than the tool prints; after an intended change run "
        f"`make golden`\n{diff}"
    )


# --- specs shown as input ---------------------------------------------------------------------


def _inputs() -> list[Block]:
    return [b for b in all_blocks() if b.kind == "input"]


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _spec_of(block: Block) -> str:
    """The spec a marked input stands for: itself, or merged into the frozen spec."""
    if block.name == "spec":
        return block.body
    fragment = yaml.safe_load(block.body)
    frozen = yaml.safe_load(FROZEN_SPEC_TEXT)
    if block.name == "spec fragment":
        return yaml.safe_dump(_deep_merge(frozen, fragment), sort_keys=False)
    kind, _, env = (block.name or "").partition(" ")
    assert kind == "environment" and env in frozen["environments"], block.where
    frozen["environments"][env] = _deep_merge(frozen["environments"][env], fragment)
    return yaml.safe_dump(frozen, sort_keys=False)


@pytest.mark.parametrize("block", _inputs(), ids=lambda b: b.where)
def test_specs_shown_in_the_docs_render_and_validate(
    block: Block, tmp_path: Path, run_cli: Invoke
) -> None:
    root = frozen_repository(tmp_path / "repo")
    (root / SPEC).write_text(_spec_of(block))
    run_cli("render", "--root", root)
    run_cli("validate", "--root", root)


def test_the_migration_fragment_renders_nothing_new(tmp_path: Path, run_cli: Invoke) -> None:
    """docs/ingress.md: declaring the platform's Gateway in `defaults` re-renders nothing while
    every environment is on nginx."""
    (block,) = [b for b in _inputs() if b.page.name == "ingress.md"]
    root = frozen_repository(tmp_path / "repo")
    (root / SPEC).write_text(_spec_of(block))
    assert "are up to date" in run_cli("render", "--check", "--root", root).stdout
