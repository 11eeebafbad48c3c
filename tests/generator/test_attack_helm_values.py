"""helmValues cannot undo what the policies check (issue 26, item 2): GG142 refuses every value
gitopsgen renders from the spec, at the spec line that sets it, naming the field to use."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gitopsgen.findings import Finding
from gitopsgen.spec.load import parse_spec
from gitopsgen.validate.policies import check_spec_policies
from tests.support import FROZEN_SPEC_TEXT, SPEC, Invoke

GATEWAY_SPEC = (Path(__file__).parent / "golden/gateway-providers/spec.yaml").read_text()
PROD_NGINX = "    metallb: {pool: prod-pool, addresses: [10.10.100.10-10.10.100.30]}\n"
PROD_ENVOY = "      gateway: {create: true}\n"
DEV_TRAEFIK = "      trustedHops: 1\n"


def _with(spec: str, anchor: str, helm_values: str) -> str:
    assert spec.count(anchor) == 1
    lines = "".join(f"      {line}\n" for line in helm_values.splitlines())
    return spec.replace(anchor, anchor + "    helmValues:\n" + lines)


def _gg142(text: str) -> list[Finding]:
    spec, doc = parse_spec(text, SPEC)
    return [f for f in check_spec_policies(spec, doc) if f.id == "GG142"]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


CASES = {
    "nginx allow-list opened": (
        FROZEN_SPEC_TEXT,
        PROD_NGINX,
        "ingress:\n  annotations:\n"
        "    nginx.ingress.kubernetes.io/whitelist-source-range: 0.0.0.0/0",
        "environments.prod.helmValues.ingress.annotations."
        "nginx.ingress.kubernetes.io/whitelist-source-range",
        "whitelist-source-range: 0.0.0.0/0",
        "set ingress.whitelist in the spec instead",
    ),
    "nginx allow-list under its newer name": (
        FROZEN_SPEC_TEXT,
        PROD_NGINX,
        "ingress: {annotations: {nginx.ingress.kubernetes.io/allowlist-source-range: 0.0.0.0/0}}",
        "environments.prod.helmValues.ingress.annotations."
        "nginx.ingress.kubernetes.io/allowlist-source-range",
        "allowlist-source-range",
        "set ingress.whitelist in the spec instead",
    ),
    "an nginx snippet allowing all": (
        FROZEN_SPEC_TEXT,
        PROD_NGINX,
        "ingress:\n  annotations:\n    nginx.ingress.kubernetes.io/server-snippet: 'allow all;'",
        "environments.prod.helmValues.ingress.annotations."
        "nginx.ingress.kubernetes.io/server-snippet",
        "server-snippet",
        "drop the snippet",
    ),
    "the annotations replaced wholesale": (
        FROZEN_SPEC_TEXT,
        PROD_NGINX,
        "ingress: {annotations: null}",
        "environments.prod.helmValues.ingress.annotations",
        "ingress: {annotations: null}",
        "set ingress.whitelist in the spec instead",
    ),
    "envoy-gateway SecurityPolicy dropped": (
        GATEWAY_SPEC,
        PROD_ENVOY,
        "gatewayApi: {allowList: []}",
        "environments.prod.helmValues.gatewayApi",
        "gatewayApi: {allowList: []}",
        "set ingress in the spec instead",
    ),
    "every X-Forwarded-For hop trusted": (
        GATEWAY_SPEC,
        DEV_TRAEFIK,
        "gatewayApi:\n  clientAddress: xForwardedFor\n  trustedHops: 0",
        "environments.dev.helmValues.gatewayApi",
        "      gatewayApi:",
        "set ingress in the spec instead",
    ),
    "a Gateway API route opened beside an nginx Ingress": (
        FROZEN_SPEC_TEXT,
        PROD_NGINX,
        "gatewayApi: {enabled: true}",
        "environments.prod.helmValues.gatewayApi",
        "gatewayApi: {enabled: true}",
        "set ingress in the spec instead",
    ),
    "the attacker's image": (
        FROZEN_SPEC_TEXT,
        PROD_NGINX,
        "image: {repository: attacker/model-api, tag: latest}",
        "environments.prod.helmValues.image.repository",
        "attacker/model-api",
        "set image.repository in the spec instead",
    ),
    "no replicas": (
        FROZEN_SPEC_TEXT,
        PROD_NGINX,
        "replicaCount: 0",
        "environments.prod.helmValues.replicaCount",
        "replicaCount: 0",
        "set replicas in the spec instead",
    ),
    "another team's Secret": (
        FROZEN_SPEC_TEXT,
        PROD_NGINX,
        "secret: {name: payments-secrets}",
        "environments.prod.helmValues.secret",
        "payments-secrets",
        "set secrets.name in the spec instead",
    ),
    "a blue-green colour's tag": (
        FROZEN_SPEC_TEXT,
        PROD_NGINX,
        "rollout: {colors: {green: {tag: latest}}}",
        "environments.prod.helmValues.rollout",
        "rollout: {colors",
        "set rollout in the spec instead",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_helm_values_cannot_set_what_the_spec_renders(case: str) -> None:
    base, anchor, values, path, needle, hint = CASES[case]
    text = _with(base, anchor, values)
    found = _gg142(text)
    assert found, case
    assert found[0].path == path
    assert found[0].line == _line_of(text, needle)
    assert found[0].is_error and hint in found[0].hint


def test_the_image_is_refused_field_by_field() -> None:
    text = _with(
        FROZEN_SPEC_TEXT, PROD_NGINX, "image: {repository: attacker/model-api, tag: latest}"
    )
    assert [f.path.rsplit(".", 1)[1] for f in _gg142(text)] == ["repository", "tag"]


def test_values_the_spec_does_not_render_stay_free() -> None:
    text = _with(
        FROZEN_SPEC_TEXT,
        PROD_NGINX,
        "ingress: {path: /api, annotations: {nginx.ingress.kubernetes.io/proxy-body-size: 8m}}\n"
        "image: {pullPolicy: Always}\n"
        "resources: {limits: {memory: 2Gi}}\n"
        "persistence: {enabled: false}",
    )
    assert _gg142(text) == []


def test_defaults_helm_values_are_refused_where_written(tmp_repo: Path, run_cli: Invoke) -> None:
    """validate (which passed this on the code before) fails, at the line in `defaults`."""
    spec = tmp_repo / SPEC
    text = spec.read_text().replace(
        "  secrets: {name: fastapi-secrets}\n",
        "  secrets: {name: fastapi-secrets}\n  helmValues: {replicaCount: 0}\n",
    )
    spec.write_text(text)
    result = run_cli("validate", "--root", tmp_repo, expect=1)
    line = _line_of(text, "replicaCount: 0")
    assert f"{SPEC}:{line}:" in result.stdout and "[GG142]" in result.stdout
    assert (
        "helmValues.replicaCount: sets what gitopsgen renders from the spec's replicas"
        in result.stdout
    )


def test_status_compares_the_cluster_with_the_rendered_values() -> None:
    """`status` expects what Argo CD was handed, helmValues merged: a spec that slipped past
    the policies (loaded without them) is compared with its render, not with its spec fields."""
    from gitopsgen.live.status import workload_checks

    text = _with(
        FROZEN_SPEC_TEXT,
        PROD_NGINX,
        "replicaCount: 0\nimage: {tag: 9.9.9}\n"
        "ingress: {annotations: {nginx.ingress.kubernetes.io/whitelist-source-range: 10.0.0.0/8}}",
    )
    prod = parse_spec(text, SPEC)[0].require("prod")
    container = {"image": "docker.io/example-org/model-api:9.9.9", "env": []}
    deployment = {
        "spec": {"template": {"spec": {"containers": [container]}}},
        "status": {"readyReplicas": 0},
    }
    annotation = "nginx.ingress.kubernetes.io/whitelist-source-range"
    ingress = {"metadata": {"annotations": {annotation: "10.0.0.0/8"}}}
    checks = {c.item: c for c in workload_checks(prod, deployment, ingress, None)}
    assert checks["image"].ok and checks["ready replicas"].ok
    assert checks["ingress allow-list"].ok


@pytest.mark.parametrize("case", ["shipped-spec", "three-envs", "gateway-providers", "blue-green"])
def test_every_value_gitopsgen_renders_is_owned(case: str) -> None:
    """A value the values renderer sets that SPEC_OWNED_VALUES does not cover would be one
    helmValues could override unchecked: every rendered leaf (but `env`, GG140's) is owned."""
    from gitopsgen.render.values import build_values
    from gitopsgen.validate.policies.owned_values import owned_field

    def leaves(value: object, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        if isinstance(value, dict) and value:
            return [p for k, v in value.items() for p in leaves(v, (*path, str(k)))]
        return [path]

    spec = parse_spec((Path(__file__).parent / f"golden/{case}/spec.yaml").read_text(), SPEC)[0]
    for env in spec.environments:
        for leaf in leaves(build_values(replace(env, helm_values={})), ()):
            owned = any(owned_field(leaf[:n]) for n in range(1, len(leaf) + 1))
            assert owned or leaf[0] == "env", (env.name, leaf)


def test_a_mistyped_helm_values_key_is_reported_at_its_spec_line(
    tmp_repo: Path, run_cli: Invoke
) -> None:
    """Issue 26, item 18: before, line 1 of apps/fastapi/values/prod.yaml with Helm's raw text
    ("values don't meet the specifications of the schema(s) ... additional properties")."""
    spec = tmp_repo / SPEC
    text = _with(
        spec.read_text(), PROD_NGINX, "podDisruptonBudget: {enabled: false}\nservice: {port: 0}"
    ).replace(
        "  secrets: {name: fastapi-secrets}\n",
        "  secrets: {name: fastapi-secrets}\n  helmValues: {tolerations: {}}\n",
    )
    spec.write_text(text)
    run_cli("render", "--root", tmp_repo)
    result = run_cli("validate", "--root", tmp_repo, expect=1)
    refused = [ln.strip() for ln in result.stdout.splitlines() if "[GG303]" in ln]
    typo, port = _line_of(text, "podDisruptonBudget"), _line_of(text, "service: {port: 0}")
    in_defaults = _line_of(text, "helmValues: {tolerations")
    assert refused == [
        f"{SPEC}:{in_defaults}:16: error [GG303] environments.dev.helmValues.tolerations: the "
        "chart's values.schema.json: {} is not of type 'array'",
        f"{SPEC}:{in_defaults}:16: error [GG303] environments.prod.helmValues.tolerations: the "
        "chart's values.schema.json: {} is not of type 'array'",
        f"{SPEC}:{typo}:7: error [GG303] environments.prod.helmValues.podDisruptonBudget: the "
        "chart's values.schema.json: unknown field 'podDisruptonBudget' (did you mean "
        "'podDisruptionBudget'?)",
        f"{SPEC}:{port}:23: error [GG303] environments.prod.helmValues.service.port: the "
        "chart's values.schema.json: 0 is less than the minimum of 1",
    ]
    assert "don't meet the specifications" not in result.stdout
