"""validate catches what the cluster refuses though every schema passes (issue 26, item 4): a
chart template of a kind the rendered AppProject does not allow (GG308), a quantity the API
server cannot parse, a request above its limit, a Service name over 63 characters (GG304).
In `validate` itself, so users' repositories get them, not only this repository's tests."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gitopsgen.validate.apiserver import api_server_problems, parse_quantity
from tests.support import SPEC, Invoke, golden_repository

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "fastapi.fullname" . }}-extra
data:
  note: added by hand
"""
PROD_POOL = "    metallb: {pool: prod-pool, addresses: [10.10.100.10-10.10.100.30]}\n"


def test_a_chart_kind_the_app_project_does_not_allow_is_gg308(
    tmp_repo: Path, run_cli: Invoke
) -> None:
    (tmp_repo / "apps/fastapi/chart/templates/configmap.yaml").write_text(CONFIGMAP)
    result = run_cli("validate", "--root", tmp_repo, expect=1)
    assert (
        "apps/fastapi/chart/templates/configmap.yaml:2:7: error [GG308] dev: kind: Argo CD "
        "refuses the sync: resource :ConfigMap is not permitted in project mlops-serving"
    ) in result.stdout
    assert result.stdout.count("[GG308]") == 2  # dev and prod


def test_a_manifest_in_a_namespace_the_project_does_not_list_is_gg308(
    tmp_repo: Path, run_cli: Invoke
) -> None:
    pdb = tmp_repo / "apps/fastapi/chart/templates/pdb.yaml"
    pdb.write_text(
        pdb.read_text().replace("metadata:\n", "metadata:\n  namespace: kube-system\n", 1)
    )
    result = run_cli("validate", "--root", tmp_repo, expect=1)
    assert "namespace kube-system is not permitted in project 'mlops-serving'" in result.stdout


def _with_prod_values(root: Path, values: str) -> None:
    spec = root / SPEC
    spec.write_text(spec.read_text().replace(PROD_POOL, PROD_POOL + "    helmValues:\n" + values))


def test_a_quantity_the_api_server_cannot_parse_is_gg304(tmp_repo: Path, run_cli: Invoke) -> None:
    _with_prod_values(tmp_repo, "      resources: {limits: {memory: lots}}\n")
    run_cli("render", "--root", tmp_repo)
    result = run_cli("validate", "--root", tmp_repo, expect=1)
    assert "error [GG304] prod: spec.template.spec.containers[0].resources.limits.memory:" in (
        result.stdout
    )
    assert "Deployment/fastapi: Invalid value: 'lots': quantities must match" in result.stdout


def test_a_request_above_its_limit_is_gg304(tmp_repo: Path, run_cli: Invoke) -> None:
    _with_prod_values(
        tmp_repo, "      resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}\n"
    )
    run_cli("render", "--root", tmp_repo)
    result = run_cli("validate", "--root", tmp_repo, expect=1)
    assert "Invalid value: '2Gi': must be less than or equal to memory limit of 1Gi" in (
        result.stdout
    )


def test_a_long_app_name_makes_the_preview_service_name_too_long(
    tmp_path: Path, run_cli: Invoke
) -> None:
    root = golden_repository(tmp_path / "repo", "blue-green")
    long_name = "model-serving-platform-for-the-fraud-detection-team-eu-west"  # 59: a DNS label
    spec = root / SPEC
    spec.write_text(spec.read_text().replace("  name: fastapi\n", f"  name: {long_name}\n"))
    run_cli("render", "--root", root)
    result = run_cli("validate", "--root", root, expect=1)
    refused = [ln for ln in result.stdout.splitlines() if "[GG304]" in ln]
    assert len(refused) == 3, result.stdout  # the preview Service of each environment
    assert all("-preview: Invalid value: 'model-serving-platform" in ln for ln in refused)
    assert all(ln.endswith("must be no more than 63 characters") for ln in refused)


def test_extra_paths_get_the_same_rules(tmp_repo: Path, tmp_path: Path, run_cli: Invoke) -> None:
    """A user's own manifests (`validate PATH`), checked like the chart's."""
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: 1-bad\n  labels: {tier: -x}\n"
        "spec: {ports: [{port: 80}]}\n"
    )
    result = run_cli("validate", "--root", tmp_repo, extra, expect=1)
    assert "Invalid value: '1-bad': must be a DNS-1035 label" in result.stdout
    assert "Invalid value: '-x': a valid label must be" in result.stdout


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1Gi", Decimal(2**30)),
        ("512Mi", Decimal(512 * 2**20)),
        ("250m", Decimal("0.25")),
        ("1.5", Decimal("1.5")),
        (".5", Decimal("0.5")),
        ("5.", Decimal(5)),
        ("+1k", Decimal(1000)),
        ("1e3", Decimal(1000)),
        ("1E", Decimal(10**18)),
        (2, Decimal(2)),
        ("lots", None),
        ("1 Gi", None),
        ("1GB", None),
        ("Gi", None),
        ("", None),
        ("1e", None),
        ("0x10", None),
        (True, None),
    ],
)
def test_quantities_parse_as_the_api_server_parses_them(
    text: str | int | bool, value: Decimal | None
) -> None:
    assert parse_quantity(text) == value


def test_quantities_are_found_wherever_the_kind_has_one() -> None:
    """Through the schema's `$ref`s: a PVC's storage request, a container's divisor."""
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "logs"},
        "spec": {"resources": {"requests": {"storage": "five"}}},
    }
    assert [p for p, _ in api_server_problems(pvc, "1.33")] == [
        ("spec", "resources", "requests", "storage")
    ]
    negative = {**pvc, "spec": {"resources": {"requests": {"storage": "-1Gi"}}}}
    assert "must be greater than or equal to 0" in api_server_problems(negative, "1.33")[0][1]
