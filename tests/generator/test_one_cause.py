"""One mistake, one cause (issue 26, items 17 and 19): a typo is one error, not the 12 it
implies; an environment's schema error does not hide its policy errors; one GG011 note per
error; checks that did not run are counted as skipped, in the summary and in the PR body."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import SPEC, Invoke

DEV = "  dev:\n    cluster: {name: in-cluster, server: https://kubernetes.default.svc}\n"


def _edit(root: Path, *replacements: tuple[str, str]) -> str:
    spec = root / SPEC
    text = spec.read_text()
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    spec.write_text(text)
    return text


def _findings(run_cli: Invoke, root: Path) -> list[dict[str, object]]:
    result = run_cli("validate", "--format", "json", "--root", root, expect=1)
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


@pytest.fixture(autouse=True)
def _no_crd_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GITOPSGEN_CRD_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_a_mistyped_top_level_key_is_one_error(tmp_repo: Path, run_cli: Invoke) -> None:
    _edit(tmp_repo, ("defaults:", "defualts:"))
    found = _findings(run_cli, tmp_repo)
    errors = [(f["id"], f["line"], f["message"]) for f in found if f["severity"] == "error"]
    assert errors == [("GG003", 11, "unknown field 'defualts' (did you mean 'defaults'?)")]
    assert [f["id"] for f in found if "cause" in f] == ["GG011"]
    refused = run_cli("render", "--root", tmp_repo, expect=1)
    assert "the spec is invalid (1 problem(s))" in refused.stderr


def test_a_mistyped_key_in_an_environment_is_one_error(tmp_repo: Path, run_cli: Invoke) -> None:
    _edit(tmp_repo, ("    metallb: {pool: dev-pool", "    metalb: {pool: dev-pool"))
    errors = [f for f in _findings(run_cli, tmp_repo) if f["severity"] == "error"]
    assert [(f["id"], f["path"]) for f in errors] == [("GG003", "environments.dev.metalb")]


def test_a_far_off_key_is_not_guessed(tmp_repo: Path, run_cli: Invoke) -> None:
    """`settings` is no near spelling of `defaults`: nothing is read as meant, the missing
    fields are reported too."""
    _edit(tmp_repo, ("defaults:", "settings:"))
    errors = [f for f in _findings(run_cli, tmp_repo) if f["severity"] == "error"]
    assert errors[0]["id"] == "GG003" and len(errors) > 1


def test_a_schema_error_does_not_hide_the_environments_policy_errors(
    tmp_repo: Path, run_cli: Invoke
) -> None:
    """Before: only GG006, and after fixing it a second run found the bad CIDR and the pool
    overlapping prod's. Now all three in one run, each at its line."""
    _edit(
        tmp_repo,
        ("canaryPercent: 20}", "canaryPercent: 150}"),
        ("[10.0.0.0/8, 192.168.0.0/16]", "[10.0.0.1/8, 192.168.0.0/16]"),
        ("192.168.10.240-192.168.10.250", "10.10.100.20-10.10.100.40"),
        (
            "server: https://kubernetes.default.svc",
            "server: https://prod.k8s.example.internal:6443",
        ),
    )
    errors = [f for f in _findings(run_cli, tmp_repo) if f["severity"] == "error"]
    assert [(f["id"], f["path"]) for f in errors] == [
        ("GG006", "environments.dev.serving.canaryPercent"),
        ("GG103", "environments.dev.ingress.whitelist[0]"),
        ("GG105", "environments.dev.metallb.addresses"),
    ]


def test_a_policy_finding_on_a_refused_field_is_not_reported_twice(
    tmp_repo: Path, run_cli: Invoke
) -> None:
    """A whitelist the schema refuses (a number) is that one error, not also a GG103."""
    _edit(tmp_repo, ("[10.0.0.0/8, 192.168.0.0/16]", "[10.0.0.0/8, 42]"))
    errors = [f for f in _findings(run_cli, tmp_repo) if f["severity"] == "error"]
    assert [(f["id"], f["path"]) for f in errors] == [
        ("GG005", "environments.dev.ingress.whitelist[1]")
    ]


def test_one_note_per_error_and_the_summary_counts_each_check(
    tmp_repo: Path, run_cli: Invoke
) -> None:
    _edit(tmp_repo, ("canaryPercent: 20}", "canaryPercent: 150}"))
    result = run_cli("validate", "--root", tmp_repo, expect=1)
    notes = [ln for ln in result.stdout.splitlines() if "[GG011]" in ln]
    assert len(notes) == 1, notes  # before: one for drift, one for dev's Helm render
    assert "drift check of the rendered files (GG201-GG203); Helm render" in notes[0]
    assert "2 check(s) not run (2 because of GG006 at" in result.stdout


def test_the_summary_counts_the_crd_check_that_did_not_run(tmp_repo: Path, run_cli: Invoke) -> None:
    result = run_cli("validate", "--root", tmp_repo)
    assert "Summary: validation passed: 0 error(s), 0 warning(s), 1 skipped" in result.stdout
    assert "skipped [GG302] the upstream CRD check did not run on 6 rendered file(s)" in (
        result.stdout
    )


def test_with_crds_nothing_is_skipped(tmp_repo: Path, shared_crds: Path, run_cli: Invoke) -> None:
    result = run_cli("validate", "--root", tmp_repo, "--crd-dir", shared_crds)
    assert "Summary: validation passed: 0 error(s), 0 warning(s), 0 skipped" in result.stdout


def test_the_pr_body_counts_skips_as_skips(clone: Path, run_cli: Invoke) -> None:
    body = run_cli("promote", "prod", "--to", "A", "--root", clone).stdout
    assert "`gitopsgen validate`: passed, 0 warning(s), 1 skipped (1 GG302) (" in body


def test_a_promotion_validates_with_the_crd_cache(
    clone: Path, shared_crds: Path, run_cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITOPSGEN_CRD_DIR", str(shared_crds))
    body = run_cli("promote", "prod", "--to", "A", "--root", clone).stdout
    assert "`gitopsgen validate`: passed, 0 warning(s), 0 skipped (" in body
