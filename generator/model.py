"""The typed spec: what renderers read. Defaults are merged once, when the spec is loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALIAS_COLOURS = {"A": "blue", "B": "green"}


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


@dataclass(frozen=True)
class Ingress:
    enabled: bool
    host: str
    tls_secret_name: str
    class_name: str
    whitelist: tuple[str, ...]
    allow_public: bool


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
    metallb: MetalLB
    secret_name: str
    sync_policy: SyncPolicy
    helm_values: dict[str, Any] = field(default_factory=dict)
    analysis: Analysis = field(default_factory=lambda: Analysis(None, ""))


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

    def environment(self, name: str) -> Environment:
        for env in self.environments:
            if env.name == name:
                return env
        raise KeyError(name)

    def require(self, name: str) -> Environment:
        """The environment a command names; an unknown name is the caller's mistake (exit 2)."""
        from generator.errors import UnknownEnvironment

        try:
            return self.environment(name)
        except KeyError:
            raise UnknownEnvironment(
                f"unknown environment {name!r}; known: {', '.join(self.names)}"
            ) from None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(env.name for env in self.environments)


def is_production_like_name(name: str) -> bool:
    return name == "prod" or name.startswith(("prod-", "production"))


def build_environment(
    name: str, data: dict[str, Any], app_image: dict[str, Any], app_name: str
) -> Environment:
    """Build from a merged, schema-valid mapping."""
    cluster = data["cluster"]
    serving = data["serving"]
    ingress = data.get("ingress", {})
    metallb = data["metallb"]
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
        ),
        metallb=MetalLB(
            pool=metallb["pool"],
            addresses=tuple(metallb["addresses"]),
            namespace=metallb.get("namespace", "metallb-system"),
            auto_assign=metallb.get("autoAssign", True),
        ),
        # the chart convention for an app's Secret when the spec names none
        secret_name=(data.get("secrets") or {}).get("name") or f"{app_name}-secrets",
        sync_policy=SyncPolicy(sync["automated"], sync["prune"], sync["selfHeal"]),
        helm_values=data.get("helmValues", {}),
        analysis=build_analysis(data.get("analysis") or {}, data["namespace"]),
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
