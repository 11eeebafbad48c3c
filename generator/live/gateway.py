"""Live status of a Gateway API environment: the HTTPRoute and the allow-list object of its
provider (Envoy Gateway's SecurityPolicy, Traefik's Middleware), compared with the spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitopsgen.spec.model import Environment

ROUTE = ("gateway.networking.k8s.io", "v1", "httproutes")
ALLOW_LIST = {
    "envoy-gateway": ("gateway.envoyproxy.io", "v1alpha1", "securitypolicies"),
    "traefik": ("traefik.io", "v1alpha1", "middlewares"),
}
NONE = "(none)"  # an empty allow-list renders no allow-list object


@dataclass(frozen=True)
class GatewayObjects:
    route: dict[str, Any] | None
    allow_list: dict[str, Any] | None


def read_gateway_objects(
    api: Any, env: Environment, timeout: float, selector: str, call: Any
) -> GatewayObjects:
    """The release's HTTPRoute and allow-list object in the environment's namespace."""
    from kubernetes import client  # slow to import: only status and wait need it

    custom = client.CustomObjectsApi(api)

    def first(group: str, version: str, plural: str) -> dict[str, Any] | None:
        found = call(
            custom.list_namespaced_custom_object,
            timeout,
            group,
            version,
            env.namespace,
            plural,
            label_selector=selector,
        )
        items = (found or {}).get("items") or []
        return items[0] if items else None

    return GatewayObjects(first(*ROUTE), first(*ALLOW_LIST[env.ingress.provider]))


def _parent(ref: dict[str, Any]) -> str:
    parts = [ref.get("namespace", ""), ref.get("name", "")]
    if ref.get("sectionName"):
        parts.append(ref["sectionName"])
    return "/".join(parts)


def expected_parent(env: Environment) -> str:
    gateway = env.ingress.gateway
    assert gateway is not None  # a Gateway API provider always has one
    ref = {"namespace": gateway.namespace, "name": gateway.name}
    return _parent({**ref, "sectionName": gateway.section_name or ""})


def live_cidrs(provider: str, obj: dict[str, Any]) -> str:
    """The allow-list an object enforces, as the spec writes it (comma-separated)."""
    spec = obj.get("spec") or {}
    if provider == "traefik":
        return ",".join((spec.get("ipAllowList") or {}).get("sourceRange") or [])
    authorization = spec.get("authorization") or {}
    allowed = [
        cidr
        for rule in authorization.get("rules") or []
        if rule.get("action") == "Allow"
        for cidr in (rule.get("principal") or {}).get("clientCIDRs") or []
    ]
    text = ",".join(allowed)
    default = authorization.get("defaultAction", "Allow")  # Envoy Gateway's default
    return text if default == "Deny" else f"{text} (defaultAction {default}: every client)"


def route_filters(route: dict[str, Any]) -> str:
    names = [
        f"{(f.get('extensionRef') or {}).get('kind')}/{(f.get('extensionRef') or {}).get('name')}"
        for rule in (route.get("spec") or {}).get("rules") or []
        for f in rule.get("filters") or []
        if f.get("type") == "ExtensionRef"
    ]
    return ",".join(names) or NONE


def gateway_rows(
    env: Environment, live: GatewayObjects, release: str
) -> list[tuple[str, str, str | None]]:
    """(item, expected, live or None when missing) for the route and the allow-list; the
    chart names the allow-list object `<release>-allow-list`."""
    ingress = env.ingress
    route = live.route
    spec = (route or {}).get("spec") or {}
    rows: list[tuple[str, str, str | None]] = [
        (
            "route hostnames",
            ingress.host,
            ",".join(spec.get("hostnames") or []) if route else None,
        ),
        (
            "route parent",
            expected_parent(env),
            ",".join(_parent(r) for r in spec.get("parentRefs") or []) if route else None,
        ),
    ]
    kind = "SecurityPolicy" if ingress.provider == "envoy-gateway" else "Middleware"
    expected = ",".join(ingress.whitelist) or NONE
    if live.allow_list is None:
        found = NONE if not ingress.whitelist else None
    else:
        found = live_cidrs(ingress.provider, live.allow_list)
    rows.append((f"allow-list ({kind})", expected, found))
    if ingress.provider == "traefik":
        wanted = f"Middleware/{release}-allow-list" if ingress.whitelist else NONE
        rows.append(("route filter", wanted, route_filters(route) if route else None))
    return rows
