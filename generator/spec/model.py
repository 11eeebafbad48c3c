"""The typed spec: what renderers read. Defaults are merged once, when the spec is loaded."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from gitopsgen.errors import UnknownEnvironment

ALIAS_COLOURS = {"A": "blue", "B": "green"}
# Where the serving chart lives unless the spec says otherwise (app.chart): this repository's.
DEFAULT_CHART_PATH = "apps/fastapi/chart"


@dataclass(frozen=True)
class Image:
    repository: str
    tag: str

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class Cluster:
    name: str
    server: str
    kube_context: str | None


@dataclass(frozen=True)
class Serving:
    mode: str
    default_alias: str
    canary_percent: int
    ab_split_percent: int
    shadow_alias: str | None
    poll_interval_seconds: int
    shadow_percent: int = 10
    shadow_tolerance: float = 0.0
    canary_steps: tuple[int, ...] = (10, 25, 50, 100)


@dataclass(frozen=True)
class Analysis:
    """What `verify` reads from Prometheus and the thresholds it judges the candidate by."""

    prometheus_url: str | None
    selector: str
    window: str = "10m"
    min_samples: int = 200
    max_error_rate: float = 0.01
    max_p99_seconds: float = 0.5
    max_latency_ratio: float = 1.5
    min_shadow_agreement: float = 0.95


COLOURS = ("blue", "green")


@dataclass(frozen=True)
class Colour:
    """One colour of a blueGreen rollout: a Deployment of its own image tag serving one alias."""

    name: str
    tag: str
    alias: str


@dataclass(frozen=True)
class Rollout:
    """How a new version of the serving app arrives: `single` (one Deployment) or `blueGreen`
    (two, the Service selecting `active`; the other one is behind the preview Service)."""

    strategy: str = "single"
    active: str = "blue"
    blue: Colour = Colour("blue", "", "A")
    green: Colour = Colour("green", "", "B")
    idle_replicas: int = 0
    shadow_percent: int = 0

    @property
    def blue_green(self) -> bool:
        return self.strategy == "blueGreen"

    @property
    def idle(self) -> str:
        return "green" if self.active == "blue" else "blue"

    def colour(self, name: str) -> Colour:
        return self.blue if name == "blue" else self.green


GATEWAY_PROVIDERS = ("envoy-gateway", "traefik")
# A created Gateway's defaults: the GatewayClass each project's install guide names, and the
# HTTPS port its proxy listens on (Traefik matches a listener to the entryPoint of that port).
GATEWAY_CLASS = {"envoy-gateway": "eg", "traefik": "traefik"}
GATEWAY_PORT = {"envoy-gateway": 443, "traefik": 8443}


@dataclass(frozen=True)
class Gateway:
    """The HTTPRoute's parent: the platform team's shared Gateway, or one gitopsgen creates in
    the environment's namespace (`create`)."""

    name: str
    namespace: str
    section_name: str | None
    create: bool
    class_name: str
    port: int


@dataclass(frozen=True)
class Ingress:
    enabled: bool
    host: str
    tls_secret_name: str
    class_name: str
    whitelist: tuple[str, ...]
    allow_public: bool
    provider: str = "nginx"
    gateway: Gateway | None = None  # set for the Gateway API providers only
    client_address: str = "direct"
    trusted_hops: int | None = None
    external_traffic_policy: str | None = None  # None: the spec does not say
    preview_host: str | None = None  # blueGreen: a host routed to the preview Service

    @property
    def uses_gateway_api(self) -> bool:
        return self.provider in GATEWAY_PROVIDERS


@dataclass(frozen=True)
class MetalLB:
    pool: str
    addresses: tuple[str, ...]
    namespace: str
    auto_assign: bool


@dataclass(frozen=True)
class SyncPolicy:
    automated: bool
    prune: bool
    self_heal: bool


@dataclass(frozen=True)
class Environment:
    name: str
    cluster: Cluster
    namespace: str
    production_like: bool
    replicas: int
    image: Image
    model_name: str
    tracking_uri: str
    serving: Serving
    ingress: Ingress
    metallb: MetalLB | None  # None: no MetalLB (a cloud load balancer, say); nothing rendered
    secret_name: str
    sync_policy: SyncPolicy
    # pins: alias -> the registered model version it serves exactly (model.versions)
    model_versions: tuple[tuple[str, str], ...] = ()
    helm_values: dict[str, Any] = field(default_factory=dict)
    analysis: Analysis = field(default_factory=lambda: Analysis(None, ""))
    rollout: Rollout = field(default_factory=Rollout)

    def pinned_version(self, alias: str) -> str | None:
        """The version `alias` is pinned to in Git (model.versions), or None."""
        return dict(self.model_versions).get(alias)

    def colour_replicas(self, colour: str) -> int:
        """Pods of a colour: `replicas` for the active one, `idleReplicas` for the other."""
        return self.replicas if colour == self.rollout.active else self.rollout.idle_replicas


DELIVERY_MODES = ("chart", "hydrated")


@dataclass(frozen=True)
class Delivery:
    """How rendered output reaches a cluster: `chart` (Argo CD renders the chart from the spec
    branch) or `hydrated` (gitopsgen hydrate commits plain manifests to environment branches,
    the Argo CD Source Hydrator / GitOps Promoter contract; docs/hydrate.md)."""

    mode: str = "chart"
    branch_prefix: str = "environment/"
    active_paths: bool = (
        False  # GitOps Promoter's shared-branch mode (PromotionStrategy.activePath)
    )

    @property
    def hydrated(self) -> bool:
        return self.mode == "hydrated"


@dataclass(frozen=True)
class Spec:
    """The whole spec; `source` is its path relative to the repository root."""

    source: str
    repo_url: str
    target_revision: str
    argocd_namespace: str
    project: str
    app_name: str
    environments: tuple[Environment, ...]
    chart_path: str = DEFAULT_CHART_PATH  # app.chart, relative to the repository root
    delivery: Delivery = field(default_factory=Delivery)

    @property
    def release_name(self) -> str:
        """The Helm release of every environment (the ApplicationSet's releaseName)."""
        return self.app_name

    @property
    def values_folder(self) -> str:
        return values_folder_of(self.chart_path)

    @property
    def chart_values_file(self) -> str:
        return f"{self.chart_path}/values.yaml"

    @property
    def app_source_folder(self) -> str:
        """Where a repository keeps its copy of the serving app: `app/` beside the chart."""
        return posixpath.join(posixpath.dirname(self.chart_path), "app")

    def environment(self, name: str) -> Environment:
        for env in self.environments:
            if env.name == name:
                return env
        raise KeyError(name)

    def require(self, name: str) -> Environment:
        """The environment a command names; an unknown name is the caller's mistake (exit 2)."""
        try:
            return self.environment(name)
        except KeyError:
            raise UnknownEnvironment(
                f"unknown environment {name!r}; known: {', '.join(self.names)}"
            ) from None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(env.name for env in self.environments)


def values_folder_of(chart_path: str) -> str:
    """Where the environments' Helm values are rendered: `values/` beside the chart."""
    return posixpath.join(posixpath.dirname(chart_path), "values")


def is_production_like_name(name: str) -> bool:
    return name == "prod" or name.startswith(("prod-", "production"))


def build_environment(
    name: str, data: dict[str, Any], app_image: dict[str, Any], app_name: str
) -> Environment:
    """Build from a merged, schema-valid mapping."""
    cluster = data["cluster"]
    serving = data["serving"]
    ingress = data.get("ingress", {})
    metallb = data.get("metallb")
    sync = data["syncPolicy"]
    image = {**app_image, **data.get("image", {})}
    return Environment(
        name=name,
        cluster=Cluster(cluster["name"], cluster["server"], cluster.get("kubeContext")),
        namespace=data["namespace"],
        production_like=data.get("productionLike", is_production_like_name(name)),
        replicas=data["replicas"],
        image=Image(image["repository"], image.get("tag", "")),
        model_name=data["model"]["name"],
        tracking_uri=data["mlflow"]["trackingUri"],
        serving=Serving(
            mode=serving["mode"],
            default_alias=serving["defaultAlias"],
            canary_percent=serving["canaryPercent"],
            ab_split_percent=serving["abSplitPercent"],
            shadow_alias=serving.get("shadowAlias"),
            poll_interval_seconds=serving.get("pollIntervalSeconds", 30),
            shadow_percent=serving.get("shadowPercent", 10),
            shadow_tolerance=float(serving.get("shadowTolerance", 0.0)),
            canary_steps=tuple(sorted(serving.get("canarySteps", (10, 25, 50, 100)))),
        ),
        ingress=Ingress(
            enabled=ingress.get("enabled", True),
            host=ingress.get("host", ""),
            tls_secret_name=ingress.get("tlsSecretName", ""),
            class_name=ingress.get("className", "nginx"),
            whitelist=tuple(ingress.get("whitelist", ())),
            allow_public=ingress.get("allowPublic", False),
            provider=ingress.get("provider", "nginx"),
            gateway=build_gateway(ingress, data["namespace"], app_name),
            client_address=ingress.get("clientAddress", "direct"),
            trusted_hops=ingress.get("trustedHops"),
            external_traffic_policy=_external_traffic_policy(ingress),
            preview_host=ingress.get("previewHost"),
        ),
        metallb=build_metallb(metallb) if metallb is not None else None,
        # the chart convention for an app's Secret when the spec names none
        secret_name=(data.get("secrets") or {}).get("name") or f"{app_name}-secrets",
        sync_policy=SyncPolicy(sync["automated"], sync["prune"], sync["selfHeal"]),
        model_versions=tuple(sorted((data["model"].get("versions") or {}).items())),
        helm_values=data.get("helmValues", {}),
        analysis=build_analysis(data.get("analysis") or {}, data["namespace"]),
        rollout=build_rollout(data, image.get("tag", ""), serving["defaultAlias"]),
    )


def build_metallb(data: dict[str, Any]) -> MetalLB:
    return MetalLB(
        pool=data["pool"],
        addresses=tuple(data["addresses"]),
        namespace=data.get("namespace", "metallb-system"),
        auto_assign=data.get("autoAssign", True),
    )


def build_rollout(data: dict[str, Any], tag: str, alias: str) -> Rollout:
    """The rollout section; a colour's tag defaults to the environment's, its alias to the
    serving alias, the idle colour's replicas to `replicas`."""
    rollout = data.get("rollout") or {}

    def colour(name: str) -> Colour:
        part = rollout.get(name) or {}
        return Colour(name, (part.get("image") or {}).get("tag", tag), part.get("alias", alias))

    return Rollout(
        strategy=rollout.get("strategy", "single"),
        active=rollout.get("active", "blue"),
        blue=colour("blue"),
        green=colour("green"),
        idle_replicas=rollout.get("idleReplicas", data["replicas"]),
        shadow_percent=rollout.get("shadowPercent", 0),
    )


def build_analysis(data: dict[str, Any], namespace: str) -> Analysis:
    """The analysis section with its defaults; the selector defaults to the namespace, as
    Prometheus's Kubernetes service discovery labels a pod's series."""
    return Analysis(
        prometheus_url=(data.get("prometheus") or {}).get("url"),
        selector=data.get("selector", f'namespace="{namespace}"'),
        window=data.get("window", "10m"),
        min_samples=data.get("minSamples", 200),
        max_error_rate=float(data.get("maxErrorRate", 0.01)),
        max_p99_seconds=float(data.get("maxP99Seconds", 0.5)),
        max_latency_ratio=float(data.get("maxLatencyRatio", 1.5)),
        min_shadow_agreement=float(data.get("minShadowAgreement", 0.95)),
    )


def build_spec(data: dict[str, Any], display: str, envs: tuple[Environment, ...]) -> Spec:
    """The spec's own fields where they are well-formed, else empty (policies skip them)."""

    def text(section: str, key: str, default: str = "") -> str:
        part = data.get(section)
        value = part.get(key, default) if isinstance(part, dict) else default
        return value if isinstance(value, str) else ""

    return Spec(
        source=display,
        repo_url=text("repo", "url"),
        target_revision=text("repo", "targetRevision", "main"),
        argocd_namespace=text("argocd", "namespace", "argocd"),
        project=text("argocd", "project"),
        app_name=text("app", "name"),
        environments=envs,
        chart_path=text("app", "chart", DEFAULT_CHART_PATH) or DEFAULT_CHART_PATH,
        delivery=build_delivery(data.get("delivery")),
    )


def build_delivery(data: Any) -> Delivery:
    """The delivery section with its defaults (the schema has checked its types)."""
    if not isinstance(data, dict):
        return Delivery()
    default = Delivery()
    return Delivery(
        mode=data.get("mode", default.mode),
        branch_prefix=data.get("branchPrefix", default.branch_prefix),
        active_paths=bool(data.get("activePaths", default.active_paths)),
    )


def build_gateway(ingress: dict[str, Any], namespace: str, app_name: str) -> Gateway | None:
    """The parent Gateway of a Gateway API provider (None for nginx, which ignores the field)."""
    provider = ingress.get("provider", "nginx")
    if provider not in GATEWAY_PROVIDERS:
        return None
    data = ingress.get("gateway") or {}
    create = bool(data.get("create", False))
    # `name` and `namespace` name the shared Gateway (often in `defaults`); a created one is
    # named after the app, in the environment's namespace
    return Gateway(
        name=app_name if create else data.get("name", ""),
        namespace=namespace if create else data.get("namespace", ""),
        section_name=data.get("sectionName") or ("https" if create else None),
        create=create,
        class_name=data.get("className", GATEWAY_CLASS[provider]),
        port=data.get("port", GATEWAY_PORT[provider]),
    )


def _external_traffic_policy(ingress: dict[str, Any]) -> str | None:
    """As the spec says; a Gateway gitopsgen creates with envoy-gateway gets Local (Envoy
    Gateway's own default for its Service) unless the spec says otherwise."""
    given: str | None = ingress.get("externalTrafficPolicy")
    created = (ingress.get("gateway") or {}).get("create", False)
    if given is None and created and ingress.get("provider") == "envoy-gateway":
        return "Local"
    return given
