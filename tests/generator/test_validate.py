"""`gitopsgen validate`: every stage catches its kind of breakage with file, line, id and exit code,
and nothing on disk changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitopsgen.validate.crds import load_crd_dirs, prepare_document, prune_nulls
from gitopsgen.validate.documents import _crd_validator
from tests.support import SPEC, Invoke, snapshot, without_crd_skip

EXAMPLES = Path(__file__).parent / "examples"
# file -> (finding id, line, path fragment) expected with the upstream CRDs
INVALID = {
    "applicationset-wrong-type.yaml": [
        ("GG301", 7, "spec.goTemplate"),
        ("GG302", 7, "spec.goTemplate"),
    ],
    "applicationset-invented-generator.yaml": [
        ("GG301", 8, "spec.generators[0].lists"),
        ("GG302", 8, "spec.generators[0].lists"),
    ],
    "ipaddresspool-bad-range.yaml": [("GG104", 9, "spec.addresses[1]")],
    "l2-unknown-pool.yaml": [("GG108", 7, "spec.ipAddressPools[0]")],
    "deployment-unknown-field.yaml": [("GG304", 14, "readinessprobe")],
    "ipaddresspool-no-addresses.yaml": [("GG120", 8, "spec.addresses")],
    "application-without-source.yaml": [("GG121", 7, "spec"), ("GG122", 9, "spec.destination")],
}


def findings_json(run_cli: Invoke, *args: str | Path, expect: int) -> list[dict[str, Any]]:
    result = run_cli("validate", "--format", "json", *args, expect=expect)
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return without_crd_skip(data)


def test_repository_validates_clean_with_upstream_crds(
    repo_root: Path, shared_crds: Path, run_cli: Invoke
) -> None:
    found = findings_json(run_cli, "--root", repo_root, "--crd-dir", shared_crds, expect=0)
    assert [f for f in found if f["severity"] == "error"] == []


def test_repository_validates_clean_without_crds(
    repo_root: Path, run_cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("GITOPSGEN_CRD_DIR", raising=False)
    result = run_cli("validate", "--root", repo_root, expect=0)
    # the CRD check that did not run is a skip, counted (issue 26, item 17); whatever kinds the
    # live spec's environments use (issue 26, item 16: no count of the live spec's files)
    assert "Summary: validation passed: 0 error(s)" in result.stdout
    assert "skipped [GG302] the upstream CRD check did not run" in result.stdout
    # what did not run is said, with how to get it
    assert "the upstream CRD check (GG302) did not run" in result.stderr
    assert "gitopsgen schemas fetch" in result.stderr


def test_with_crds_nothing_is_said_about_skipping_them(
    repo_root: Path, shared_crds: Path, run_cli: Invoke
) -> None:
    result = run_cli("validate", "--root", repo_root, "--crd-dir", shared_crds, expect=0)
    assert "did not run" not in result.stderr


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_example_is_caught(
    name: str, repo_root: Path, shared_crds: Path, run_cli: Invoke
) -> None:
    found = findings_json(
        run_cli,
        "--root",
        repo_root,
        "--crd-dir",
        shared_crds,
        EXAMPLES / "invalid" / name,
        expect=1,
    )
    got = {(f["id"], f["line"]) for f in found}
    for finding_id, line, fragment in INVALID[name]:
        assert (finding_id, line) in got, found
        assert any(fragment in str(f["path"]) and f["id"] == finding_id for f in found), found
    assert all(f["file"] == f"tests/generator/examples/invalid/{name}" for f in found)


@pytest.mark.parametrize("name", sorted(p.name for p in (EXAMPLES / "valid").iterdir()))
def test_valid_example_passes(
    name: str, repo_root: Path, shared_crds: Path, run_cli: Invoke
) -> None:
    found = findings_json(
        run_cli, "--root", repo_root, "--crd-dir", shared_crds, EXAMPLES / "valid" / name, expect=0
    )
    assert found == []


def test_gateway_is_only_valid_after_crd_defaults(shared_crds: Path) -> None:
    import yaml

    crd = load_crd_dirs([shared_crds])[("gateway.networking.k8s.io/v1", "Gateway")]
    doc = yaml.safe_load((EXAMPLES / "valid/gateway-defaults.yaml").read_text())
    raw = prune_nulls({k: v for k, v in doc.items() if k != "status"})
    errors = list(_crd_validator(crd).iter_errors(raw))  # plain JSON Schema: the oneOf fails
    assert [e.validator for e in errors] == ["oneOf"]
    assert _crd_validator(crd).is_valid(prepare_document(doc, crd))


def test_unknown_kind_is_skipped_never_passed(
    tmp_path: Path, repo_root: Path, run_cli: Invoke
) -> None:
    extra = tmp_path / "custom.yaml"
    extra.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")
    found = findings_json(run_cli, "--root", repo_root, extra, expect=0)
    found = [f for f in found if Path(f["file"]).name == extra.name]  # not the live spec's
    assert [(f["id"], f["severity"]) for f in found] == [("GG305", "skipped")]
    text = run_cli("validate", "--root", repo_root, extra, expect=0).stdout
    assert "1 skipped" in text or "2 skipped" in text  # and the CRD check, without CRDs


def test_spec_error_reported_by_validate(tmp_repo: Path, run_cli: Invoke) -> None:
    spec = tmp_repo / SPEC
    spec.write_text(spec.read_text().replace("canaryPercent: 20}", "canaryPercent: 150}"))
    before = snapshot(tmp_repo)
    found = findings_json(run_cli, "--root", tmp_repo, expect=1)
    assert [(f["id"], f["file"], f["line"], f["path"]) for f in found if "cause" not in f] == [
        ("GG006", SPEC, 22, "environments.dev.serving.canaryPercent")
    ]
    assert {f["id"] for f in found if "cause" in f} == {"GG011"}  # drift, dev's Helm, preview
    assert snapshot(tmp_repo) == before


def test_drift_is_an_error(tmp_repo: Path, run_cli: Invoke) -> None:
    values = tmp_repo / "apps/fastapi/values/prod.yaml"
    values.write_text(values.read_text().replace("DEFAULT_ALIAS: B", "DEFAULT_ALIAS: A"))
    found = findings_json(run_cli, "--root", tmp_repo, expect=1)
    assert [(f["id"], f["file"]) for f in found] == [("GG201", "apps/fastapi/values/prod.yaml")]


def test_values_that_render_an_invalid_deployment(tmp_repo: Path, run_cli: Invoke) -> None:
    spec = tmp_repo / SPEC
    spec.write_text(
        spec.read_text().replace(
            "  secrets: {name: fastapi-secrets}",
            "  secrets: {name: fastapi-secrets}\n  helmValues:\n"
            "    podSecurityContext: {runAsUser: root}",
        )
    )
    run_cli("render", "--root", tmp_repo)
    before = snapshot(tmp_repo)
    found = findings_json(run_cli, "--root", tmp_repo, expect=1)
    bad = [f for f in found if f["id"] == "GG304"]
    assert {f["file"] for f in bad} == {"apps/fastapi/chart/templates/deployment.yaml"}
    assert {str(f["path"]).split(":")[0] for f in bad} == {"dev", "prod"}
    assert all("spec.template.spec.securityContext.runAsUser" in str(f["path"]) for f in bad)
    assert all(isinstance(f["line"], int) and f["line"] > 1 for f in bad)
    assert snapshot(tmp_repo) == before


def test_values_rejected_by_chart_schema_point_at_the_spec_line(
    tmp_repo: Path, run_cli: Invoke
) -> None:
    """A value helmValues writes is reported where it is written (issue 26, item 18)."""
    spec = tmp_repo / SPEC
    spec.write_text(
        spec.read_text().replace(
            "    serving: {defaultAlias: B}   # green is live",
            "    serving: {defaultAlias: B}   # green is live\n    helmValues: {service: {port: 0}}",
        )
    )
    run_cli("render", "--root", tmp_repo)
    found = findings_json(run_cli, "--root", tmp_repo, expect=1)
    (finding,) = [f for f in found if f["id"] == "GG303"]
    assert finding["file"] == SPEC
    assert finding["path"] == "environments.prod.helmValues.service.port"
    assert finding["message"] == ("the chart's values.schema.json: 0 is less than the minimum of 1")
    lines = spec.read_text().splitlines()
    assert lines[int(finding["line"]) - 1].strip() == "helmValues: {service: {port: 0}}"


def test_read_write_once_with_replicas_warns(tmp_repo: Path, run_cli: Invoke) -> None:
    spec = tmp_repo / SPEC
    spec.write_text(
        spec.read_text().replace(
            "  secrets: {name: fastapi-secrets}",
            "  secrets: {name: fastapi-secrets}\n  helmValues:\n"
            "    persistence: {enabled: true, accessMode: ReadWriteOnce}",
        )
    )
    run_cli("render", "--root", tmp_repo)
    found = findings_json(run_cli, "--root", tmp_repo, expect=0)
    assert {(f["id"], f["severity"], f["file"]) for f in found} == {
        ("GG113", "warning", "apps/fastapi/values/dev.yaml"),
        ("GG113", "warning", "apps/fastapi/values/prod.yaml"),
    }


def test_github_and_text_formats(tmp_repo: Path, run_cli: Invoke) -> None:
    spec = tmp_repo / SPEC
    spec.write_text(spec.read_text().replace("[10.10.0.0/16]", "[10.10.0.1/16]"))
    (tmp_repo / "apps/fastapi/values/prod.yaml").write_text(
        (tmp_repo / "apps/fastapi/values/prod.yaml")
        .read_text()
        .replace("10.10.0.0/16", "10.10.0.1/16")
    )
    github = run_cli("validate", "--root", tmp_repo, "--format", "github", expect=1).stdout
    assert (
        f"::error file={SPEC},line=36,title=GG103 environments.prod.ingress.whitelist[0]::"
        in github
    )
    text = run_cli("validate", "--root", tmp_repo, expect=1).stdout
    assert f"\n{SPEC}\n  {SPEC}:36:" in text or text.startswith(f"{SPEC}\n")
    assert "hint: use 10.10.0.0/16" in text
    assert "Summary: validation FAILED: 1 error(s)" in text


def test_unknown_kube_version_is_a_usage_error(repo_root: Path, run_cli: Invoke) -> None:
    result = run_cli("validate", "--root", repo_root, "--kube-version", "1.2", expect=2)
    assert "--kube-version" in result.stderr


def test_crd_dir_from_environment(
    repo_root: Path, shared_crds: Path, run_cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITOPSGEN_CRD_DIR", str(shared_crds))
    found = findings_json(
        run_cli, "--root", repo_root, EXAMPLES / "invalid/applicationset-wrong-type.yaml", expect=1
    )
    assert "GG302" in {f["id"] for f in found}


def test_fast_path_agrees_with_jsonschema(repo_root: Path) -> None:
    """The generated validator and jsonschema say the same about valid and broken manifests."""
    import copy

    import helm_python as helm
    import yaml

    from gitopsgen.validate.kube import DEFAULT_KUBE_VERSION, fast_kube_check, kube_validator

    files = sorted((repo_root / "apps/fastapi/values").glob("*.yaml"))  # any environment's
    chosen = next((f for f in files if f.stem == "prod"), files[0])
    values = yaml.safe_load(chosen.read_text())
    rendered = helm.Chart.load(repo_root / "apps/fastapi/chart").render(values, name="fastapi")
    docs = [
        d
        for name, text in rendered.items()
        if name.endswith(".yaml")
        for d in yaml.safe_load_all(text)
        if d
    ]
    broken = []
    for doc in docs:
        extra = copy.deepcopy(doc)
        extra["metadata"]["inventedField"] = 1
        wrong = copy.deepcopy(doc)
        wrong["metadata"]["name"] = 42
        broken += [extra, wrong]
    for doc in docs + broken:
        fast = fast_kube_check(DEFAULT_KUBE_VERSION, doc["apiVersion"], doc["kind"])
        slow = kube_validator(DEFAULT_KUBE_VERSION, doc["apiVersion"], doc["kind"])
        assert fast is not None and slow is not None
        assert fast(doc) == slow.is_valid(doc), (doc["kind"], doc in docs)
    assert len(broken) == 2 * len(docs) >= 10


def test_deprecated_metallb_annotation_found_inside_lists(
    tmp_path: Path, repo_root: Path, run_cli: Invoke
) -> None:
    extra = tmp_path / "services.yaml"
    extra.write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "  - apiVersion: v1\n    kind: Service\n    metadata:\n      name: ingress-nginx\n"
        "      annotations:\n        metallb.universe.tf/address-pool: prod-pool\n"
    )
    found = findings_json(run_cli, "--root", repo_root, extra, expect=1)
    deprecated = [f for f in found if f["id"] == "GG109"]
    assert [(f["line"], f["path"]) for f in deprecated] == [
        (9, "items[0].metadata.annotations.metallb.universe.tf/address-pool")
    ]
