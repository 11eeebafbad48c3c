"""Issue 16's wrong cases, each reported at its line of the spec: the allow-list policies
(GG101-GG103) for every provider, and the client address the enforcer sees (GG130-GG132)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import SPEC, Invoke, golden_repository

CASE = "gateway-providers"
PROD_LIST = "whitelist: [10.10.0.0/16, 192.168.50.0/24]"
DEV_LIST = "whitelist: [10.30.0.0/16, fd00:30::/48]"


def findings_after(
    tmp_path: Path, run_cli: Invoke, old: str, new: str
) -> tuple[list[dict[str, Any]], int]:
    """Validate the golden case with one text edit; (findings, line of the edit)."""
    root = golden_repository(tmp_path / "repo", CASE)
    spec = root / SPEC
    text = spec.read_text()
    assert text.count(old) == 1, old
    edited = text.replace(old, new)
    spec.write_text(edited)
    run_cli("render", "--root", root, expect=None)  # refused on errors: drift is GG2xx
    result = run_cli("validate", "--root", root, "--format", "json", expect=None)
    line = edited[: edited.index(new)].count("\n") + 1
    return json.loads(result.stdout), line


def only(findings: list[dict[str, Any]], finding_id: str) -> dict[str, Any]:
    matching = [f for f in findings if f["id"] == finding_id]
    assert len(matching) == 1, findings
    return matching[0]


@pytest.mark.parametrize(
    ("old", "new", "finding_id", "path", "words"),
    [
        (PROD_LIST, "whitelist: []", "GG101", "environments.prod.ingress.whitelist", "allows"),
        (
            DEV_LIST,
            "whitelist: [0.0.0.0/0, fd00:30::/48]",
            "GG102",
            "environments.dev.ingress.whitelist[0]",
            "whole internet",
        ),
        (
            PROD_LIST,
            "whitelist: [10.10.0.1/16, 192.168.50.0/24]",
            "GG103",
            "environments.prod.ingress.whitelist[0]",
            "the network is 10.10.0.0/16",
        ),
    ],
    ids=["empty-in-prod-envoy", "public-traefik", "host-bits-envoy"],
)
def test_allow_list_policies_apply_to_gateway_providers(
    tmp_path: Path,
    run_cli: Invoke,
    old: str,
    new: str,
    finding_id: str,
    path: str,
    words: str,
) -> None:
    findings, line = findings_after(tmp_path, run_cli, old, new)
    found = only(findings, finding_id)
    assert (found["severity"], found["line"], found["path"]) == ("error", line, path)
    assert words in found["message"]


def test_the_golden_case_has_no_client_address_finding(tmp_path: Path, run_cli: Invoke) -> None:
    findings, _ = findings_after(tmp_path, run_cli, "gateway: {create: true}", "gateway: {}")
    # a shared Gateway for prod: required name and namespace are missing; the policies still
    # run on the fields the schema accepted, so the undeclared Service in front of the shared
    # Gateway (GG130) is reported in the same run, not after the GG004 is fixed (issue 26)
    assert {f["id"] for f in findings if f["severity"] == "error"} == {"GG004", "GG130"}


def test_cluster_traffic_policy_in_prod_is_an_error_saying_what_envoy_sees(
    tmp_path: Path, run_cli: Invoke
) -> None:
    findings, line = findings_after(
        tmp_path,
        run_cli,
        "gateway: {create: true}",
        "gateway: {create: true}\n      externalTrafficPolicy: Cluster",
    )
    found = only(findings, "GG130")
    assert (found["severity"], found["line"]) == ("error", line + 1)
    assert found["path"] == "environments.prod.ingress.externalTrafficPolicy"
    assert "Envoy" in found["message"] and "will see node addresses" in found["message"]


def test_a_shared_gateway_without_a_declared_policy_is_flagged_at_client_address(
    tmp_path: Path, run_cli: Invoke
) -> None:
    findings, line = findings_after(
        tmp_path,
        run_cli,
        "      clientAddress: xForwardedFor\n      trustedHops: 1\n",
        "      clientAddress: direct\n",
    )
    found = only(findings, "GG130")
    # dev is not production-like: a warning, and validate still passes on warnings alone
    assert (found["severity"], found["line"]) == ("warning", line)
    assert found["path"] == "environments.dev.ingress.clientAddress"
    assert "Traefik" in found["message"] and "undeclared externalTrafficPolicy" in found["message"]


def test_declaring_local_clears_it(tmp_path: Path, run_cli: Invoke) -> None:
    findings, _ = findings_after(
        tmp_path,
        run_cli,
        "      clientAddress: xForwardedFor\n      trustedHops: 1\n",
        "      clientAddress: direct\n      externalTrafficPolicy: Local\n",
    )
    assert [f for f in findings if f["severity"] != "skipped"] == []


def test_nginx_with_cluster_policy_is_flagged_too(tmp_path: Path, run_cli: Invoke) -> None:
    findings, line = findings_after(
        tmp_path, run_cli, "externalTrafficPolicy: Local", "externalTrafficPolicy: Cluster"
    )
    found = only(findings, "GG130")
    assert (found["severity"], found["line"]) == ("warning", line)
    assert "ingress-nginx" in found["message"]


def test_forwarded_for_without_trusted_hops_sees_the_last_proxy(
    tmp_path: Path, run_cli: Invoke
) -> None:
    findings, line = findings_after(
        tmp_path,
        run_cli,
        "      clientAddress: xForwardedFor\n      trustedHops: 1\n",
        "      clientAddress: xForwardedFor\n",
    )
    found = only(findings, "GG131")
    assert (found["severity"], found["line"]) == ("warning", line)
    assert "the address of the proxy in front of it" in found["message"]


def test_forwarded_for_without_trusted_hops_in_prod_is_an_error(
    tmp_path: Path, run_cli: Invoke
) -> None:
    findings, line = findings_after(
        tmp_path,
        run_cli,
        "gateway: {create: true}",
        "gateway: {create: true}\n      clientAddress: xForwardedFor",
    )
    found = only(findings, "GG131")
    assert (found["severity"], found["line"]) == ("error", line + 1)


def test_a_created_gateway_is_not_also_a_named_one(tmp_path: Path, run_cli: Invoke) -> None:
    findings, line = findings_after(
        tmp_path,
        run_cli,
        "gateway: {create: true}",
        "gateway: {create: true, namespace: gateway-system}",
    )
    found = only(findings, "GG132")
    assert (found["line"], found["path"]) == (line, "environments.prod.ingress.gateway.namespace")
    assert "renders 'fastapi' in 'fastapi-prod'" in found["message"]
