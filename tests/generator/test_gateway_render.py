"""Issue 16: an environment per ingress provider, rendered through the chart with real Helm and
checked against the upstream Gateway API, Envoy Gateway and Traefik CRDs (../shared/crds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from gitopsgen.render.values import build_values
from gitopsgen.spec.load import parse_spec
from gitopsgen.validate.crds import load_crd_dirs
from gitopsgen.validate.documents import DocumentRef, SchemaSet, check_documents
from gitopsgen.validate.kube import DEFAULT_KUBE_VERSION
from gitopsgen.yamlsource import load_documents
from tests.support import REPO, Invoke, golden_repository

CASE = "gateway-providers"
CHART = REPO / "apps/fastapi/chart"
SPEC_TEXT = (REPO / "tests/generator/golden" / CASE / "spec.yaml").read_text()


def environment(name: str, text: str = SPEC_TEXT) -> Any:
    spec, _ = parse_spec(text, "environments/environments.yaml")
    return spec.environment(name)


def render(values: dict[str, Any], namespace: str = "ns") -> list[dict[str, Any]]:
    out = helm.Chart.load(CHART).render(values, name="fastapi", namespace=namespace)
    return [
        d
        for name, text in sorted(out.items())
        if not name.endswith(".txt")
        for d in yaml.safe_load_all(text)
        if d
    ]


def by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in docs}


def with_ingress(name: str, **fields: Any) -> str:
    """The golden spec with fields of one environment's ingress replaced (flow style)."""
    data = yaml.safe_load(SPEC_TEXT)
    data["environments"][name]["ingress"].update(fields)
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize(
    ("env", "kinds"),
    [
        ("staging", {"Ingress"}),
        ("dev", {"HTTPRoute", "Middleware"}),
        (
            "prod",
            {"HTTPRoute", "Gateway", "SecurityPolicy", "EnvoyProxy", "ClientTrafficPolicy"},
        ),
    ],
)
def test_each_provider_renders_its_own_objects_and_only_nginx_an_ingress(
    env: str, kinds: set[str]
) -> None:
    spec_env = environment(env)
    docs = by_kind(render(build_values(spec_env), spec_env.namespace))
    exposure = {
        "Ingress",
        "HTTPRoute",
        "Gateway",
        "SecurityPolicy",
        "EnvoyProxy",
        "ClientTrafficPolicy",
        "Middleware",
    }
    assert set(docs) & exposure == kinds


def test_the_route_sends_the_host_to_the_apps_service_through_the_shared_gateway() -> None:
    spec_env = environment("dev")
    docs = by_kind(render(build_values(spec_env), spec_env.namespace))
    route, service = docs["HTTPRoute"]["spec"], docs["Service"]
    assert route["hostnames"] == ["fastapi-dev.example.internal"]
    assert route["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "shared-gateway",
            "namespace": "gateway-system",
            "sectionName": "https",
        }
    ]
    (rule,) = route["rules"]
    assert rule["backendRefs"] == [
        {"name": service["metadata"]["name"], "port": service["spec"]["ports"][0]["port"]}
    ]


def test_traefik_middleware_is_the_allow_list_and_the_routes_filter_names_it() -> None:
    spec_env = environment("dev")
    docs = by_kind(render(build_values(spec_env), spec_env.namespace))
    middleware = docs["Middleware"]
    assert middleware["spec"]["ipAllowList"] == {
        "sourceRange": ["10.30.0.0/16", "fd00:30::/48"],
        "ipStrategy": {"depth": 1},  # trustedHops: the XFF entry one from the right
    }
    (rule,) = docs["HTTPRoute"]["spec"]["rules"]
    assert rule["filters"] == [
        {
            "type": "ExtensionRef",
            "extensionRef": {
                "group": "traefik.io",
                "kind": "Middleware",
                "name": middleware["metadata"]["name"],
            },
        }
    ]
    # an ExtensionRef is local: the Middleware is rendered into the route's own namespace
    assert "namespace" not in middleware["metadata"]


def test_envoy_gateway_denies_all_but_the_allow_list_on_the_route() -> None:
    spec_env = environment("prod")
    docs = by_kind(render(build_values(spec_env), spec_env.namespace))
    policy = docs["SecurityPolicy"]["spec"]
    assert policy["targetRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "HTTPRoute",
            "name": docs["HTTPRoute"]["metadata"]["name"],
        }
    ]
    assert policy["authorization"] == {
        "defaultAction": "Deny",
        "rules": [
            {
                "name": "allow-list",
                "action": "Allow",
                "principal": {"clientCIDRs": ["10.10.0.0/16", "192.168.50.0/24"]},
            }
        ],
    }


def test_a_created_gateway_terminates_tls_on_the_host_behind_a_local_service() -> None:
    spec_env = environment("prod")
    docs = by_kind(render(build_values(spec_env), spec_env.namespace))
    gateway = docs["Gateway"]
    (listener,) = gateway["spec"]["listeners"]
    assert gateway["spec"]["gatewayClassName"] == "eg"
    assert listener["hostname"] == "fastapi.example.internal"
    assert (listener["protocol"], listener["port"]) == ("HTTPS", 443)
    assert listener["tls"]["certificateRefs"] == [
        {"group": "", "kind": "Secret", "name": "fastapi-prod-tls"}
    ]
    (parent,) = docs["HTTPRoute"]["spec"]["parentRefs"]
    assert (parent["name"], parent["namespace"], parent["sectionName"]) == (
        gateway["metadata"]["name"],
        "fastapi-prod",
        listener["name"],
    )
    proxy = docs["EnvoyProxy"]
    assert gateway["spec"]["infrastructure"]["parametersRef"]["name"] == proxy["metadata"]["name"]
    service = proxy["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service["externalTrafficPolicy"] == "Local"
    assert service["annotations"] == {"metallb.io/address-pool": "prod-pool"}
    assert docs["ClientTrafficPolicy"]["spec"]["targetRefs"][0]["name"] == "fastapi"


@pytest.mark.parametrize(
    ("fields", "detection"),
    [
        ({}, {"clientIPDetection": {"xForwardedFor": {"numTrustedHops": 0}}}),
        (
            {"clientAddress": "xForwardedFor", "trustedHops": 2},
            {"clientIPDetection": {"xForwardedFor": {"numTrustedHops": 2}}},
        ),
        (
            {"clientAddress": "proxyProtocol"},
            {"clientIPDetection": {"xForwardedFor": {"numTrustedHops": 0}}, "proxyProtocol": {}},
        ),
    ],
)
def test_client_traffic_policy_follows_client_address(
    fields: dict[str, Any], detection: dict[str, Any]
) -> None:
    spec_env = environment("prod", with_ingress("prod", **fields))
    policy = by_kind(render(build_values(spec_env), spec_env.namespace))["ClientTrafficPolicy"]
    assert {k: v for k, v in policy["spec"].items() if k != "targetRefs"} == detection


def test_an_empty_allow_list_renders_no_allow_list_object() -> None:
    for name, kind in (("dev", "Middleware"), ("prod", "SecurityPolicy")):
        spec_env = environment(name, with_ingress(name, whitelist=[]))
        docs = by_kind(render(build_values(spec_env), spec_env.namespace))
        assert kind not in docs and "HTTPRoute" in docs
        if name == "dev":
            assert "filters" not in docs["HTTPRoute"]["spec"]["rules"][0]


def variants() -> list[tuple[str, dict[str, Any]]]:
    """Every provider with every client address, with a shared and with a created Gateway."""
    out = []
    for provider in ("envoy-gateway", "traefik"):
        for address in ("direct", "xForwardedFor", "proxyProtocol"):
            for create in (False, True):
                gateway: dict[str, Any] = {"create": True} if create else {}
                if not create:
                    gateway = {"name": "shared", "namespace": "gateway-system"}
                fields: dict[str, Any] = {
                    "provider": provider,
                    "clientAddress": address,
                    "gateway": gateway,
                }
                if address == "xForwardedFor":
                    fields["trustedHops"] = 2
                out.append((f"{provider}-{address}-{'own' if create else 'shared'}", fields))
    return out


@pytest.mark.parametrize(("label", "fields"), variants(), ids=[v[0] for v in variants()])
def test_every_variant_is_valid_against_the_upstream_crds(
    label: str, fields: dict[str, Any], shared_crds: Path
) -> None:
    schemas = SchemaSet(DEFAULT_KUBE_VERSION, load_crd_dirs([shared_crds]))
    spec_env = environment("prod", with_ingress("prod", **fields))
    out = helm.Chart.load(CHART).render(
        build_values(spec_env), name="fastapi", namespace=spec_env.namespace
    )
    checked = set()
    for name, text in out.items():
        if name.endswith(".txt"):
            continue
        docs, problems = load_documents(text)
        assert not problems, name
        assert check_documents(docs, DocumentRef(name), schemas) == [], (label, name)
        checked |= {d.data["kind"] for d in docs if isinstance(d.data, dict)}
    assert {"HTTPRoute"} <= checked
    for kind in ("HTTPRoute", "Gateway", "SecurityPolicy", "Middleware"):
        if kind in checked:
            assert (
                ("gateway.networking.k8s.io/v1", kind) in schemas.crds
                or ("gateway.envoyproxy.io/v1alpha1", kind) in schemas.crds
                or ("traefik.io/v1alpha1", kind) in schemas.crds
            )


def test_the_golden_case_validates_clean_against_the_upstream_crds(
    tmp_path: Path, run_cli: Invoke, shared_crds: Path
) -> None:
    root = golden_repository(tmp_path / "repo", CASE)
    result = run_cli(
        "validate", "--root", root, "--crd-dir", shared_crds, "--format", "json", expect=0
    )
    assert json.loads(result.stdout) == []
    # and the same objects are only skipped, never passed, when the CRDs are not given
    empty = tmp_path / "no-crds"
    empty.mkdir()
    skipped = run_cli("validate", "--root", root, "--crd-dir", empty, "--format", "json")
    kinds = {f["message"].split("/")[0] for f in json.loads(skipped.stdout) if f["id"] == "GG305"}
    assert {"HTTPRoute", "Gateway", "SecurityPolicy", "Middleware", "ClientTrafficPolicy"} <= kinds
