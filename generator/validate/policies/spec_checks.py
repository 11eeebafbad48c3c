"""gitopsgen's own policies over the spec (GG1xx). Percentages, aliases and modes are the spec
schema's job and are not checked again here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import combinations
from typing import Any
from urllib.parse import urlparse

from gitopsgen.findings import REGISTRY, Finding, Severity
from gitopsgen.render.applicationsets import GO_TEMPLATED_FIELDS
from gitopsgen.render.values import PIN_VARIABLES, app_environment
from gitopsgen.spec.model import Environment, Spec
from gitopsgen.validate.policies.addresses import parse_cidr, parse_pool_entry
from gitopsgen.validate.policies.locator import SpecLocator, env_path, site_path
from gitopsgen.validate.policies.secrets import SECRET_KEYS, secret_findings_in
from gitopsgen.yamlsource import PathPart

# The policies' ids and severities live in the one registry of findings.
POLICIES = {id_: check for id_, check in REGISTRY.items() if id_.startswith("GG1")}


def check_allow_list(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    for env in spec.environments:
        ingress = env.ingress
        if not ingress.enabled:
            continue
        if env.production_like and not ingress.whitelist:
            yield at.finding(
                "GG101",
                env_path(env, "ingress", "whitelist"),
                f"{env.title} is production-like and its ingress allows every address",
                "list the client networks in ingress.whitelist",
            )
        for index, entry in enumerate(ingress.whitelist):
            path = env_path(env, "ingress", "whitelist", index)
            network, problem = parse_cidr(entry)
            if problem:
                yield at.finding(
                    "GG103",
                    path,
                    problem,
                    f"use {network}" if network else "use a CIDR like 10.0.0.0/8",
                )
            if network is not None and network.prefixlen == 0 and not ingress.allow_public:
                yield at.finding(
                    "GG102",
                    path,
                    f"{entry} opens the service to the whole internet",
                    "narrow it, or set ingress.allowPublic: true on purpose",
                )


def _pool_ranges(
    env: Environment, at: SpecLocator, problems: list[Finding]
) -> list[tuple[int, int, int, str]]:
    ranges: list[tuple[int, int, int, str]] = []
    for index, entry in enumerate(env.metallb.addresses if env.metallb else ()):
        parsed, problem = parse_pool_entry(entry)
        if parsed is None:
            problems.append(
                at.finding(
                    "GG104",
                    site_path(env, "metallb", "addresses", index),
                    problem,
                    "use a CIDR or first-last, e.g. 10.0.0.10-10.0.0.30",
                )
            )
            continue
        first, last = parsed
        ranges.append((first.version, int(first), int(last), entry))
    return ranges


def check_pools(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    problems: list[Finding] = []
    sites = spec.by_environment()  # pools stay per environment, shared by its services
    ranges = {env.name: _pool_ranges(env, at, problems) for env in sites}
    yield from problems
    for a, b in combinations(sites, 2):
        if a.cluster.server != b.cluster.server or a.metallb is None or b.metallb is None:
            continue
        if a.metallb.pool == b.metallb.pool and a.metallb.namespace == b.metallb.namespace:
            yield at.finding(
                "GG105",
                site_path(b, "metallb", "pool"),
                f"{b.name} and {a.name} share the cluster and the pool name {b.metallb.pool!r}",
                "give each environment its own pool",
            )
        for va, lo_a, hi_a, text_a in ranges[a.name]:
            for vb, lo_b, hi_b, text_b in ranges[b.name]:
                if va == vb and lo_a <= hi_b and lo_b <= hi_a:
                    yield at.finding(
                        "GG105",
                        site_path(b, "metallb", "addresses"),
                        f"{text_b} of {b.name} overlaps {text_a} of {a.name} on the same cluster",
                        "use disjoint address ranges",
                    )


def check_unique(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    """GG106: a (cluster, namespace, Helm release) once; in the app form every release is
    `app.name`, so namespaces are unique per cluster. GG107: every ingress host once."""
    namespaces: dict[tuple[str, str, str], str] = {}
    hosts: dict[str, str] = {}
    for env in spec.environments:
        key = (env.cluster.server, env.namespace, env.release)
        if key in namespaces:
            release = f" with the release {env.release!r}" if spec.services_form else ""
            yield at.finding(
                "GG106",
                env_path(env, "namespace"),
                f"namespace {env.namespace!r} is also used by {namespaces[key]} "
                f"on the same cluster{release}",
                "give each environment its own namespace",
            )
        namespaces.setdefault(key, env.title)
        if env.ingress.enabled:
            if env.ingress.host in hosts:
                yield at.finding(
                    "GG107",
                    env_path(env, "ingress", "host"),
                    f"host {env.ingress.host!r} is also used by {hosts[env.ingress.host]}",
                    f"give each {'service' if spec.services_form else 'environment'} its own host",
                )
            hosts.setdefault(env.ingress.host, env.title)


def check_tracking_uri(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    for env in spec.environments:
        url = urlparse(env.tracking_uri)
        if url.scheme not in ("http", "https") or not url.hostname:
            yield at.finding(
                "GG110",
                env_path(env, "mlflow", "trackingUri"),
                f"{env.tracking_uri!r} is not an http(s) URL",
                "use the MLflow server's URL, e.g. http://mlflow.mlflow.svc:5000",
            )


def check_image_tags(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    for env in spec.environments:
        tag = env.image.tag
        if tag and tag != "latest":
            continue
        severity = Severity.ERROR if env.production_like else Severity.WARNING
        what = "has no image tag" if not tag else "runs the image tag 'latest'"
        yield at.finding(
            "GG111",
            env_path(env, "image", "tag"),
            f"{env.title} {what}",
            "pin a version or a commit SHA tag",
            severity,
        )


def check_project(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    if spec.project == "default":
        yield at.finding(
            "GG114",
            ("argocd", "project"),
            "the AppProject `default` is shared with other teams' applications",
            "name a project of your own, e.g. mlops-serving",
        )


def check_secrets(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    for path, message in secret_findings_in(at.doc.data, ()):
        yield at.finding(
            "GG112",
            path,
            message,
            f"store it in the Secret {_secret_name(spec, path)} (secrets.name) as a key: the "
            "chart loads every key of it into the app's environment (kubectl, External Secrets "
            "or Sealed Secrets)",
        )


def _secret_name(spec: Spec, path: tuple[PathPart, ...]) -> str:
    if len(path) >= 2 and path[0] == "environments":
        names = [e.secret_name for e in spec.environments if e.name == path[1]]
    else:
        names = [e.secret_name for e in spec.environments]
    return " / ".join(repr(n) for n in dict.fromkeys(names)) or "named by secrets.name"


def check_reserved_env(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    for env in spec.environments:
        owned = {*app_environment(env), *PIN_VARIABLES.values(), *SECRET_KEYS}
        extra = env.helm_values.get("env")
        for name in extra if isinstance(extra, dict) else {}:
            if name in owned:
                yield at.finding(
                    "GG140",
                    env_path(env, "helmValues", "env", name),
                    f"{name} is set by gitopsgen from the spec or comes from the Secret "
                    f"{env.secret_name!r}; helmValues cannot override it",
                    "set the spec field that renders it, or put the value in the Secret",
                )


def check_go_template_delimiters(_spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    for path in GO_TEMPLATED_FIELDS:
        value: Any = at.doc.data
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and ("{{" in value or "}}" in value):
            yield at.finding(
                "GG141",
                path,
                f"{value!r} holds a Go template delimiter; Argo CD would evaluate it in the "
                "ApplicationSet (goTemplate), so what syncs could differ per environment",
                "use a literal value without `{{` and `}}`",
            )


def check_deprecated_annotations(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    for env in spec.environments:
        for path in deprecated_key_paths(env.helm_values, ("helmValues",)):
            yield at.finding(
                "GG109",
                env_path(env, *path),
                "metallb.universe.tf/ annotations are deprecated",
                "use the metallb.io/ prefix",
            )


def deprecated_key_paths(value: Any, path: tuple[PathPart, ...]) -> Iterator[tuple[PathPart, ...]]:
    """The path of every `metallb.universe.tf/` key inside `value` (spec or rendered document)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).startswith("metallb.universe.tf/"):
                yield (*path, key)
            yield from deprecated_key_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from deprecated_key_paths(item, (*path, index))


SPEC_CHECKS: tuple[Callable[[Spec, SpecLocator], Iterator[Finding]], ...] = (
    check_allow_list,
    check_pools,
    check_unique,
    check_tracking_uri,
    check_image_tags,
    check_project,
    check_secrets,
    check_deprecated_annotations,
    check_go_template_delimiters,
    check_reserved_env,
)
