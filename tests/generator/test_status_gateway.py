"""`gitopsgen status` of Gateway API environments: the real `kubernetes` client against the local
server of test_status, answering with recorded HTTPRoutes, SecurityPolicies and Middlewares
(tests/generator/recordings/README.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

import tests.generator.test_status as recorded_api
from tests.support import SPEC, Invoke, golden_repository

pytest.importorskip("kubernetes", reason="the status extra is not installed")

NS = "/namespaces/fastapi-prod"
ROUTES = f"/apis/gateway.networking.k8s.io/v1{NS}/httproutes"
POLICIES = f"/apis/gateway.envoyproxy.io/v1alpha1{NS}/securitypolicies"
MIDDLEWARES = f"/apis/traefik.io/v1alpha1{NS}/middlewares"


def prod_routes(provider: str) -> dict[str, dict[str, Any]]:
    answers = {p: v for p, v in recorded_api.routes().items() if "dev" not in p}
    if provider == "envoy-gateway":
        answers[ROUTES] = recorded_api.recorded("httproutes-fastapi-prod.json")
        answers[POLICIES] = recorded_api.recorded("securitypolicies-fastapi-prod.json")
    else:
        answers[ROUTES] = recorded_api.recorded("httproutes-fastapi-prod-traefik.json")
        answers[MIDDLEWARES] = recorded_api.recorded("middlewares-fastapi-prod.json")
    return answers


@pytest.fixture(params=["envoy-gateway", "traefik"])
def provider(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def api(provider: str) -> Iterator[recorded_api.FakeApi]:
    yield from recorded_api.fake_api(prod_routes(provider))


@pytest.fixture
def root(tmp_path: Path, provider: str) -> Path:
    """The golden case, its prod environment on `provider` with a Gateway of its own."""
    return on_provider(golden_repository(tmp_path / "repo", "gateway-providers"), provider)


def on_provider(repo: Path, provider: str) -> Path:
    """Status compares with the spec alone; Traefik's own Service is declared Local (GG130)."""
    spec = repo / SPEC
    text = spec.read_text().replace("provider: envoy-gateway", f"provider: {provider}")
    if provider == "traefik":
        local = "gateway: {create: true}\n      externalTrafficPolicy: Local"
        text = text.replace("gateway: {create: true}", local)
    spec.write_text(text)
    return repo


def status(run_cli: Invoke, root: Path, url: str, tmp_path: Path, expect: int) -> Any:
    config = recorded_api.kubeconfig(tmp_path, url)
    result = run_cli(
        "status",
        "prod",
        "--kubeconfig",
        config,
        "--root",
        root,
        "--format",
        "json",
        "--request-timeout",
        "1",
        expect=expect,
    )
    (prod,) = json.loads(result.stdout)
    return {c["item"]: c for c in prod["checks"]}


def test_in_sync(
    api: recorded_api.FakeApi, root: Path, tmp_path: Path, run_cli: Invoke, provider: str
) -> None:
    checks = status(run_cli, root, api.url, tmp_path, expect=0)
    kind = "SecurityPolicy" if provider == "envoy-gateway" else "Middleware"
    assert checks[f"allow-list ({kind})"]["live"] == "10.10.0.0/16,192.168.50.0/24"
    assert checks["route hostnames"]["live"] == "fastapi.example.internal"
    assert checks["route parent"]["live"] == "fastapi-prod/fastapi/https"
    assert "ingress allow-list" not in checks
    paths = {urlparse(p).path for p in api.requests}
    assert f"/apis/networking.k8s.io/v1{NS}/ingresses" not in paths  # no Ingress is rendered
    for request in api.requests:
        if urlparse(request).path in (ROUTES, POLICIES, MIDDLEWARES):
            query = parse_qs(urlparse(request).query)
            assert query["labelSelector"] == ["app.kubernetes.io/instance=fastapi"]


def test_a_drifted_allow_list_is_reported(
    api: recorded_api.FakeApi, root: Path, tmp_path: Path, run_cli: Invoke, provider: str
) -> None:
    if provider == "envoy-gateway":
        policy = api.routes[POLICIES]["items"][0]["spec"]["authorization"]
        policy["rules"][0]["principal"]["clientCIDRs"] = ["0.0.0.0/0"]
        item = "allow-list (SecurityPolicy)"
    else:
        api.routes[MIDDLEWARES]["items"][0]["spec"]["ipAllowList"]["sourceRange"] = ["0.0.0.0/0"]
        item = "allow-list (Middleware)"
    checks = status(run_cli, root, api.url, tmp_path, expect=1)
    drift = {k: v for k, v in checks.items() if not v["ok"]}
    assert drift == {
        item: {
            "env": "prod",
            "item": item,
            "expected": "10.10.0.0/16,192.168.50.0/24",
            "live": "0.0.0.0/0",
            "ok": False,
        }
    }


def test_an_allowing_default_action_is_drift_even_with_the_same_list(
    run_cli: Invoke, tmp_path: Path
) -> None:
    repo = golden_repository(tmp_path / "repo", "gateway-providers")
    for api in recorded_api.fake_api(prod_routes("envoy-gateway")):
        api.routes[POLICIES]["items"][0]["spec"]["authorization"]["defaultAction"] = "Allow"
        checks = status(run_cli, repo, api.url, tmp_path, expect=1)
        assert checks["allow-list (SecurityPolicy)"]["live"] == (
            "10.10.0.0/16,192.168.50.0/24 (defaultAction Allow: every client)"
        )


def test_a_route_without_its_middleware_filter_is_drift(run_cli: Invoke, tmp_path: Path) -> None:
    """Traefik applies nothing the route does not reference: the list alone is not enough."""
    repo = on_provider(golden_repository(tmp_path / "repo", "gateway-providers"), "traefik")
    for api in recorded_api.fake_api(prod_routes("traefik")):
        del api.routes[ROUTES]["items"][0]["spec"]["rules"][0]["filters"]
        checks = status(run_cli, repo, api.url, tmp_path, expect=1)
        assert checks["route filter"] == {
            "env": "prod",
            "item": "route filter",
            "expected": "Middleware/fastapi-allow-list",
            "live": "(none)",
            "ok": False,
        }


def test_missing_objects_are_drift(
    api: recorded_api.FakeApi, root: Path, tmp_path: Path, run_cli: Invoke
) -> None:
    for path in (ROUTES, POLICIES, MIDDLEWARES):
        api.routes.pop(path, None)
    checks = status(run_cli, root, api.url, tmp_path, expect=1)
    missing = sorted(k for k, v in checks.items() if v["live"] == "(missing)")
    assert "route hostnames" in missing and "route parent" in missing
    assert any(k.startswith("allow-list (") for k in missing)
