"""The parts of an environment in the typed spec: each field declared with its spec key, its
default and its meaning (`spec_field`), the one place a default lives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gitopsgen.spec.fields import Context, Derived, context_field, spec_field

ALIAS_COLOURS = {"A": "blue", "B": "green"}

Alias = Literal["A", "B"]
ServingMode = Literal["ab_test", "canary", "blue_green"]
ColourName = Literal["blue", "green"]
RolloutStrategy = Literal["single", "blueGreen"]
IngressProvider = Literal["nginx", "envoy-gateway", "traefik"]
ClientAddress = Literal["direct", "xForwardedFor", "proxyProtocol"]
TrafficPolicy = Literal["Local", "Cluster"]

COLOURS: tuple[ColourName, ...] = ("blue", "green")
GATEWAY_PROVIDERS = ("envoy-gateway", "traefik")
# A created Gateway's defaults: the GatewayClass each project's install guide names, and the
# HTTPS port its proxy listens on (Traefik matches a listener to the entryPoint of that port).
GATEWAY_CLASS = {"envoy-gateway": "eg", "traefik": "traefik"}
GATEWAY_PORT = {"envoy-gateway": 443, "traefik": 8443}


def is_production_like_name(name: str) -> bool:
    return name == "prod" or name.startswith(("prod-", "production"))


def _series_selector(ctx: Context) -> str:
    """The namespace, as Prometheus's Kubernetes service discovery labels a pod's series; in the
    services form also the release, which the chart puts on every pod as the label
    app.kubernetes.io/instance and the usual pod scrape job (`labelmap` of
    __meta_kubernetes_pod_label_(.+)) turns into app_kubernetes_io_instance."""
    selector = f'namespace="{ctx.value("namespace")}"'
    service = ctx.names["target"].service
    return selector if service is None else f'{selector},app_kubernetes_io_instance="{service}"'


def _provider(ctx: Context) -> str:
    return str(ctx.value("ingress", "provider"))


def _created_envoy_gateway(ctx: Context) -> TrafficPolicy | None:
    """Envoy Gateway's own default for its Service, for a Gateway gitopsgen creates with it."""
    created = ctx.value("ingress", "gateway", "create") and _provider(ctx) == "envoy-gateway"
    return "Local" if created else None


@dataclass(frozen=True, kw_only=True)
class Image:
    repository: str = spec_field(
        "the image repository; overrides `app.image`, so a new build goes to dev first",
        shown="`app.image.repository`",
    )
    tag: str = spec_field("the image tag", default="", shown="`app.image.tag`")

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True, kw_only=True)
class Cluster:
    name: str = spec_field("the Argo CD destination cluster's name")
    server: str = spec_field("the destination cluster's API server URL")
    kube_context: str | None = spec_field(
        "kubeconfig context of that cluster (for live status)", default=None
    )


@dataclass(frozen=True, kw_only=True)
class Serving:
    mode: ServingMode = spec_field("`ab_test`, `canary` or `blue_green`")
    default_alias: Alias = spec_field(
        "`A` (blue) or `B` (green): what blue_green serves, and where clients without an id go"
    )
    canary_percent: int = spec_field("share of clients sent to B in `canary` (0–100)")
    ab_split_percent: int = spec_field("share of clients kept on A in `ab_test` (0–100)")
    shadow_alias: Alias | None = spec_field(
        "run every request on this alias too, off the request path", default=None
    )
    poll_interval_seconds: int = spec_field(
        "how often each pod checks whether an alias moved", default=30
    )
    shadow_percent: int = spec_field(
        "share of requests also run on `shadowAlias` (`SHADOW_PERCENT`), so shadowing costs "
        "bounded CPU",
        default=10,
    )
    shadow_tolerance: float = spec_field(
        "relative tolerance under which a shadow prediction agrees (`SHADOW_TOLERANCE`); 0 is "
        "exact, right for labels, e.g. 0.01 for a regressor",
        default=0.0,
    )
    canary_steps: tuple[int, ...] = spec_field(
        "the percentages `gitopsgen canary` steps through (sorted, unique)",
        default=(10, 25, 50, 100),
        convert=lambda steps: tuple(sorted(steps)),
    )


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """What `verify` reads from Prometheus and the thresholds it judges the candidate by."""

    prometheus_url: str | None = spec_field(
        "the Prometheus HTTP API `gitopsgen verify` queries (`--prometheus` overrides)",
        key="prometheus.url",
        default=None,
    )
    selector: str = spec_field(
        "PromQL label matchers of the environment's series",
        derived=Derived(
            lambda ctx: _series_selector(ctx),
            '`namespace="<namespace>"`; in the services form also '
            '`app_kubernetes_io_instance="<service>"`',
        ),
    )
    window: str = spec_field("how far back the checks look (`30s`, `10m`, `1h`)", default="10m")
    min_samples: int = spec_field(
        "requests (or shadow comparisons) each variant needs in the window; fewer is "
        "Inconclusive, never Successful",
        default=200,
    )
    max_error_rate: float = spec_field(
        "highest 5xx share of the candidate's requests", default=0.01
    )
    max_p99_seconds: float = spec_field("highest p99 latency of the candidate", default=0.5)
    max_latency_ratio: float = spec_field("highest candidate p99 / live p99", default=1.5)
    min_shadow_agreement: float = spec_field(
        "lowest share of shadow comparisons that agree (when `shadowAlias` is the candidate)",
        default=0.95,
    )


@dataclass(frozen=True, kw_only=True)
class Colour:
    """One colour of a blueGreen rollout: a Deployment of its own image tag serving one alias."""

    name: ColourName = context_field(lambda ctx: ctx.path[-1])
    tag: str = spec_field(
        "the colour's image tag (the repository is the environment's)",
        key="image.tag",
        derived=Derived(lambda ctx: ctx.value("image", "tag"), "the environment's `image.tag`"),
    )
    alias: Alias = spec_field(
        "the alias the colour serves (`blue_green` inside it)",
        derived=Derived(lambda ctx: ctx.value("serving", "defaultAlias"), "`serving.defaultAlias`"),
    )


@dataclass(frozen=True, kw_only=True)
class Rollout:
    """How a new version of the serving app arrives: `single` (one Deployment) or `blueGreen`
    (two, the Service selecting `active`; the other one is behind the preview Service)."""

    strategy: RolloutStrategy = spec_field(
        "`single` (one Deployment) or `blueGreen` (two, see [Blue-green of the serving image]"
        "(blue-green.md))",
        default="single",
    )
    active: ColourName = spec_field(
        "`blue` or `green`: the colour the Service selects", default="blue"
    )
    blue: Colour = spec_field("the blue colour")
    green: Colour = spec_field("the green colour")
    idle_replicas: int = spec_field(
        "pods of the colour not serving (0 allowed)",
        derived=Derived(lambda ctx: ctx.value("replicas"), "`replicas`"),
    )
    shadow_percent: int = spec_field(
        "share of live `/predict` requests the active colour mirrors to the other", default=0
    )

    @property
    def blue_green(self) -> bool:
        return self.strategy == "blueGreen"

    @property
    def idle(self) -> ColourName:
        return "green" if self.active == "blue" else "blue"

    def colour(self, name: str) -> Colour:
        return self.blue if name == "blue" else self.green


@dataclass(frozen=True, kw_only=True)
class Gateway:
    """The HTTPRoute's parent: the platform team's shared Gateway, or one gitopsgen creates in
    the environment's namespace (`create`)."""

    name: str = spec_field(
        "the shared Gateway (owned by the platform team) the HTTPRoute attaches to; required "
        "for `envoy-gateway` and `traefik` unless `create`",
        default="",
        shown="none",
    )
    namespace: str = spec_field("the shared Gateway's namespace", default="", shown="none")
    section_name: str | None = spec_field(
        "the listener of the shared Gateway to attach to",
        default=None,
        shown="every listener that allows the route; `https` with `create`",
    )
    create: bool = spec_field(
        "render a Gateway of the environment's own, named `app.name`, in its namespace: an "
        "HTTPS listener on `ingress.host` with `ingress.tlsSecretName`",
        default=False,
    )
    class_name: str = spec_field(
        "a created Gateway's GatewayClass",
        derived=Derived(
            lambda ctx: GATEWAY_CLASS[_provider(ctx)], "`eg` (envoy-gateway), `traefik` (traefik)"
        ),
    )
    port: int = spec_field(
        "a created Gateway's HTTPS port",
        derived=Derived(
            lambda ctx: GATEWAY_PORT[_provider(ctx)], "443 (envoy-gateway), 8443 (traefik)"
        ),
    )


@dataclass(frozen=True, kw_only=True)
class Ingress:
    enabled: bool = spec_field("render an Ingress", default=True)
    host: str = spec_field("the Ingress host", default="", shown="required when enabled")
    tls_secret_name: str = spec_field(
        "the Ingress's TLS Secret", default="", shown="required when enabled"
    )
    class_name: str = spec_field("the IngressClass", default="nginx")
    whitelist: tuple[str, ...] = spec_field(
        "allowed client CIDRs (`nginx.ingress.kubernetes.io/whitelist-source-range`)",
        default=(),
    )
    allow_public: bool = spec_field("allow `0.0.0.0/0` or `::/0` on purpose", default=False)
    provider: IngressProvider = spec_field(
        "what enforces the allow-list: `nginx` (ingress-nginx, retired upstream in March "
        "2026), `envoy-gateway` or `traefik` (see [Ingress providers]"
        "(ingress.md))",
        default="nginx",
    )
    # set for the Gateway API providers only
    gateway: Gateway | None = spec_field(
        "the Gateway API parent", when=lambda ctx: _provider(ctx) in GATEWAY_PROVIDERS
    )
    client_address: ClientAddress = spec_field(
        "how the enforcer learns the client's address: `direct`, `xForwardedFor` or "
        "`proxyProtocol`",
        default="direct",
    )
    trusted_hops: int | None = spec_field(
        "with `xForwardedFor`: how many proxies in front append to X-Forwarded-For",
        default=None,
    )
    external_traffic_policy: TrafficPolicy | None = spec_field(
        "`Local` or `Cluster`: the LoadBalancer Service in front of the enforcer (a statement "
        "about the platform's Service; rendered for a Gateway gitopsgen creates with "
        "envoy-gateway)",
        derived=Derived(
            _created_envoy_gateway,
            "`Local` for an envoy-gateway Gateway gitopsgen creates; otherwise unset",
        ),
    )
    preview_host: str | None = spec_field(
        "with blueGreen: a host routed to the idle colour, same allow-list", default=None
    )

    @property
    def uses_gateway_api(self) -> bool:
        return self.provider in GATEWAY_PROVIDERS


@dataclass(frozen=True, kw_only=True)
class MetalLB:
    pool: str = spec_field(
        "the IPAddressPool's name; no `metallb` at all: no MetalLB (a cloud load balancer)",
        shown="required with `metallb`",
    )
    addresses: tuple[str, ...] = spec_field(
        "the pool's CIDRs or `first-last` ranges", shown="required with `metallb`"
    )
    namespace: str = spec_field("MetalLB's namespace", default="metallb-system")
    auto_assign: bool = spec_field("MetalLB assigns from the pool on its own", default=True)


@dataclass(frozen=True, kw_only=True)
class SyncPolicy:
    automated: bool = spec_field("Argo CD automated sync of the environment")
    prune: bool = spec_field("automated sync prunes what the repository no longer holds")
    self_heal: bool = spec_field("automated sync undoes changes made in the cluster")
