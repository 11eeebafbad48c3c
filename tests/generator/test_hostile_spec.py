"""Hostile or odd YAML in the spec: each is a GG finding with file and line, never a crash."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import SPEC, Invoke, frozen_repository, without_crd_skip

SHIPPED = Path(__file__).parent / "golden" / "shipped-spec" / "spec.yaml"
SCRIPT = Path(sys.executable).parent / "gitopsgen"


@pytest.fixture
def repo(tmp_path: Path, run_cli: Invoke) -> Path:
    """A repository rendered from the frozen shipped spec (never the live one)."""
    root: Path = frozen_repository(tmp_path / "repo")
    run_cli("render", "--check", "--root", root)
    return root


def edit_spec(root: Path, old: str, new: str) -> None:
    spec = root / SPEC
    text = spec.read_text()
    assert old in text, old
    spec.write_text(text.replace(old, new, 1))


def laughs(levels: int) -> str:
    """helmValues of nested anchors: each level aliases the one before ten times."""
    lines = ["    helmValues:", '      l0: &l0 ["lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"      l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def validate_json(run_cli: Invoke, root: Path, expect: int = 1) -> list[dict[str, object]]:
    result = run_cli("validate", "--root", root, "--format", "json", expect=expect)
    assert "Traceback" not in result.output and "internal error" not in result.output
    findings: list[dict[str, object]] = without_crd_skip(json.loads(result.stdout))
    return findings


@pytest.mark.parametrize("levels", [7, 9])
def test_billion_laughs_is_refused_within_a_second(
    repo: Path, run_cli: Invoke, levels: int
) -> None:
    edit_spec(
        repo, "    metallb: {pool: prod-pool", laughs(levels) + "    metallb: {pool: prod-pool"
    )
    assert len((repo / SPEC).read_bytes()) < 3000
    started = time.monotonic()
    findings = validate_json(run_cli, repo)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, elapsed
    assert [(f["id"], f["file"], f["line"]) for f in findings if f["severity"] == "error"] == [
        ("GG010", SPEC, 38 + min(levels, 4))
    ], findings
    assert "billion laughs" in str(findings[0]["message"])


def test_billion_laughs_through_the_console_script(repo: Path) -> None:
    edit_spec(repo, "    metallb: {pool: prod-pool", laughs(9) + "    metallb: {pool: prod-pool")
    started = time.monotonic()
    done = subprocess.run(
        [str(SCRIPT), "render", "--root", str(repo)], capture_output=True, text=True, timeout=60
    )
    assert time.monotonic() - started < 5  # a process start included
    assert done.returncode == 1, done.stderr
    assert f"{SPEC}:42:" in done.stderr and "[GG010]" in done.stderr


def test_a_few_anchors_still_work(repo: Path, run_cli: Invoke) -> None:
    """Anchors reused across environments render in full; rendered files carry no anchors."""
    edit_spec(repo, "  syncPolicy: {automated", "  syncPolicy: &sync {automated")
    limits = "    helmValues:\n      resources: &res {limits: {cpu: '1', memory: 1Gi}}\n"
    edit_spec(repo, "    namespace: fastapi-dev\n", f"    namespace: fastapi-dev\n{limits}")
    edit_spec(
        repo,
        "    namespace: fastapi-prod\n",
        "    namespace: fastapi-prod\n    syncPolicy: *sync\n"
        "    helmValues: {resources: *res, nodeSelector: &sel {disk: ssd}, tolerations: []}\n",
    )
    run_cli("render", "--root", repo)
    prod_values = (repo / "apps/fastapi/values/prod.yaml").read_text()
    assert "&" not in prod_values and "*" not in prod_values
    assert "memory: 1Gi" in prod_values and "disk: ssd" in prod_values
    assert validate_json(run_cli, repo, expect=0) == []


# (id, old text, new text, finding id, line, words in the message)
CRASHES = [
    (
        "complex-key",
        "  replicas: 2\n",
        "  replicas: 2\n  ? [a, b]\n  : 1\n",
        "GG001",
        13,
        "a key that is a list or a mapping",
    ),
    (
        "python-tag",
        "  replicas: 2",
        "  replicas: !!python/object:os.system {}",
        "GG001",
        12,
        "the tag '!!python/object:os.system' is not allowed",
    ),
    (
        "missing-repository",
        '  image: {repository: docker.io/example-org/model-api, tag: "1.0.0"}',
        '  image: {tag: "1.0.0"}',
        "GG004",
        10,
        "'repository' is required: set it in app.image (or as image.repository in dev, prod)",
    ),
    (
        "recursive-alias",
        "  replicas: 2\n",
        "  replicas: 2\n  helmValues: &loop {a: [*loop]}\n",
        "GG010",
        13,
        "refers to a block containing it",
    ),
    (
        "deep-nesting",
        "  replicas: 2\n",
        "  replicas: 2\n  helmValues: {a: " + "[" * 5000 + "]" * 5000 + "}\n",
        "GG010",
        1,
        "nest deeper than 100 levels",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "finding", "line", "words"),
    [c[1:] for c in CRASHES],
    ids=[c[0] for c in CRASHES],
)
def test_odd_yaml_is_a_finding_with_its_line(
    repo: Path, run_cli: Invoke, old: str, new: str, finding: str, line: int, words: str
) -> None:
    edit_spec(repo, old, new)
    errors = [f for f in validate_json(run_cli, repo) if f["severity"] == "error"]
    assert [(f["id"], f["file"], f["line"]) for f in errors] == [(finding, SPEC, line)], errors
    assert words in str(errors[0]["message"])
    result = run_cli("render", "--root", repo, expect=1)
    assert f"{SPEC}:{line}:" in result.stderr and f"[{finding}]" in result.stderr


def test_odd_yaml_through_the_console_script(repo: Path) -> None:
    edit_spec(
        repo,
        '  image: {repository: docker.io/example-org/model-api, tag: "1.0.0"}',
        '  image: {tag: "1.0.0"}',
    )
    done = subprocess.run(
        [str(SCRIPT), "validate", "--root", str(repo)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    assert f"{SPEC}:10:" in done.stdout and "[GG004] app.image.repository" in done.stdout
    assert "internal error" not in done.stdout + done.stderr


def test_a_value_holding_the_old_preview_marker_is_plain_data(repo: Path, run_cli: Invoke) -> None:
    revision = "main@@gitopsgen-leaf-0@@x"
    edit_spec(repo, "targetRevision: main}", f'targetRevision: "{revision}"}}')
    run_cli("render", "--root", repo)
    assert validate_json(run_cli, repo, expect=0) == []
    done = subprocess.run(
        [str(SCRIPT), "preview", "prod", "--root", str(repo)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"targetRevision: {revision}" in done.stdout, done.stdout


def test_go_template_strings_stay_apart_whatever_they_print() -> None:
    from gitopsgen.validate.preview import render_go_templates

    templates = [["{{ .a }}", "b ", '{{ printf "@@gitopsgen-leaf-%d@@" 0 }}', ""], ["{{ .a }}"]]
    elements = [{"a": "@@gitopsgen-leaf-1@@"}, {"a": "plain"}]
    assert render_go_templates(templates, elements) == [
        ["@@gitopsgen-leaf-1@@", "b ", "@@gitopsgen-leaf-0@@", ""],
        ["plain"],
    ]
