"""The typed spec: what renderers read. Defaults are merged once, when the spec is loaded.

Every field of an environment is declared with its spec key, its default and its meaning
(`spec_field`, here and in spec.parts); `build` reads a merged mapping by those declarations,
and the JSON Schema's `default`s and the docs' table of fields are tested against them: a
default lives there only.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, replace
from typing import Any, Literal

from gitopsgen.errors import ServiceRequired, UnknownEnvironment, UnknownService
from gitopsgen.spec.fields import Context, Derived, build, context_field, spec_field
from gitopsgen.spec.merge import Target, declared_services, deployed_services
from gitopsgen.spec.parts import (
    ALIAS_COLOURS,
    COLOURS,
    GATEWAY_PROVIDERS,
    Analysis,
    Cluster,
    Image,
    Ingress,
    MetalLB,
    Rollout,
    Serving,
    SyncPolicy,
    is_production_like_name,
)

__all__ = [
    "ALIAS_COLOURS",
    "COLOURS",
    "DEFAULT_CHART_PATH",
    "GATEWAY_PROVIDERS",
    "Delivery",
    "Environment",
    "Spec",
    "Target",
]

# Where the serving chart lives unless the spec says otherwise (app.chart): this repository's.
DEFAULT_CHART_PATH = "apps/fastapi/chart"


def _pins(raw: Any) -> tuple[tuple[str, str], ...]:
    """model.versions, a mapping alias -> version, as sorted pairs (hashable, in a fixed order)."""
    return tuple(sorted((raw or {}).items()))


def _has_metallb(ctx: Context) -> bool:
    return ctx.data.get("metallb") is not None


@dataclass(frozen=True, kw_only=True)
class Environment:
    """One target, fully merged: an environment (the app form), or one service in one
    environment (the services form). `release` names its Helm release: `app.name`, or the
    service."""

    target: Target = context_field(lambda ctx: ctx.names["target"])
    name: str = context_field(lambda ctx: ctx.names["target"].environment)
    release: str = context_field(lambda ctx: ctx.names["app"])
    cluster: Cluster = spec_field("the Argo CD destination")
    namespace: str = spec_field("where the app runs (a DNS label)")
    production_like: bool = spec_field(
        "stricter policies (allow-list required, pinned image)",
        derived=Derived(
            lambda ctx: is_production_like_name(ctx.names["target"].environment),
            "true for `prod`, `prod-*`, `production*`",
        ),
    )
    replicas: int = spec_field("pods of the app")
    image: Image = spec_field("the image")
    model_name: str = spec_field("the MLflow registered model", key="model.name")
    model_versions: tuple[tuple[str, str], ...] = spec_field(
        "pins: the registered model version (digits, quoted) an alias serves exactly, never "
        "following the registry ([pinning](pinning.md)); alias -> version",
        key="model.versions",
        convert=_pins,
        derived=Derived(lambda _ctx: (), "unpinned: the alias follows the registry"),
    )
    tracking_uri: str = spec_field("the MLflow tracking server", key="mlflow.trackingUri")
    serving: Serving = spec_field("how the app routes between the aliases")
    analysis: Analysis = spec_field("what `verify` reads")
    ingress: Ingress = spec_field("how clients reach the app")
    # None: no MetalLB (a cloud load balancer, say); nothing rendered
    metallb: MetalLB | None = spec_field("the environment's address pool", when=_has_metallb)
    # the chart convention for an app's Secret when the spec names none
    secret_name: str = spec_field(
        "the Secret holding `RELOAD_SECRET_TOKEN` and `SLACK_WEBHOOK_URL` (name only)",
        key="secrets.name",
        derived=Derived(
            lambda ctx: f"{ctx.names['app']}-secrets",
            "`<app.name>-secrets` (`<service>-secrets` in the services form)",
        ),
    )
    sync_policy: SyncPolicy = spec_field("Argo CD's sync of the environment")
    helm_values: dict[str, Any] = spec_field(
        "free-form Helm values merged last (checked by the chart's `values.schema.json`)",
        factory=dict,
    )
    rollout: Rollout = spec_field("how a new version arrives")

    @property
    def service(self) -> str | None:
        """The service, in the services form (None in the app form)."""
        return self.target.service

    @property
    def title(self) -> str:
        """How messages name it: `prod`, or `fraud in prod`."""
        return self.name if self.service is None else f"{self.service} in {self.name}"

    def pinned_version(self, alias: str) -> str | None:
        """The version `alias` is pinned to in Git (model.versions), or None."""
        return dict(self.model_versions).get(alias)

    def colour_replicas(self, colour: str) -> int:
        """Pods of a colour: `replicas` for the active one, `idleReplicas` for the other."""
        return self.replicas if colour == self.rollout.active else self.rollout.idle_replicas


DeliveryMode = Literal["chart", "hydrated"]
DELIVERY_MODES: tuple[DeliveryMode, ...] = ("chart", "hydrated")


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """How rendered output reaches a cluster: `chart` (Argo CD renders the chart from the spec
    branch) or `hydrated` (gitopsgen hydrate commits plain manifests to environment branches,
    the Argo CD Source Hydrator / GitOps Promoter contract; docs/hydrate.md)."""

    mode: DeliveryMode = spec_field(
        "`chart` (Argo CD renders the chart) or `hydrated` (plain manifests on branches)",
        default="chart",
    )
    branch_prefix: str = spec_field(
        "the hydrated environment branches' prefix", default="environment/"
    )
    # GitOps Promoter's shared-branch mode (PromotionStrategy.activePath)
    active_paths: bool = spec_field(
        "hydrate every environment to one branch, a folder each", default=False
    )

    @property
    def hydrated(self) -> bool:
        return self.mode == "hydrated"


@dataclass(frozen=True, kw_only=True)
class Spec:
    """The whole spec; `source` is its path relative to the repository root. `environments`
    holds every target the spec deploys: one per environment in the app form, one per service
    and environment in the services form (environments in spec order, then services)."""

    source: str = context_field(lambda ctx: ctx.names["source"])
    repo_url: str = spec_field(
        "the Git URL Argo CD pulls this repository from", key="repo.url", default=""
    )
    target_revision: str = spec_field(
        "the branch Argo CD follows", key="repo.targetRevision", default="main"
    )
    argocd_namespace: str = spec_field(
        "Argo CD's namespace", key="argocd.namespace", default="argocd"
    )
    project: str = spec_field(
        "the AppProject the applications use", key="argocd.project", default=""
    )
    app_name: str = spec_field("the app's name", key="app.name", default="")
    chart_path: str = spec_field(
        "the serving chart's folder, relative to the repository root",
        key="app.chart",
        default=DEFAULT_CHART_PATH,
        convert=lambda raw: raw or DEFAULT_CHART_PATH,
    )
    delivery: Delivery = spec_field("how rendered output reaches a cluster")
    environments: tuple[Environment, ...] = context_field(lambda ctx: ctx.names["environments"])
    # the services form: the declared services, and the pairs no environment lists
    services: tuple[str, ...] = context_field(lambda ctx: ctx.names["services"])
    not_deployed: tuple[Target, ...] = context_field(lambda ctx: ctx.names["not_deployed"])

    @property
    def release_name(self) -> str:
        """The Helm release of the app form (the ApplicationSet's releaseName); in the services
        form each target's own is `Environment.release`."""
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

    @property
    def services_form(self) -> bool:
        return bool(self.services)

    @property
    def service_names(self) -> tuple[str, ...]:
        """The services, or in the app form its one app."""
        return self.services or (self.app_name,)

    @property
    def names(self) -> tuple[str, ...]:
        """The environments, in spec order."""
        return tuple(dict.fromkeys(env.name for env in self.environments))

    def environment(self, name: str) -> Environment:
        """The first target of an environment (its only one in the app form)."""
        for env in self.environments:
            if env.name == name:
                return env
        raise KeyError(name)

    def deployments(self, name: str) -> tuple[Environment, ...]:
        """Every target of one environment: its services."""
        return tuple(env for env in self.environments if env.name == name)

    def by_environment(self) -> tuple[Environment, ...]:
        """One target per environment, for what its services share (cluster, address pool)."""
        return tuple(self.environment(name) for name in self.names)

    def target(self, key: str) -> Environment:
        """The target of a key as trailers write it (`prod`, `prod/fraud`)."""
        wanted = Target.parse(key)
        for env in self.environments:
            if env.target == wanted:
                return env
        raise KeyError(key)

    def require(self, name: str, service: str | None = None) -> Environment:
        """The target a command names. An unknown environment or service, or no service named
        where the spec has several, is the caller's mistake (exit 2)."""
        self._known(name, service)
        targets = self.deployments(name)
        if not self.services_form:
            return targets[0]
        if service is None:
            if len(self.services) > 1:
                raise ServiceRequired(
                    f"{name}: the spec has several services ({', '.join(self.services)}); "
                    "name one with --service NAME"
                )
            service = self.services[0]
        for env in targets:
            if env.service == service:
                return env
        running = ", ".join(env.release for env in targets) or "none"
        raise UnknownService(f"{service} is not deployed in {name} (it runs: {running})")

    def _known(self, name: str | None, service: str | None) -> None:
        if name is not None and name not in self.names:
            raise UnknownEnvironment(
                f"unknown environment {name!r}; known: {', '.join(self.names)}"
            )
        if service is not None and service not in self.service_names:
            raise UnknownService(
                f"unknown service {service!r}; known: {', '.join(self.service_names)}"
            )

    def select(self, name: str | None, service: str | None) -> tuple[Environment, ...]:
        """The targets a read-only command shows: of one environment or all, of one service
        or all (unknown names are the caller's mistake, as in `require`)."""
        self._known(name, service)
        if name is not None and service is not None:
            return (self.require(name, service),)
        chosen = self.environments if name is None else self.deployments(name)
        return tuple(e for e in chosen if service is None or e.release == service)


def values_folder_of(chart_path: str) -> str:
    """Where the environments' Helm values are rendered: `values/` beside the chart."""
    return posixpath.join(posixpath.dirname(chart_path), "values")


def build_environment(
    target: Target, data: dict[str, Any], app_image: dict[str, Any], app_name: str
) -> Environment:
    """Build from a merged, schema-valid mapping; in the app form `app.image` lies under
    everything. A service's release, secret and created Gateway are named after it."""
    merged = {**data, "image": {**app_image, **(data.get("image") or {})}}
    release = target.service or app_name
    ctx = Context(Environment, merged, {"target": target, "app": release})
    env = build(Environment, merged, ctx)
    return replace(env, ingress=_with_created_gateway(env.ingress, env.namespace, release))


def _with_created_gateway(ingress: Ingress, namespace: str, app_name: str) -> Ingress:
    """A Gateway gitopsgen creates is named after the app, in the environment's namespace, with
    an `https` listener: the shared `name` and `namespace` (often in `defaults`) do not apply."""
    gateway = ingress.gateway
    if gateway is None or not gateway.create:
        return ingress
    created = replace(
        gateway, name=app_name, namespace=namespace, section_name=gateway.section_name or "https"
    )
    return replace(ingress, gateway=created)


def build_spec(data: dict[str, Any], display: str, envs: tuple[Environment, ...]) -> Spec:
    """The spec's own fields where they are well-formed, else empty (policies skip them)."""
    sound: dict[str, dict[str, Any]] = {
        section: {k: v if isinstance(v, str) else "" for k, v in part.items()}
        for section, part in data.items()
        if section in ("repo", "argocd", "app") and isinstance(part, dict)
    }
    sound["delivery"] = _sound_delivery(data.get("delivery"))
    services = tuple(declared_services(data))
    listed = {(e, s) for e in data.get("environments") or {} for s in deployed_services(data, e)}
    names = {
        "source": display,
        "environments": envs,
        "services": services,
        "not_deployed": tuple(
            Target(str(e), s)
            for e in data.get("environments") or {}
            for s in services
            if (e, s) not in listed
        ),
    }
    return build(Spec, sound, Context(Spec, sound, names))


_DELIVERY_TYPES: dict[str, type[Any]] = {"mode": str, "branchPrefix": str, "activePaths": bool}


def _sound_delivery(data: Any) -> dict[str, Any]:
    """The delivery keys of the right type (the schema reports the others)."""
    if not isinstance(data, dict):
        return {}
    return {
        k: v for k, v in data.items() if k in _DELIVERY_TYPES and isinstance(v, _DELIVERY_TYPES[k])
    }
