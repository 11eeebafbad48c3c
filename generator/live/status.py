"""Live status: what the cluster runs, compared with what Git says, through the Kubernetes API.

Written for real clusters (kubeconfig and context, or in-cluster config). The tests drive the real
`kubernetes` client against a local HTTP server answering with recorded API responses; no cluster
runs on the machines this project is tested on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitopsgen.errors import ClusterUnreachable
from gitopsgen.live.api import bound, call, container_env, dig, text_at
from gitopsgen.live.bluegreen import bluegreen_rows, read_bluegreen_objects
from gitopsgen.live.gateway import gateway_rows, read_gateway_objects
from gitopsgen.live.kubeconfig import kubeconfig_paths, require_kubeconfig_shape
from gitopsgen.render.applicationsets import application_names
from gitopsgen.render.registry import catalog
from gitopsgen.render.values import WHITELIST_ANNOTATION, build_values
from gitopsgen.spec.model import Environment, Spec
from gitopsgen.text import shown_url

WATCHED_ENV = ("DEFAULT_ALIAS", "ALIAS_SELECTION_MODE", "CANARY_PERCENT")
MESSAGE_CHARS = 300  # of an Application's health or operation message, where one is printed


@dataclass(frozen=True)
class Check:
    env: str
    item: str
    expected: str
    live: str
    ok: bool


@dataclass
class AppState:
    name: str
    sync: str
    health: str
    revision: str
    message: str = ""

    @property
    def settled(self) -> bool:
        return self.sync == "Synced" and self.health == "Healthy"


@dataclass
class EnvStatus:
    env: str
    apps: list[AppState] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return any(not c.ok for c in self.checks)


@dataclass(frozen=True)
class Connection:
    """An API client and where it points, so every error can say which cluster failed."""

    api: Any
    context: str
    server: str

    def describe(self) -> str:
        return f"context {self.context!r} (server {shown_url(self.server)})"


@dataclass(frozen=True)
class Clusters:
    """API clients: Argo CD's cluster, and each environment's own (by kube context)."""

    kubeconfig: Path | None
    context: str | None
    timeout: float

    def client(self, context: str | None = None) -> Connection:
        try:
            from kubernetes import client, config  # slow to import: only status and wait need it
        except ImportError:
            raise ClusterUnreachable(
                "this command needs the Kubernetes client: pip install 'gitopsgen[status]' "
                "(make install does)"
            ) from None

        wanted = context or self.context
        tried = kubeconfig_paths(self.kubeconfig)
        if self.kubeconfig is not None and not self.kubeconfig.is_file():
            raise ClusterUnreachable(f"no kubeconfig at {self.kubeconfig}")
        for candidate in tried:
            require_kubeconfig_shape(candidate)
        settings = client.Configuration()
        settings.retries = 0  # one attempt per call: --request-timeout is the whole wait
        try:
            if self.kubeconfig is None and not any(p.is_file() for p in tried):
                try:
                    config.load_incluster_config(client_configuration=settings)
                except config.ConfigException:
                    raise ClusterUnreachable(
                        "no kubeconfig found (tried "
                        + ", ".join(str(p) for p in tried)
                        + ") and not running inside a cluster; pass --kubeconfig"
                    ) from None
                name = "in-cluster"
            else:
                path = str(self.kubeconfig) if self.kubeconfig else None
                name = wanted or _current_context(config, path)
                _require_context(config, path, name)
                config.load_kube_config(
                    config_file=path,
                    context=name,
                    client_configuration=settings,
                    persist_config=False,
                )
        except config.ConfigException as exc:
            raise ClusterUnreachable(f"no usable kubeconfig: {exc}") from exc
        except OSError as exc:
            raise ClusterUnreachable(f"cannot read the kubeconfig: {exc}") from exc
        if "@" in str(settings.host).partition("://")[2]:
            raise ClusterUnreachable(
                f"context {name!r}: the server URL {shown_url(settings.host)} holds a "
                "user:password@ part; the kubeconfig's users section carries credentials"
            )
        return Connection(bound(client.ApiClient(settings)), name, settings.host)


def _current_context(config: Any, path: str | None) -> str:
    _, active = config.list_kube_config_contexts(config_file=path)
    return str((active or {}).get("name", ""))


def _require_context(config: Any, path: str | None, name: str) -> None:
    contexts, _ = config.list_kube_config_contexts(config_file=path)
    names = [str(c.get("name")) for c in contexts or []]
    if name not in names:
        raise ClusterUnreachable(
            f"context {name!r} not found in the kubeconfig; it has: {', '.join(names) or 'none'}"
        )


def read_application(api: Any, namespace: str, name: str, timeout: float) -> AppState | None:
    from kubernetes import client  # slow to import: only status and wait need it

    obj = call(
        client.CustomObjectsApi(api).get_namespaced_custom_object,
        timeout,
        "argoproj.io",
        "v1alpha1",
        namespace,
        "applications",
        name,
    )
    if obj is None:
        return None
    return AppState(
        name,
        text_at(obj, "status", "sync", "status") or "Unknown",
        text_at(obj, "status", "health", "status") or "Unknown",
        text_at(obj, "status", "sync", "revision") or "",
        text_at(obj, "status", "health", "message")
        or text_at(obj, "status", "operationState", "message")
        or "",
    )


def _release_object(
    list_namespaced: Callable[..., Any], release: str, env: Environment, timeout: float
) -> Any:
    """The first object of the release in the environment's namespace (found by its label).
    The release is named after `app.name`, as the ApplicationSet's `releaseName` is."""
    found = call(
        list_namespaced,
        timeout,
        env.namespace,
        label_selector=f"app.kubernetes.io/instance={release}",
    )
    return dig(found, "items", 0)


def _pool(api: Any, env: Environment, timeout: float) -> Any:
    from kubernetes import client  # slow to import: only status and wait need it

    if env.metallb is None:
        return None
    return call(
        client.CustomObjectsApi(api).get_namespaced_custom_object,
        timeout,
        "metallb.io",
        "v1beta1",
        env.metallb.namespace,
        "ipaddresspools",
        env.metallb.pool,
    )


def _check(env: str, item: str, expected: str, live: str | None) -> Check:
    shown = "(missing)" if live is None else live
    return Check(env, item, expected, shown, live == expected)


def workload_checks(
    env: Environment, deployment: Any, ingress: Any, pool: Any, site: bool = True
) -> list[Check]:
    """The live Deployment, Ingress and pool against what was rendered: the Helm values with
    helmValues merged, the values Argo CD hands the chart (pure)."""
    if env.rollout.blue_green:  # the colours' Deployments are checked on their own
        return edge_checks(env, ingress, pool, site)
    checks = []
    rendered = build_values(env)  # what was rendered, helmValues included
    container = dig(deployment, "spec", "template", "spec", "containers", 0)
    image = rendered["image"]
    expected_image = f"{image['repository']}:{image['tag']}"
    checks.append(_check(env.title, "image", expected_image, text_at(container, "image")))
    ready = None if deployment is None else text_at(deployment, "status", "readyReplicas") or "0"
    checks.append(_check(env.title, "ready replicas", str(rendered["replicaCount"]), ready))
    live_env = container_env(container)
    expected_env = rendered["env"]
    for name in WATCHED_ENV:
        live = live_env.get(name) if container is not None else None
        checks.append(_check(env.title, f"env {name}", expected_env[name], live))
    return checks + edge_checks(env, ingress, pool, site)


def edge_checks(env: Environment, ingress: Any, pool: Any, site: bool = True) -> list[Check]:
    """The Ingress allow-list and the MetalLB pool against what was rendered (pure); the pool
    only with `site` (once per environment: its services share it)."""
    checks = []
    if env.ingress.enabled and not env.ingress.uses_gateway_api:
        live_list = text_at(ingress, "metadata", "annotations", WHITELIST_ANNOTATION)
        expected = build_values(env)["ingress"]["annotations"][WHITELIST_ANNOTATION]
        checks.append(_check(env.title, "ingress allow-list", expected, live_list))
    if not site or env.metallb is None:
        return checks
    listed = dig(pool, "spec", "addresses")
    addresses = None if pool is None else ",".join(_strings(listed))
    checks.append(
        _check(env.title, f"pool {env.metallb.pool}", ",".join(env.metallb.addresses), addresses)
    )
    return checks


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def app_names(spec: Spec, env: Environment, site: bool = True) -> list[str]:
    """The Applications the ApplicationSets create for the target, as the renderers'
    declarations say: `<release>-<env>` (the release is app.name, or the service), then with
    `site` one per environment folder it has (what the environment's services share)."""
    names = application_names(spec, catalog(spec), env)
    return names if site else names[:1]


def environment_status(
    spec: Spec, env: Environment, clusters: Clusters, site: bool = True
) -> EnvStatus:
    """One target's status; `site` adds what its environment's services share (the MetalLB
    Application and pool), which `status` reads once per environment."""
    argo = clusters.client()
    result = EnvStatus(env.title)
    with _naming(env, argo):
        for name in app_names(spec, env, site):
            app = read_application(argo.api, spec.argocd_namespace, name, clusters.timeout)
            if app is None:
                result.checks.append(_check(env.title, f"{name} sync", "Synced", None))
                continue
            result.apps.append(app)
            result.checks.append(_check(env.title, f"{name} sync", "Synced", app.sync))
            result.checks.append(_check(env.title, f"{name} health", "Healthy", app.health))
    from kubernetes import client  # slow to import: only status and wait need it

    workload = clusters.client(env.cluster.kube_context) if env.cluster.kube_context else argo
    with _naming(env, workload):
        api, timeout = workload.api, clusters.timeout
        release = env.release
        deployment = None
        if env.rollout.blue_green:  # two Deployments: each colour is compared on its own
            result.checks.extend(_bluegreen_checks(api, env, timeout, release))
        else:
            list_deployments = client.AppsV1Api(api).list_namespaced_deployment
            deployment = _release_object(list_deployments, release, env, timeout)
        ingress = None
        if not env.ingress.uses_gateway_api:
            ingress_api = client.NetworkingV1Api(api)
            ingress = _release_object(ingress_api.list_namespaced_ingress, release, env, timeout)
        pool = _pool(api, env, timeout) if site else None
        result.checks.extend(workload_checks(env, deployment, ingress, pool, site))
        if env.ingress.enabled and env.ingress.uses_gateway_api:
            result.checks.extend(_gateway_checks(api, env, timeout, release))
    return result


def _bluegreen_checks(api: Any, env: Environment, timeout: float, release: str) -> list[Check]:
    selector = f"app.kubernetes.io/instance={release}"
    live = read_bluegreen_objects(api, env, timeout, selector, call)
    return [_check(env.title, *row) for row in bluegreen_rows(env, *live)]


def _gateway_checks(api: Any, env: Environment, timeout: float, release: str) -> list[Check]:
    """The HTTPRoute and the provider's allow-list object against what the spec renders."""

    live = read_gateway_objects(api, env, timeout, f"app.kubernetes.io/instance={release}", call)
    return [_check(env.title, *row) for row in gateway_rows(env, live, release)]


@contextmanager
def _naming(env: Environment, connection: Connection) -> Iterator[None]:
    """Say which environment and cluster an unreachable-cluster error is about."""
    try:
        yield
    except ClusterUnreachable as exc:
        raise ClusterUnreachable(f"{env.title}: {connection.describe()}: {exc}") from exc


@dataclass(frozen=True)
class WaitResult:
    reached: bool
    apps: list[AppState]
    reason: str


def wait_for(
    spec: Spec,
    env: Environment | tuple[Environment, ...],
    clusters: Clusters,
    revision: str,
    timeout: float,
    interval: float,
    progress: Callable[[list[AppState]], None],
) -> WaitResult:
    """Poll until the Applications of the target (or of every target given: the services of
    one environment) are Synced and Healthy at `revision`; no call and no pause outlasts
    `timeout` (a call is cut at what remains of it)."""
    targets = env if isinstance(env, tuple) else (env,)
    names = list(dict.fromkeys(n for t in targets for n in app_names(spec, t)))
    argo = clusters.client()
    deadline = time.monotonic() + timeout

    def call_timeout() -> float:
        return min(clusters.timeout, max(deadline - time.monotonic(), 0.1))

    apps: list[AppState] = []
    while True:
        with _naming(targets[0], argo):
            read = [
                read_application(argo.api, spec.argocd_namespace, n, call_timeout()) for n in names
            ]
        apps = [a for a in read if a is not None]
        progress(apps)
        if any(a.health == "Degraded" for a in apps):
            return WaitResult(False, apps, "an Application is Degraded")
        if len(apps) == len(names) and all(
            a.settled and a.revision.startswith(revision) for a in apps
        ):
            return WaitResult(True, apps, "Synced and Healthy")
        if time.monotonic() >= deadline:
            return WaitResult(False, apps, f"timed out after {timeout:g}s")
        time.sleep(min(interval, max(deadline - time.monotonic(), 0.0)))
