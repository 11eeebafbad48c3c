"""Findings that point at the cause: consequences of an invalid spec are not reported, every
part the schema accepted is checked in the same run, and each finding is where it is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.generator.test_hostile_spec import edit_spec, validate_json
from tests.support import SPEC, Invoke, frozen_repository

SHIPPED = Path(__file__).parent / "golden" / "shipped-spec" / "spec.yaml"


@pytest.fixture
def repo(tmp_path: Path, run_cli: Invoke) -> Path:
    root: Path = frozen_repository(tmp_path / "repo")
    run_cli("render", "--check", "--root", root)
    return root


def causes(findings: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(f["id"], f["file"], f["line"]) for f in findings if "cause" not in f]


PUBLIC = ("whitelist: [10.10.0.0/16]", "whitelist: [0.0.0.0/0]")


def test_public_allow_list_is_the_only_finding(repo: Path, run_cli: Invoke) -> None:
    edit_spec(repo, *PUBLIC)
    found = validate_json(run_cli, repo)
    assert causes(found) == [("GG102", SPEC, 36)]  # no GG201 "stale, run make render"
    notes = [f for f in found if "cause" in f]
    assert {f["cause"] for f in notes} == {f"GG102 at {SPEC}:36:19"}
    assert len(notes) == 1  # one note for the error: drift, and prod's Helm render and preview


def test_summary_counts_the_checks_not_run_in_a_subprocess(repo: Path, tmp_path: Path) -> None:
    edit_spec(repo, *PUBLIC)
    done = subprocess.run(  # this checkout's code (the console script runs the installed one)
        [sys.executable, "-m", "gitopsgen", "validate", "--root", str(repo)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "GITOPSGEN_CRD_DIR": ""},
    )
    assert done.returncode == 1, done.stderr
    assert "[GG201]" not in done.stdout and "[GG102]" in done.stdout
    summary = done.stdout.strip().splitlines()[-1]
    assert summary == (
        "Summary: validation FAILED: 1 error(s), 0 warning(s), 1 skipped; "
        f"2 check(s) not run (2 because of GG102 at {SPEC}:36:19)"
    )


def test_renamed_environment_with_two_mistakes_gives_two_findings(
    repo: Path, run_cli: Invoke
) -> None:
    edit_spec(repo, "\n  prod:\n", "\n  production:\n")
    edit_spec(repo, *PUBLIC)
    edit_spec(repo, "canaryPercent: 20}", "canaryPercent: 150}")
    assert causes(validate_json(run_cli, repo)) == [("GG006", SPEC, 22), ("GG102", SPEC, 36)]


def test_renamed_environment_alone_is_drift_only(repo: Path, run_cli: Invoke) -> None:
    edit_spec(repo, "\n  prod:\n", "\n  production:\n")
    found = validate_json(run_cli, repo)
    assert {f["id"] for f in found} == {"GG201", "GG202", "GG203"}  # no GG307 for the new files


def test_five_mistakes_five_findings_in_one_run(repo: Path, run_cli: Invoke) -> None:
    edit_spec(repo, "url: https://github.com", "url: ftp://github.com")  # schema (global)
    edit_spec(repo, "namespace: argocd,", "namespace: Argo_CD,")  # schema (global)
    edit_spec(repo, 'tag: "1.0.0"', "tag: latest")  # GG111, an error in prod
    edit_spec(repo, *PUBLIC)  # GG102
    edit_spec(  # dev joins prod's cluster with an overlapping pool: GG105
        repo,
        "{name: in-cluster, server: https://kubernetes.default.svc}",
        "{name: prod, server: https://prod.k8s.example.internal:6443}",
    )
    edit_spec(repo, "192.168.10.240-192.168.10.250", "10.10.100.20-10.10.100.40")
    found = validate_json(run_cli, repo)
    errors = [(f["id"], f["line"], f["path"]) for f in found if f["severity"] == "error"]
    assert sorted(errors) == [
        ("GG008", 6, "repo.url"),
        ("GG008", 7, "argocd.namespace"),
        ("GG102", 36, "environments.prod.ingress.whitelist[0]"),
        ("GG105", 37, "environments.prod.metallb.addresses"),
        ("GG111", 10, "environments.prod.image.tag"),
    ], errors
    warnings = [(f["id"], f["line"], f["path"]) for f in found if f["severity"] == "warning"]
    assert warnings == [("GG111", 10, "environments.dev.image.tag")]


def test_render_reports_schema_and_policy_errors_at_once(repo: Path, run_cli: Invoke) -> None:
    edit_spec(repo, "canaryPercent: 20}", "canaryPercent: 150}")
    edit_spec(repo, *PUBLIC)
    result = run_cli("render", "--root", repo, expect=1)
    assert "[GG006]" in result.stderr and "[GG102]" in result.stderr
    assert "2 problem(s)" in result.stderr


def test_empty_production_allow_list_is_gg101_alone(repo: Path, run_cli: Invoke) -> None:
    edit_spec(repo, "whitelist: [10.10.0.0/16]", "whitelist: []")
    found = validate_json(run_cli, repo)
    assert causes(found) == [("GG101", SPEC, 36)]  # no GG303 values-schema regex dump
    assert not any("pattern" in str(f["message"]) for f in found)


def test_latest_tag_is_reported_where_it_is_written(repo: Path, run_cli: Invoke) -> None:
    text = (
        (repo / SPEC)
        .read_text()
        .replace(
            '  image: {repository: docker.io/example-org/model-api, tag: "1.0.0"}',
            "  image:\n    repository: docker.io/example-org/model-api\n    tag: latest",
        )
    )
    (repo / SPEC).write_text(text)
    found = validate_json(run_cli, repo)
    tags = [(f["severity"], f["line"], f["column"]) for f in found if f["id"] == "GG111"]
    assert sorted(tags) == [("error", 12, 10), ("warning", 12, 10)]


def test_unknown_field_points_at_its_key(repo: Path, run_cli: Invoke) -> None:
    edit_spec(repo, "    namespace: fastapi-prod", "    namespce: fastapi-prod")
    found = validate_json(run_cli, repo)
    unknown = [f for f in found if f["id"] == "GG003"]
    assert [(f["line"], f["column"]) for f in unknown] == [(30, 5)]


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        (
            "    namespace: fastapi-prod",
            "\tnamespace: fastapi-prod",
            30,
            "a tab character: YAML indents with spaces only",
        ),
        (
            "    namespace: fastapi-prod",
            "      namespace: fastapi-prod",
            30,
            "this line is indented by 6 space(s)",
        ),
        (
            "whitelist: [10.10.0.0/16]",
            "whitelist: [10.10.0.0/16",
            37,
            "the list opened at line 36, column 18 is not closed",
        ),
    ],
    ids=["tab", "indent", "unclosed-bracket"],
)
def test_yaml_syntax_errors_say_what_is_wrong(
    repo: Path, run_cli: Invoke, old: str, new: str, line: int, words: str
) -> None:
    edit_spec(repo, old, new)
    found = validate_json(run_cli, repo)
    assert causes(found) == [("GG001", SPEC, line)]
    assert words in str(found[0]["message"]), found[0]["message"]
    assert "README" not in str(found[0]["hint"])
    assert "while scanning" not in json.dumps(found)


def test_helm_release_is_named_after_app_name(repo: Path, run_cli: Invoke) -> None:
    edit_spec(repo, "  name: fastapi\n", "  name: model-api\n")
    edit_spec(
        repo,
        "  secrets: {name: fastapi-secrets}",
        "  secrets: {name: fastapi-secrets}\n  helmValues:\n    podSecurityContext: {runAsUser: root}",
    )
    run_cli("render", "--root", repo)
    found = validate_json(run_cli, repo)
    resources = {str(f["message"]).split(":")[0] for f in found if f["id"] == "GG304"}
    assert resources == {"Deployment/model-api-fastapi"}, found  # the chart's fullname
