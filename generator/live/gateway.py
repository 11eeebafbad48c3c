"""Live status of a Gateway API environment: the HTTPRoute and the allow-list object of its
provider (Envoy Gateway's SecurityPolicy, Traefik's Middleware), compared with the spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitopsgen.live.api import dicts_at, strings_at, text_at
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
        items = dicts_at(found, "items")
        return items[0] if items else None

    return GatewayObjects(first(*ROUTE), first(*ALLOW_LIST[env.ingress.provider]))


def _parent(ref: dict[str, Any]) -> str:
    parts = [text_at(ref, "namespace") or "", text_at(ref, "name") or ""]
    section = text_at(ref, "sectionName")
    if section:
        parts.append(section)
    return "/".join(parts)


def expected_parent(env: Environment) -> str:
    gateway = env.ingress.gateway
    assert gateway is not None  # a Gateway API provider always has one
    ref = {"namespace": gateway.namespace, "name": gateway.name}
    return _parent({**ref, "sectionName": gateway.section_name or ""})


def live_cidrs(provider: str, obj: dict[str, Any]) -> str:
    """The allow-list an object enforces, as the spec writes it (comma-separated)."""
    if provider == "traefik":
        return ",".join(strings_at(obj, "spec", "ipAllowList", "sourceRange"))
    allowed = [
        cidr
        for rule in dicts_at(obj, "spec", "authorization", "rules")
        if rule.get("action") == "Allow"
        for cidr in strings_at(rule, "principal", "clientCIDRs")
    ]
    text = ",".join(allowed)
    # Envoy Gateway's default is Allow
    default = text_at(obj, "spec", "authorization", "defaultAction") or "Allow"
    return text if default == "Deny" else f"{text} (defaultAction {default}: every client)"


def route_filters(route: dict[str, Any]) -> str:
    names = [
        f"{text_at(f, 'extensionRef', 'kind')}/{text_at(f, 'extensionRef', 'name')}"
        for rule in dicts_at(route, "spec", "rules")
        for f in dicts_at(rule, "filters")
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
    rows: list[tuple[str, str, str | None]] = [
        (
            "route hostnames",
            ingress.host,
            ",".join(strings_at(route, "spec", "hostnames")) if route else None,
        ),
        (
            "route parent",
            expected_parent(env),
            ",".join(_parent(r) for r in dicts_at(route, "spec", "parentRefs")) if route else None,
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
