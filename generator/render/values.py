"""<values folder>/<env>.yaml (apps/fastapi/values/ here: `values/` beside the chart the spec
names; <values folder>/<service>/<env>.yaml in the services form): the Helm values Argo CD
layers on the chart's defaults."""

from __future__ import annotations

from typing import Any

from gitopsgen.render.jinja import render_template
from gitopsgen.render.output import GATEWAY_API_KINDS, Catalog, Kind, Output, ThroughChart
from gitopsgen.spec.load import deep_merge
from gitopsgen.spec.model import DEFAULT_CHART_PATH, Environment, Spec, values_folder_of


def _values_folder(spec: Spec) -> str:
    return spec.values_folder


# Helm values, not Kubernetes objects; Argo CD renders the chart with them, which creates these.
OUTPUT = Output(
    folder=values_folder_of(DEFAULT_CHART_PATH),
    kubernetes_objects=False,
    deploys=(
        Kind("apps/v1", "Deployment"),
        Kind("v1", "Service"),
        Kind("v1", "ServiceAccount"),
        Kind("v1", "PersistentVolumeClaim"),
        Kind("networking.k8s.io/v1", "Ingress"),
        Kind("policy/v1", "PodDisruptionBudget"),
        Kind("autoscaling/v2", "HorizontalPodAutoscaler"),
        *GATEWAY_API_KINDS,
    ),
    delivery=ThroughChart(),
    folder_of=_values_folder,
)
WHITELIST_ANNOTATION = "nginx.ingress.kubernetes.io/whitelist-source-range"
NGINX_PREFIX = "nginx.ingress.kubernetes.io/"

# The chart values gitopsgen renders from the spec (or keeps off where the spec does not use
# them), with the spec fields they come from. helmValues may set none of them, nor replace a
# mapping above one (GG142; GG140 does the same for `env` names): the policies judge the
# spec, so what they judge is what Helm renders (docs/helm-values.md).
SPEC_OWNED_VALUES: dict[tuple[str, ...], str] = {
    ("image", "repository"): "image.repository",
    ("image", "tag"): "image.tag",
    ("replicaCount",): "replicas",
    ("secret",): "secrets.name",
    ("ingress", "enabled"): "ingress.enabled",
    ("ingress", "className"): "ingress.className",
    ("ingress", "host"): "ingress.host",
    ("ingress", "tlsSecretName"): "ingress.tlsSecretName",
    ("ingress", "annotations", WHITELIST_ANNOTATION): "ingress.whitelist",
    ("ingress", "annotations", f"{NGINX_PREFIX}allowlist-source-range"): "ingress.whitelist",
    ("gatewayApi",): "ingress (provider, host, whitelist, clientAddress, trustedHops, gateway)",
    ("rollout",): "rollout",
}
# ingress-nginx snippets are raw nginx configuration: `allow all;` in one undoes the allow-list
OWNED_ANNOTATION_SUFFIX = "-snippet"

_COMMENTS = {
    "env": "The serving app's configuration: its container's environment variables.",
    "secret": "The name only: RELOAD_SECRET_TOKEN and SLACK_WEBHOOK_URL live in this Secret.",
    "ingress": "ingress-nginx enforces the allow-list; its Service needs "
    "externalTrafficPolicy: Local.",
    "gatewayApi": "Gateway API: the HTTPRoute, the provider's allow-list, and the Gateway "
    "with gateway.create.",
    "rollout": "Blue-green: a Deployment per colour (its image tag and alias); the Service "
    "selects `active`, <app>-preview the other. A switch is the line `active`.",
}
_GATEWAY_COMMENTS = {**_COMMENTS, "ingress": "Off: a Gateway API provider serves this environment."}


# The app serves exactly this version for a pinned alias (apps/fastapi/app/config.py); owned by
# gitopsgen whether pinned or not, so helmValues.env cannot pin behind the spec's back (GG140).
PIN_VARIABLES = {"A": "MODEL_VERSION_A", "B": "MODEL_VERSION_B"}


def values_file(folder: str, environment: str, service: str | None = None) -> str:
    """`<folder>/<env>.yaml`; in the services form one folder per service,
    `<folder>/<service>/<env>.yaml`."""
    inner = folder if service is None else f"{folder}/{service}"
    return f"{inner}/{environment}.yaml"


def values_path(spec: Spec, env: Environment) -> str:
    return values_file(spec.values_folder, env.name, env.service)


def app_environment(env: Environment) -> dict[str, str]:
    """The serving app's environment variables, as the Deployment sets them."""
    serving = env.serving
    shadow = (
        {
            "SHADOW_PERCENT": str(serving.shadow_percent),
            "SHADOW_TOLERANCE": f"{serving.shadow_tolerance:.6f}".rstrip("0").rstrip("."),
        }
        if serving.shadow_alias
        else {}
    )
    return {
        "MLFLOW_TRACKING_URI": env.tracking_uri,
        "MODEL_NAME": env.model_name,
        "DEFAULT_ALIAS": serving.default_alias,
        "ALIAS_SELECTION_MODE": serving.mode,
        "CANARY_PERCENT": str(serving.canary_percent),
        "AB_SPLIT_PERCENT": str(serving.ab_split_percent),
        "SHADOW_ALIAS": serving.shadow_alias or "",
        "ALIAS_POLL_INTERVAL_SECONDS": str(serving.poll_interval_seconds),
        **shadow,
        **{PIN_VARIABLES[alias]: version for alias, version in env.model_versions},
    }


def _ingress_values(env: Environment) -> dict[str, Any]:
    ingress = env.ingress
    if not ingress.enabled:
        return {"enabled": False}
    return {
        "enabled": True,
        "className": ingress.class_name,
        "host": ingress.host,
        "tlsSecretName": ingress.tls_secret_name,
        "annotations": {WHITELIST_ANNOTATION: ",".join(ingress.whitelist)},
    }


def _gateway_api_values(env: Environment) -> dict[str, Any]:
    """The chart's gatewayApi values: the route, its parent and the allow-list (the Ingress is
    off). A created Gateway gets the HTTPS listener on the host and the environment's pool."""
    ingress, gateway = env.ingress, env.ingress.gateway
    if not ingress.enabled or gateway is None:
        return {"enabled": False}
    values: dict[str, Any] = {
        "enabled": True,
        "provider": ingress.provider,
        "host": ingress.host,
        "allowList": list(ingress.whitelist),
        "clientAddress": ingress.client_address,
        "trustedHops": ingress.trusted_hops or 0,
        "parentRef": {
            "name": gateway.name,
            "namespace": gateway.namespace,
            "sectionName": gateway.section_name or "",
        },
    }
    if gateway.create:
        values["gateway"] = {
            "create": True,
            "className": gateway.class_name,
            "port": gateway.port,
            "tlsSecretName": ingress.tls_secret_name,
            "externalTrafficPolicy": ingress.external_traffic_policy or "Local",
            "addressPool": env.metallb.pool if env.metallb else "",
        }
    return values


def _rollout_values(env: Environment) -> dict[str, Any]:
    """The chart's rollout values: each colour's image tag and alias, which one is active."""
    rollout = env.rollout
    values: dict[str, Any] = {
        "strategy": rollout.strategy,
        "active": rollout.active,
        "colors": {c.name: {"tag": c.tag, "alias": c.alias} for c in (rollout.blue, rollout.green)},
        "idleReplicas": rollout.idle_replicas,
        "shadowPercent": rollout.shadow_percent,
    }
    if env.ingress.enabled and env.ingress.preview_host:
        values["previewHost"] = env.ingress.preview_host
    return values


def build_values(env: Environment) -> dict[str, Any]:
    """The environment's Helm values, with the spec's free-form helmValues merged last."""
    base: dict[str, Any] = {
        "image": {"repository": env.image.repository, "tag": env.image.tag},
        "replicaCount": env.replicas,
        "env": app_environment(env),
        "secret": {"name": env.secret_name},
        "ingress": _ingress_values(env),
    }
    if env.ingress.uses_gateway_api:  # nginx environments' values stay as they were
        base["ingress"] = {"enabled": False}
        base["gatewayApi"] = _gateway_api_values(env)
    if env.rollout.blue_green:  # single environments' values stay as they were
        base["rollout"] = _rollout_values(env)
    return deep_merge(base, env.helm_values)


def render_values(spec: Spec, _catalog: Catalog) -> dict[str, str]:
    return {
        values_path(spec, env): render_template(
            "values.yaml.j2",
            spec.source,
            env=env,
            chart_values_file=spec.chart_values_file,
            values=build_values(env),
            comments=_GATEWAY_COMMENTS if env.ingress.uses_gateway_api else _COMMENTS,
        )
        for env in spec.environments
    }
