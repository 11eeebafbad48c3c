"""Each policy: a spec that breaks it is caught at the right line, and one that keeps it passes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gitopsgen.findings import REGISTRY, Finding
from gitopsgen.spec.load import parse_spec
from gitopsgen.validate.policies import check_spec_policies
from gitopsgen.validate.policies.spec_checks import POLICIES
from tests.support import FROZEN_SPEC_TEXT, SPEC

BASE = FROZEN_SPEC_TEXT
PROD_WHITELIST = "whitelist: [10.10.0.0/16]"
PROD_POOL = "addresses: [10.10.100.10-10.10.100.30]"
DEV_CLUSTER = "cluster: {name: in-cluster, server: https://kubernetes.default.svc}"
PROD_CLUSTER = "cluster: {name: prod, server: https://prod.k8s.example.internal:6443}"

# policy id -> (breaking edits, keeping edits, expected line of the finding, field path)
CASES: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]], int, str]] = {
    "GG101": (
        [(PROD_WHITELIST, "whitelist: []")],
        [(PROD_WHITELIST, "whitelist: [10.0.0.0/8]")],
        36,
        "environments.prod.ingress.whitelist",
    ),
    "GG102": (
        [(PROD_WHITELIST, "whitelist: ['::/0']")],
        [(PROD_WHITELIST, "whitelist: ['::/0']\n      allowPublic: true")],
        36,
        "environments.prod.ingress.whitelist[0]",
    ),
    "GG103": (
        [(PROD_WHITELIST, "whitelist: [10.10.3.0/16]")],
        [],
        36,
        "environments.prod.ingress.whitelist[0]",
    ),
    "GG104": (
        [(PROD_POOL, "addresses: [10.10.100.10-fe80::1]")],
        [(PROD_POOL, "addresses: [10.10.100.0/27, 10.10.101.1-10.10.101.9]")],
        37,
        "environments.prod.metallb.addresses[0]",
    ),
    "GG105": (
        [(PROD_CLUSTER, DEV_CLUSTER), (PROD_POOL, "addresses: [192.168.10.250/32]")],
        [(PROD_CLUSTER, DEV_CLUSTER), (PROD_POOL, "addresses: [192.168.10.251/32]")],
        37,
        "environments.prod.metallb.addresses",
    ),
    "GG106": (
        [
            (PROD_CLUSTER, DEV_CLUSTER),
            ("namespace: fastapi-prod", "namespace: fastapi-dev"),
            (PROD_POOL, "addresses: [192.168.20.0/28]"),
        ],
        [(PROD_CLUSTER, DEV_CLUSTER), (PROD_POOL, "addresses: [192.168.20.0/28]")],
        30,
        "environments.prod.namespace",
    ),
    "GG107": (
        [("host: fastapi.example.internal", "host: fastapi-dev.local")],
        [],
        34,
        "environments.prod.ingress.host",
    ),
    "GG109": (
        [
            (
                "    metallb: {pool: prod-pool",
                "    helmValues:\n      podAnnotations: {metallb.universe.tf/ip: x}\n"
                "    metallb: {pool: prod-pool",
            )
        ],
        [],
        38,
        "environments.prod.helmValues.podAnnotations.metallb.universe.tf/ip",
    ),
    "GG110": (
        [("http://mlflow-prod-service", "mlflow-prod-service")],
        [("http://mlflow-prod-service", "https://mlflow-prod-service")],
        31,
        "environments.prod.mlflow.trackingUri",
    ),
    "GG111": (
        [
            (
                "    serving: {defaultAlias: B}   # green is live",
                "    serving: {defaultAlias: B}   # green is live\n    image: {tag: latest}",
            )
        ],
        [
            (
                "    serving: {defaultAlias: B}   # green is live",
                "    serving: {defaultAlias: B}   # green is live\n    image: {tag: 2.0.1}",
            )
        ],
        33,
        "environments.prod.image.tag",
    ),
    "GG112": (
        [
            (
                "  secrets: {name: fastapi-secrets}",
                "  secrets: {name: fastapi-secrets}\n  helmValues:\n"
                "    env: {SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/x'}",
            )
        ],
        [],
        18,
        "defaults.helmValues.env.SLACK_WEBHOOK_URL",
    ),
    "GG114": ([("project: mlops-serving", "project: default")], [], 7, "argocd.project"),
}


def edited(edits: list[tuple[str, str]]) -> str:
    text = BASE
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def findings_of(text: str) -> list[Finding]:
    spec, doc = parse_spec(text, SPEC)
    return check_spec_policies(spec, doc)


def test_default_spec_breaks_no_policy() -> None:
    assert findings_of(BASE) == []


@pytest.mark.parametrize("policy", sorted(CASES))
def test_policy_catches_a_breaking_spec(policy: str) -> None:
    breaking, _, line, path = CASES[policy]
    found = [f for f in findings_of(edited(breaking)) if f.id == policy]
    assert found, f"{policy} did not fire"
    assert (found[0].line, found[0].path) == (line, path)
    assert found[0].severity is POLICIES[policy].severity
    assert found[0].hint


@pytest.mark.parametrize("policy", sorted(p for p, case in CASES.items() if case[1]))
def test_policy_passes_a_keeping_spec(policy: str) -> None:
    _, keeping, _, _ = CASES[policy]
    assert [f for f in findings_of(edited(keeping)) if f.id == policy] == []


def test_host_bits_message_shows_the_network() -> None:
    found = findings_of(edited([(PROD_WHITELIST, "whitelist: [10.10.3.0/16]")]))
    assert "the network is 10.10.0.0/16" in found[0].message


def test_latest_tag_outside_production_is_a_warning() -> None:
    text = edited(
        [
            (
                "    serving: {defaultAlias: B, canaryPercent: 20}",
                "    serving: {defaultAlias: B, canaryPercent: 20}\n    image: {tag: latest}",
            )
        ]
    )
    (finding,) = findings_of(text)
    assert (finding.id, finding.severity.value, finding.path) == (
        "GG111",
        "warning",
        "environments.dev.image.tag",
    )


def test_every_policy_is_documented(repo_root: Path) -> None:
    reference = (repo_root / "docs/validation.md").read_text()
    for policy in POLICIES:
        assert f"`{policy}`" in reference, policy


def test_docs_tables_match_the_finding_registry(repo_root: Path) -> None:
    """Every GG id in the registry has a row with its severity in docs/validation.md's tables,
    and no row names an id the registry does not have."""
    rows = re.findall(
        r"^\| `(GG\d{3})` \| ([a-z /]+) \|", (repo_root / "docs/validation.md").read_text(), re.M
    )
    documented = dict(rows)
    assert len(documented) == len(rows), "an id has two rows"
    assert set(documented) == set(REGISTRY)
    for check_id, severity in documented.items():
        assert REGISTRY[check_id].severity.value in severity.split(" / "), check_id


def test_findings_are_made_by_the_one_factory_with_registered_ids(repo_root: Path) -> None:
    sources = {
        p.relative_to(repo_root).as_posix(): p.read_text()
        for p in (repo_root / "generator").rglob("*.py")
    }
    direct = [name for name, text in sources.items() if re.search(r"\bFinding\(", text)]
    assert direct == ["generator/findings.py"], direct
    used = {i for text in sources.values() for i in re.findall(r"\bGG\d{3}\b", text)}
    assert used <= set(REGISTRY), used - set(REGISTRY)
