"""Live status: what the cluster runs, compared with what Git says, through the Kubernetes API.

Written for real clusters (kubeconfig and context, or in-cluster config). The tests drive the real
`kubernetes` client against a local HTTP server answering with recorded API responses; no cluster
runs on the machines this project is tested on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import GitopsgenError
from generator.model import Environment, Spec
from generator.render.values import WHITELIST_ANNOTATION, app_environment

WATCHED_ENV = ("DEFAULT_ALIAS", "ALIAS_SELECTION_MODE", "CANARY_PERCENT")


class ClusterUnreachable(GitopsgenError):
    """No kubeconfig, unknown context, unauthorised, refused or timed out. Exit code 2."""

    exit_code = 2


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
class Clusters:
    """API clients: Argo CD's cluster, and each environment's own (by kube context)."""

    kubeconfig: Path | None
    context: str | None
    timeout: float

    def client(self, context: str | None = None) -> Any:
        from kubernetes import client, config

        wanted = context or self.context
        if self.kubeconfig is not None and not self.kubeconfig.is_file():
            raise ClusterUnreachable(f"no kubeconfig at {self.kubeconfig}")
        try:
            if self.kubeconfig is None and not _default_kubeconfig_exists():
                config.load_incluster_config()
                api = client.ApiClient()
            else:
                path = str(self.kubeconfig) if self.kubeconfig else None
                api = config.new_client_from_config(config_file=path, context=wanted)
        except config.ConfigException as exc:
            text = str(exc)
            if "context" in text.lower() and wanted:
                raise ClusterUnreachable(f"context {wanted!r} not found in the kubeconfig") from exc
            raise ClusterUnreachable(f"no usable kubeconfig: {text}") from exc
        except OSError as exc:
            raise ClusterUnreachable(f"cannot read the kubeconfig: {exc}") from exc
        api.configuration.retries = 0
        return api


def _default_kubeconfig_exists() -> bool:
    import os

    path = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    return all(Path(p).is_file() for p in path.split(os.pathsep) if p)


def _call(func: Callable[..., Any], timeout: float, *args: Any, **kwargs: Any) -> Any:
    """One API call; None for 404; ClusterUnreachable with the reason for the rest."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError as Urllib3Error
    from urllib3.exceptions import MaxRetryError, ReadTimeoutError

    try:
        return func(*args, _request_timeout=timeout, **kwargs)
    except ApiException as exc:
        if exc.status == 404:
            return None
        if exc.status in (401, 403):
            raise ClusterUnreachable(
                f"unauthorised ({exc.status} {exc.reason}): check the "
                "credentials of the kube context"
            ) from exc
        raise ClusterUnreachable(f"the API server answered {exc.status} {exc.reason}") from exc
    except ReadTimeoutError as exc:
        raise ClusterUnreachable(f"timeout: no answer within {timeout:g}s") from exc
    except MaxRetryError as exc:
        reason = exc.reason
        if isinstance(reason, ReadTimeoutError):
            raise ClusterUnreachable(f"timeout: no answer within {timeout:g}s") from exc
        raise ClusterUnreachable(f"connection refused or unreachable: {reason}") from exc
    except (Urllib3Error, OSError) as exc:
        raise ClusterUnreachable(f"cannot reach the API server: {exc}") from exc


def read_application(api: Any, namespace: str, name: str, timeout: float) -> AppState | None:
    from kubernetes import client

    obj = _call(
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
    status = obj.get("status") or {}
    sync = status.get("sync") or {}
    health = status.get("health") or {}
    operation = (status.get("operationState") or {}).get("message", "")
    return AppState(
        name,
        sync.get("status", "Unknown"),
        health.get("status", "Unknown"),
        str(sync.get("revision", "")),
        health.get("message") or operation,
    )


def _release_object(
    list_namespaced: Callable[..., Any], release: str, env: Environment, timeout: float
) -> Any:
    """The first object of the release in the environment's namespace (found by its label).
    The release is named after `app.name`, as the ApplicationSet's `releaseName` is."""
    found = _call(
        list_namespaced,
        timeout,
        env.namespace,
        label_selector=f"app.kubernetes.io/instance={release}",
    )
    return found.items[0] if found is not None and found.items else None


def _pool(api: Any, env: Environment, timeout: float) -> Any:
    from kubernetes import client

    return _call(
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


def workload_checks(env: Environment, deployment: Any, ingress: Any, pool: Any) -> list[Check]:
    """The live Deployment, Ingress and pool against what the spec renders (pure)."""
    checks = []
    container = deployment.spec.template.spec.containers[0] if deployment is not None else None
    checks.append(
        _check(
            env.name,
            "image",
            env.image.reference,
            container.image if container is not None else None,
        )
    )
    ready = None if deployment is None else str(deployment.status.ready_replicas or 0)
    checks.append(_check(env.name, "ready replicas", str(env.replicas), ready))
    live_env = {e.name: e.value for e in (container.env or [])} if container is not None else {}
    expected_env = app_environment(env)
    for name in WATCHED_ENV:
        live = live_env.get(name) if container is not None else None
        checks.append(_check(env.name, f"env {name}", expected_env[name], live))
    if env.ingress.enabled:
        annotations = (ingress.metadata.annotations or {}) if ingress is not None else None
        live_list = annotations.get(WHITELIST_ANNOTATION) if annotations is not None else None
        checks.append(
            _check(env.name, "ingress allow-list", ",".join(env.ingress.whitelist), live_list)
        )
    addresses = ",".join((pool.get("spec") or {}).get("addresses") or []) if pool else None
    checks.append(
        _check(env.name, f"pool {env.metallb.pool}", ",".join(env.metallb.addresses), addresses)
    )
    return checks


def app_names(spec: Spec, env: Environment) -> list[str]:
    """The Applications the ApplicationSets create for the environment (`<app.name>-<env>`)."""
    return [f"{spec.app_name}-{env.name}", f"metallb-{env.name}"]


def environment_status(spec: Spec, env: Environment, clusters: Clusters) -> EnvStatus:
    argo = clusters.client()
    result = EnvStatus(env.name)
    for name in app_names(spec, env):
        app = read_application(argo, spec.argocd_namespace, name, clusters.timeout)
        if app is None:
            result.checks.append(_check(env.name, f"{name} sync", "Synced", None))
            continue
        result.apps.append(app)
        result.checks.append(_check(env.name, f"{name} sync", "Synced", app.sync))
        result.checks.append(_check(env.name, f"{name} health", "Healthy", app.health))
    from kubernetes import client

    workload = clusters.client(env.cluster.kube_context) if env.cluster.kube_context else argo
    deployment = _release_object(
        client.AppsV1Api(workload).list_namespaced_deployment, spec.app_name, env, clusters.timeout
    )
    ingress = _release_object(
        client.NetworkingV1Api(workload).list_namespaced_ingress,
        spec.app_name,
        env,
        clusters.timeout,
    )
    result.checks.extend(
        workload_checks(env, deployment, ingress, _pool(workload, env, clusters.timeout))
    )
    return result


def render_table(statuses: list[EnvStatus]) -> str:
    rows = [("ENV", "CHECK", "EXPECTED (git)", "LIVE", "")]
    for status in statuses:
        for app in status.apps:
            rows.append((status.env, f"{app.name} revision", "", app.revision[:12], ""))
        rows.extend(
            (c.env, c.item, c.expected, c.live, "ok" if c.ok else "DRIFT") for c in status.checks
        )
    widths = [min(max(len(r[i]) for r in rows), 48) for i in range(5)]
    lines = [
        "  ".join(cell[:48].ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    drifted = sum(not c.ok for s in statuses for c in s.checks)
    lines.append(f"{drifted} drift(s) in {len(statuses)} environment(s)")
    return "\n".join(lines) + "\n"


def status_json(statuses: list[EnvStatus]) -> list[dict[str, Any]]:
    return [
        {
            "environment": s.env,
            "drifted": s.drifted,
            "applications": [vars(a) for a in s.apps],
            "checks": [vars(c) for c in s.checks],
        }
        for s in statuses
    ]


@dataclass(frozen=True)
class WaitResult:
    reached: bool
    apps: list[AppState]
    reason: str


def wait_for(
    spec: Spec,
    env: Environment,
    clusters: Clusters,
    revision: str,
    timeout: float,
    interval: float,
    progress: Callable[[list[AppState]], None],
) -> WaitResult:
    """Poll until the environment's Applications are Synced and Healthy at `revision`."""
    argo = clusters.client()
    deadline = time.monotonic() + timeout
    apps: list[AppState] = []
    while True:
        apps = [
            a
            for a in (
                read_application(argo, spec.argocd_namespace, n, clusters.timeout)
                for n in app_names(spec, env)
            )
            if a is not None
        ]
        progress(apps)
        if any(a.health == "Degraded" for a in apps):
            return WaitResult(False, apps, "an Application is Degraded")
        if len(apps) == len(app_names(spec, env)) and all(
            a.settled and a.revision.startswith(revision) for a in apps
        ):
            return WaitResult(True, apps, "Synced and Healthy")
        if time.monotonic() >= deadline:
            return WaitResult(False, apps, f"timed out after {timeout:g}s")
        time.sleep(interval)
