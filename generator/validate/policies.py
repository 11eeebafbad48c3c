"""gitopsgen's own policies over the spec (GG1xx). Percentages, aliases and modes are the spec
schema's job and are not checked again here."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from itertools import combinations
from typing import Any
from urllib.parse import urlparse

from generator.findings import REGISTRY, Finding, Severity, build_finding
from generator.model import Environment, Spec
from generator.spec import written_at
from generator.yamlsource import PathPart, SourceDocument, format_path

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SECRET_KEYS = ("RELOAD_SECRET_TOKEN", "SLACK_WEBHOOK_URL")
# Well-known credential shapes, each with what it is (the message names it).
SECRET_PATTERNS = (
    (re.compile(r"hooks\.slack\.com/(services|workflows|triggers)/\S+", re.I), "a Slack webhook"),
    (re.compile(r"xox[abposre]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"xapp-\d-[A-Za-z0-9-]{10,}"), "a Slack app token"),
    (re.compile(r"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}"), "a GitHub token"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"), "a GitHub token"),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), "a GitLab token"),
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), "a Google API key"),
    (re.compile(r"\bsk_live_[0-9A-Za-z]{16,}"), "a Stripe key"),
    (re.compile(r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"), "a JSON Web Token"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I), "a URL with a password"),
)
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")
# An environment variable whose name says it holds a credential.
_SECRET_NAME_WORDS = {"PASSWORD", "PASSWD", "PASS", "PWD", "SECRET", "TOKEN", "KEY", "APIKEY"}
_SECRET_NAME_WORDS |= {"CREDENTIAL", "CREDENTIALS", "PASSPHRASE", "AUTH"}
ENV_KEYS = ("env", "extraEnv")


# The policies' ids and severities live in the one registry of findings.
POLICIES = {id_: check for id_, check in REGISTRY.items() if id_.startswith("GG1")}


class SpecLocator:
    """Finds the line of an environment's field, in the environment or else in `defaults`."""

    def __init__(self, spec: Spec, doc: SourceDocument) -> None:
        self.spec = spec
        self.doc = doc

    def finding(
        self,
        policy_id: str,
        path: tuple[PathPart, ...],
        message: str,
        hint: str,
        severity: Severity | None = None,
    ) -> Finding:
        pos = self.doc.position_of(written_at(self.doc, path))
        return build_finding(
            policy_id,
            self.spec.source,
            pos.line,
            pos.column,
            format_path(path),
            message,
            hint,
            severity=severity,
        )


def env_path(env: Environment, *rest: PathPart) -> tuple[PathPart, ...]:
    return ("environments", env.name, *rest)


def parse_cidr(text: str) -> tuple[IpNetwork | None, str]:
    """(network, problem): a problem is empty when the text is a CIDR without host bits."""
    try:
        strict = ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return None, f"{text!r} is not a CIDR"
        return loose, f"{text!r} has host bits set; the network is {loose}"
    return strict, ""


def parse_pool_entry(text: str) -> tuple[tuple[IpAddress, IpAddress] | None, str]:
    """A MetalLB address (CIDR or start-end range) as its first and last address."""
    if "-" in text:
        start_text, _, end_text = text.partition("-")
        try:
            start = ipaddress.ip_address(start_text.strip())
            end = ipaddress.ip_address(end_text.strip())
        except ValueError:
            return None, f"{text!r} is not a range of two IP addresses"
        if start.version != end.version:
            return None, f"{text!r} mixes IPv4 and IPv6"
        if int(start) > int(end):
            return None, f"{text!r} starts after it ends"
        return (start, end), ""
    network, problem = parse_cidr(text)
    if network is None or problem:
        return None, problem
    return (network.network_address, network.broadcast_address), ""


def check_allow_list(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    for env in spec.environments:
        ingress = env.ingress
        if not ingress.enabled:
            continue
        if env.production_like and not ingress.whitelist:
            yield at.finding(
                "GG101",
                env_path(env, "ingress", "whitelist"),
                f"{env.name} is production-like and its ingress allows every address",
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
    for index, entry in enumerate(env.metallb.addresses):
        parsed, problem = parse_pool_entry(entry)
        if parsed is None:
            problems.append(
                at.finding(
                    "GG104",
                    env_path(env, "metallb", "addresses", index),
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
    ranges = {env.name: _pool_ranges(env, at, problems) for env in spec.environments}
    yield from problems
    for a, b in combinations(spec.environments, 2):
        if a.cluster.server != b.cluster.server:
            continue
        if a.metallb.pool == b.metallb.pool and a.metallb.namespace == b.metallb.namespace:
            yield at.finding(
                "GG105",
                env_path(b, "metallb", "pool"),
                f"{b.name} and {a.name} share the cluster and the pool name {b.metallb.pool!r}",
                "give each environment its own pool",
            )
        for va, lo_a, hi_a, text_a in ranges[a.name]:
            for vb, lo_b, hi_b, text_b in ranges[b.name]:
                if va == vb and lo_a <= hi_b and lo_b <= hi_a:
                    yield at.finding(
                        "GG105",
                        env_path(b, "metallb", "addresses"),
                        f"{text_b} of {b.name} overlaps {text_a} of {a.name} on the same cluster",
                        "use disjoint address ranges",
                    )


def check_unique(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    namespaces: dict[tuple[str, str], str] = {}
    hosts: dict[str, str] = {}
    for env in spec.environments:
        key = (env.cluster.server, env.namespace)
        if key in namespaces:
            yield at.finding(
                "GG106",
                env_path(env, "namespace"),
                f"namespace {env.namespace!r} is also used by {namespaces[key]} "
                "on the same cluster",
                "give each environment its own namespace",
            )
        namespaces.setdefault(key, env.name)
        if env.ingress.enabled:
            if env.ingress.host in hosts:
                yield at.finding(
                    "GG107",
                    env_path(env, "ingress", "host"),
                    f"host {env.ingress.host!r} is also used by {hosts[env.ingress.host]}",
                    "give each environment its own host",
                )
            hosts.setdefault(env.ingress.host, env.name)


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
            f"{env.name} {what}",
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


def secret_shape(text: str) -> str | None:
    """What well-known credential `text` holds (also once base64-encoded), or None."""
    for pattern, what in SECRET_PATTERNS:
        if pattern.search(text):
            return what
    for chunk in _BASE64.findall(text):
        decoded = _decode(chunk)
        if decoded is not None:
            for pattern, what in SECRET_PATTERNS:
                if pattern.search(decoded):
                    return f"{what}, base64-encoded"
    return None


def _decode(chunk: str) -> str | None:
    import base64
    import binascii

    padded = chunk + "=" * (-len(chunk) % 4)
    try:
        raw = (base64.urlsafe_b64decode if "-" in chunk or "_" in chunk else base64.b64decode)(
            padded
        )
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def secret_env_name(name: str) -> bool:
    return bool(set(re.split(r"[^A-Z0-9]+", name.upper())) & _SECRET_NAME_WORDS)


def _env_entries(value: Any) -> Iterator[tuple[PathPart, str, Any]]:
    """(key in the env value, variable name, its value) for a mapping or a list of name/value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, str(key), item
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict) and "name" in item:
                yield index, str(item["name"]), item.get("value")


def secret_findings_in(
    value: Any, path: tuple[PathPart, ...]
) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    """(path, what) for every secret-looking key or value inside `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key) in SECRET_KEYS and item not in (None, ""):
                yield (*path, key), f"{key} has a value here; it belongs in the Secret only"
                continue
            named: set[tuple[PathPart, ...]] = set()
            if str(key) in ENV_KEYS:
                for part, name, env_value in _env_entries(item):
                    if isinstance(env_value, str) and env_value and secret_env_name(name):
                        named.add((*path, key, part))
                        yield (
                            (*path, key, part),
                            f"{name} is a credential by its name and has a value here; "
                            f"it belongs in the Secret only",
                        )
            for found, what in secret_findings_in(item, (*path, key)):
                if found[: len(path) + 3] not in named:  # one finding per entry
                    yield found, what
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from secret_findings_in(item, (*path, index))
    elif isinstance(value, str):
        shape = secret_shape(value)
        if shape is not None:
            yield path, f"this value looks like a secret ({shape})"


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
    from generator.render.values import app_environment

    for env in spec.environments:
        owned = {*app_environment(env), *SECRET_KEYS}
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
    from generator.render.applicationsets import GO_TEMPLATED_FIELDS

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


def check_spec_policies(spec: Spec, doc: SourceDocument) -> list[Finding]:
    from generator.validate.client_address import check_client_address  # it imports this module
    from generator.validate.rollout_policies import ROLLOUT_CHECKS  # so does this one

    at = SpecLocator(spec, doc)
    checks = (*SPEC_CHECKS, check_client_address, *ROLLOUT_CHECKS)
    return sorted(f for check in checks for f in check(spec, at))
