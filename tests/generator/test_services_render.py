"""What the services form renders (one Application per service and environment, each with its
namespace, release, values file, image and model) and the collision policies: never two
writers of one file or one object."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from gitopsgen.render.registry import render_all
from gitopsgen.spec.load import parse_spec
from tests.support import (
    REPO,
    SHARED_CRDS,
    SPEC,
    Invoke,
    golden_repository,
    local_http_server,
    snapshot,
)

GOLDEN = REPO / "tests/generator/golden/two-services"
SPEC_TEXT = (GOLDEN / "spec.yaml").read_text()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return golden_repository(tmp_path / "repo", "two-services")


def line_of(text: str, needle: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


def test_one_application_per_service_and_environment(repo: Path, run_cli: Invoke) -> None:
    apps = list(yaml.safe_load_all(run_cli("preview", "--root", repo).stdout))
    by_name: dict[str, Any] = {a["metadata"]["name"]: a for a in apps}
    assert sorted(by_name) == [
        "churn-dev",
        "churn-prod",
        "fraud-dev",
        "fraud-prod",
        "mlops-serving-metallb-dev",
        "mlops-serving-metallb-prod",
    ]
    expected = {
        "fraud-dev": ("models-dev", "fraud", "../values/fraud/dev.yaml"),
        "churn-dev": ("models-dev", "churn", "../values/churn/dev.yaml"),
        "fraud-prod": ("fraud-prod", "fraud", "../values/fraud/prod.yaml"),
        "churn-prod": ("churn-prod", "churn", "../values/churn/prod.yaml"),
    }
    for name, (namespace, release, values_file) in expected.items():
        spec = by_name[name]["spec"]
        assert spec["destination"]["namespace"] == namespace
        assert spec["source"]["helm"]["releaseName"] == release
        assert spec["source"]["helm"]["valueFiles"] == ["values.yaml", values_file]
        assert by_name[name]["metadata"]["labels"]["gitopsgen.io/service"] == release
    assert [
        a["metadata"]["name"]
        for a in yaml.safe_load_all(
            run_cli("preview", "prod", "--service", "churn", "--root", repo).stdout
        )
    ] == ["churn-prod"]


def test_each_values_file_carries_its_service_image_and_model() -> None:
    files = render_all(parse_spec(SPEC_TEXT, SPEC)[0])
    for service, repository, model in (
        ("fraud", "registry.example.org/ml/fraud-api", "fraud_model"),
        ("churn", "registry.example.org/ml/churn-api", "churn_model"),
    ):
        for env in ("dev", "prod"):
            values = yaml.safe_load(files[f"apps/fastapi/values/{service}/{env}.yaml"])
            assert values["image"]["repository"] == repository
            assert values["env"]["MODEL_NAME"] == model
            assert values["secret"] == {"name": f"{service}-secrets"}
    churn_dev = yaml.safe_load(files["apps/fastapi/values/churn/dev.yaml"])
    assert churn_dev["image"]["tag"] == "1.1.0-rc1"  # its own level in dev beats services.churn
    assert churn_dev["env"]["ALIAS_SELECTION_MODE"] == "canary"  # services.churn beats defaults


def test_the_app_project_allows_every_pairs_namespace() -> None:
    files = render_all(parse_spec(SPEC_TEXT, SPEC)[0])
    project = yaml.safe_load(files["applicationsets/project.yaml"])
    destinations = {(d["server"], d["namespace"]) for d in project["spec"]["destinations"]}
    prod = "https://prod.k8s.example.internal:6443"
    dev = "https://kubernetes.default.svc"
    assert destinations == {
        (dev, "models-dev"),
        (dev, "metallb-system"),
        (prod, "fraud-prod"),
        (prod, "churn-prod"),
        (prod, "metallb-system"),
    }


def test_the_services_repository_validates(repo: Path, run_cli: Invoke) -> None:
    crds = ["--crd-dir", SHARED_CRDS] if SHARED_CRDS.is_dir() else []
    result = run_cli("validate", "--root", repo, *crds)
    assert "0 error(s), 0 warning(s)" in result.stdout


# --- collisions: an error naming both, never an overwrite ---------------------------------------


def renamed(text: str, old: str, new: str) -> str:
    """The spec with service `old` called `new` everywhere."""
    return text.replace(f"  {old}:", f"  {new}:").replace(f"{old}: {{", f"{new}: {{")


@pytest.mark.parametrize(
    ("service", "message"),
    [
        (
            "project",
            "applicationsets/project.yaml would be written twice: by render_applicationsets "
            "(ApplicationSet project) and by render_project (AppProject mlops-serving)",
        ),
        (
            "metallb",
            "applicationsets/metallb.yaml would be written twice: by the ApplicationSet of "
            "service metallb and by the ApplicationSet of MetalLB",
        ),
    ],
)
def test_a_service_rendering_another_renderers_file_is_an_error_naming_both(
    repo: Path, run_cli: Invoke, service: str, message: str
) -> None:
    (repo / SPEC).write_text(renamed(SPEC_TEXT, "churn", service))
    before = snapshot(repo)
    result = run_cli("render", "--root", repo, expect=1)
    assert message in result.stderr
    assert snapshot(repo) == before  # nothing written


def test_two_services_naming_one_application_is_gg150_at_its_line(
    repo: Path, run_cli: Invoke
) -> None:
    """Service `fraud-dev` in `prod` makes the Application `fraud-dev-prod`, and so does
    `fraud` in `dev-prod`."""
    text = renamed(SPEC_TEXT, "churn", "fraud-dev").replace("  dev:\n", "  dev-prod:\n")
    (repo / SPEC).write_text(text)
    result = run_cli("validate", "--root", repo, "--format", "json", expect=1)
    found = [f for f in yaml.safe_load(result.stdout) if f["id"] == "GG152"]
    assert [f["path"] for f in found] == ["environments.prod.services.fraud-dev"]
    assert "'fraud-dev-prod'" in found[0]["message"] and "fraud in dev-prod" in found[0]["message"]
    assert found[0]["line"] == text.splitlines().index("      fraud-dev:") + 1


def test_one_release_twice_in_a_namespace_of_a_cluster_is_gg106_at_its_line(
    repo: Path, run_cli: Invoke
) -> None:
    text = SPEC_TEXT.replace(
        "    cluster: {name: prod, server: https://prod.k8s.example.internal:6443}",
        "    cluster: {name: in-cluster, server: https://kubernetes.default.svc}",
    ).replace("        namespace: fraud-prod\n", "        namespace: models-dev\n")
    text = text.replace(
        "metallb: {pool: prod-pool, addresses: [10.10.100.10-10.10.100.30]}",
        "metallb: {pool: prod-pool, addresses: [10.10.101.10-10.10.101.30]}",
    )
    (repo / SPEC).write_text(text)
    result = run_cli("validate", "--root", repo, "--format", "json", expect=1)
    found = [f for f in yaml.safe_load(result.stdout) if f["id"] == "GG106"]
    assert len(found) == 1
    assert found[0]["path"] == "environments.prod.services.fraud.namespace"
    assert found[0]["line"] == text.splitlines().index("        namespace: models-dev") + 1
    assert "fraud in dev" in found[0]["message"] and "'fraud'" in found[0]["message"]


def test_a_host_twice_in_one_environment_is_gg107_at_its_line(repo: Path, run_cli: Invoke) -> None:
    text = SPEC_TEXT.replace(
        "churn: {ingress: {host: churn-dev.example.internal}",
        "churn: {ingress: {host: fraud-dev.example.internal}",
    )
    (repo / SPEC).write_text(text)
    result = run_cli("validate", "--root", repo, "--format", "json", expect=1)
    found = [f for f in yaml.safe_load(result.stdout) if f["id"] == "GG107"]
    assert [(f["path"], f["line"]) for f in found] == [
        ("environments.dev.services.churn.ingress.host", line_of(text, "churn: {ingress:"))
    ]
    assert "also used by fraud in dev" in found[0]["message"]


def test_two_charts_rendering_one_object_is_gg151_naming_both(repo: Path, run_cli: Invoke) -> None:
    """The chart names its objects `<release>-fastapi` unless the release holds `fastapi`:
    releases `fraud` and `fraud-fastapi` in one namespace both make `fraud-fastapi`."""
    (repo / SPEC).write_text(renamed(SPEC_TEXT, "churn", "fraud-fastapi"))
    result = run_cli("validate", "--root", repo, "--format", "json", expect=1)
    found = [f for f in yaml.safe_load(result.stdout) if f["id"] == "GG153"]
    assert found, result.stdout[-2000:]
    assert all(f["file"] == "apps/fastapi/values/fraud-fastapi/dev.yaml" for f in found)
    kinds = {f["path"].split(": ", 1)[1] for f in found}
    assert "Deployment fraud-fastapi" in kinds and "Service fraud-fastapi" in kinds
    assert "both fraud in dev and fraud-fastapi in dev" in found[0]["message"]


def test_the_app_form_renders_as_before() -> None:
    """The app form's files are the golden ones (test_golden); here: no service label, no
    per-service folder, whatever services the code knows of."""
    text = (REPO / "tests/generator/golden/three-envs/spec.yaml").read_text()
    files = render_all(parse_spec(text, SPEC)[0])
    assert "gitopsgen.io/service" not in "".join(files.values())
    assert {p for p in files if p.startswith("apps/")} == {
        f"apps/fastapi/values/{env}.yaml" for env in ("dev", "staging", "prod")
    }


def test_status_reads_each_services_application_and_the_pool_once(
    repo: Path, tmp_path: Path, run_cli: Invoke
) -> None:
    """The real Kubernetes client against a local HTTP server that knows no object (every
    answer is the API server's 404): which API paths does `status prod` ask for?"""
    pytest.importorskip("kubernetes", reason="the status extra is not installed")
    asked: list[str] = []

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            asked.append(self.path)
            body = json.dumps({"kind": "Status", "status": "Failure", "code": 404}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return

    with local_http_server(NotFound) as url:
        config = tmp_path / "kubeconfig"
        config.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "argocd",
                    "clusters": [{"name": "local", "cluster": {"server": url}}],
                    "users": [{"name": "admin", "user": {"token": "t"}}],
                    "contexts": [
                        {"name": "argocd", "context": {"cluster": "local", "user": "admin"}}
                    ],
                }
            )
        )
        result = run_cli("status", "prod", "--kubeconfig", config, "--root", repo, expect=1)
    apps = [p.rsplit("/", 1)[1] for p in asked if "/applications/" in p]
    assert apps == ["fraud-prod", "mlops-serving-metallb-prod", "churn-prod"]
    pools = [p for p in asked if "/ipaddresspools/" in p]
    assert len(pools) == 1
    selectors = sorted(
        parse_qs(urlparse(p).query)["labelSelector"][0] for p in asked if "/deployments" in p
    )
    assert selectors == ["app.kubernetes.io/instance=churn", "app.kubernetes.io/instance=fraud"]
    assert "fraud in prod" in result.stdout and "churn in prod" in result.stdout
