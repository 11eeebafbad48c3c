"""Whatever enforces the allow-list must see the client's address (GG130-GG132).

An allow-list is only as good as the address it is checked against. Behind MetalLB, a
LoadBalancer Service with the default `externalTrafficPolicy: Cluster` lets kube-proxy forward a
connection that arrived on one node to a pod on another, replacing its source with that node's
address; with X-Forwarded-For, the entry to trust depends on how many proxies append to it.
"""

from __future__ import annotations

from collections.abc import Iterator

from gitopsgen.findings import Finding, Severity
from gitopsgen.spec.model import Environment, Spec
from gitopsgen.validate.policies.locator import SpecLocator, env_path
from gitopsgen.yamlsource import PathPart

ENFORCERS = {
    "nginx": "ingress-nginx",
    "envoy-gateway": "Envoy (the SecurityPolicy's clientCIDRs)",
    "traefik": "Traefik (the Middleware's ipAllowList)",
}


def _severity(env: Environment) -> Severity:
    return Severity.ERROR if env.production_like else Severity.WARNING


def _first_given(at: SpecLocator, env: Environment, *fields: str) -> tuple[PathPart, ...]:
    """The first of the ingress fields the spec (or its defaults) writes, else `ingress`."""
    for name in fields:
        path = env_path(env, "ingress", name)
        if at.doc.has_path(path) or at.doc.has_path(("defaults", "ingress", name)):
            return path
    return env_path(env, "ingress")


def _direct_needs_local(env: Environment, at: SpecLocator) -> Iterator[Finding]:
    ingress = env.ingress
    policy = ingress.external_traffic_policy
    if ingress.client_address != "direct" or policy == "Local":
        return
    if policy is None and not ingress.uses_gateway_api:
        return  # ingress-nginx: docs/operations.md's install steps require Local; unchanged since before
    enforcer = ENFORCERS[ingress.provider]
    state = "externalTrafficPolicy: Cluster" if policy else "an undeclared externalTrafficPolicy"
    yield at.finding(
        "GG130",
        _first_given(at, env, "externalTrafficPolicy", "clientAddress"),
        f"{env.name}: {enforcer} checks the connection's source address, and behind MetalLB "
        f"with {state} (Kubernetes' default is Cluster) connections that arrive on another "
        "node are SNATed: it will see node addresses, not clients' "
        f"({', '.join(ingress.whitelist)} never matches a client, or matches every client "
        "when it holds the nodes)",
        "set externalTrafficPolicy: Local on the Service in front of it and declare "
        "ingress.externalTrafficPolicy: Local (with envoy-gateway, ingress.gateway.create: "
        "true renders that Service itself), or use clientAddress xForwardedFor or proxyProtocol",
        _severity(env),
    )


def _forwarded_for_needs_hops(env: Environment, at: SpecLocator) -> Iterator[Finding]:
    ingress = env.ingress
    if ingress.client_address != "xForwardedFor" or ingress.trusted_hops:
        return
    yield at.finding(
        "GG131",
        _first_given(at, env, "clientAddress"),
        f"{env.name}: clientAddress is xForwardedFor without trustedHops: "
        f"{ENFORCERS[ingress.provider]} will see the address of the proxy in front of it "
        "(the last hop), not the client's",
        "set ingress.trustedHops to the number of proxies that append to X-Forwarded-For",
        _severity(env),
    )


def _created_gateway_is_not_named(env: Environment, at: SpecLocator) -> Iterator[Finding]:
    """A created Gateway is app.name in the environment's namespace; an environment that both
    creates one and names one (not through `defaults`) says two things at once."""
    gateway = env.ingress.gateway
    if gateway is None or not gateway.create:
        return
    for field in ("name", "namespace"):
        path = env_path(env, "ingress", "gateway", field)
        if at.doc.has_path(path):
            yield at.finding(
                "GG132",
                path,
                f"{env.name}: ingress.gateway.{field} names a shared Gateway, but create: true "
                f"renders {gateway.name!r} in {gateway.namespace!r}",
                "drop the field, or set create: false to attach to that shared Gateway",
            )


def check_client_address(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    for env in spec.environments:
        if not env.ingress.enabled:
            continue
        yield from _created_gateway_is_not_named(env, at)
        if not env.ingress.whitelist:
            continue  # nothing is enforced (GG101 covers production-like environments)
        yield from _direct_needs_local(env, at)
        yield from _forwarded_for_needs_hops(env, at)
