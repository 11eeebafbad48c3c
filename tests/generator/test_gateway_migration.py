"""Moving an environment off ingress-nginx is one `gitopsgen set ENV ingress.provider=...` pull
request, on a real Git repository holding the frozen shipped spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support import SPEC, Invoke, frozen_repository, git

VALUES = "apps/fastapi/values/prod.yaml"
PLATFORM_GATEWAY = (
    "  secrets: {name: fastapi-secrets}\n"
    "  ingress:   # the platform team's Gateway; nginx environments ignore it\n"
    "    gateway: {name: shared-gateway, namespace: gateway-system, sectionName: https}\n"
    "    externalTrafficPolicy: Local\n"
)


pytestmark = pytest.mark.usefixtures("isolated_git")


@pytest.fixture
def repo(tmp_path: Path, run_cli: Invoke) -> Path:
    """The shipped spec, plus the platform's Gateway in `defaults` (which renders nothing new
    for nginx environments), committed."""
    root = frozen_repository(tmp_path / "repo")
    git(root, "init", "--quiet", "-b", "main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "initial")
    spec = root / SPEC
    text = spec.read_text()
    spec.write_text(text.replace("  secrets: {name: fastapi-secrets}\n", PLATFORM_GATEWAY))
    run_cli("commit", "-m", "Declare the platform's Gateway", "--root", root)
    changed = git(root, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert changed == [SPEC]  # the nginx environments render exactly as before
    return root


def test_one_set_moves_prod_to_envoy_gateway(
    repo: Path, run_cli: Invoke, shared_crds: Path
) -> None:
    result = run_cli("set", "prod", "ingress.provider=envoy-gateway", "--root", repo)
    branch = next(ln for ln in result.stderr.splitlines() if ln.startswith("created branch"))
    name = branch.split()[2]
    assert git(repo, "log", "--format=%s", f"main..{name}").count("\n") == 0  # one commit
    stat = git(repo, "diff", "--numstat", "main", name).splitlines()
    assert sorted(line.split("\t")[2] for line in stat) == sorted([VALUES, SPEC])
    assert git(repo, "diff", "--numstat", "main", name, "--", SPEC) == f"1\t0\t{SPEC}"
    values = yaml.safe_load(git(repo, "show", f"{name}:{VALUES}"))
    assert values["ingress"] == {"enabled": False}
    assert values["gatewayApi"]["provider"] == "envoy-gateway"
    assert values["gatewayApi"]["allowList"] == ["10.10.0.0/16"]
    assert values["gatewayApi"]["parentRef"]["name"] == "shared-gateway"
    assert "`prod`: ingress.provider (unset) -> envoy-gateway" in result.stdout
    # the branch validates clean against the upstream CRDs, the new objects included
    git(repo, "checkout", "--quiet", name)
    checked = run_cli(
        "validate", "--root", repo, "--crd-dir", shared_crds, "--format", "json", expect=0
    )
    assert json.loads(checked.stdout) == []


def test_moving_to_a_gateway_of_its_own_is_one_pull_request_too(
    repo: Path, run_cli: Invoke
) -> None:
    result = run_cli(
        "set", "prod", "ingress.provider=traefik", "ingress.gateway.create=true", "--root", repo
    )
    name = next(ln for ln in result.stderr.splitlines() if ln.startswith("created branch"))
    values = yaml.safe_load(git(repo, "show", f"{name.split()[2]}:{VALUES}"))
    assert values["gatewayApi"]["gateway"]["create"] is True
    # the platform's Gateway in defaults is not used: the created one is the app's own
    assert values["gatewayApi"]["parentRef"] == {
        "name": "fastapi",
        "namespace": "fastapi-prod",
        "sectionName": "https",
    }
    assert values["gatewayApi"]["gateway"]["port"] == 8443


def test_a_provider_without_a_gateway_is_refused_and_nothing_changes(
    tmp_path: Path, run_cli: Invoke
) -> None:
    root = frozen_repository(tmp_path / "bare")
    git(root, "init", "--quiet", "-b", "main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "initial")
    head = git(root, "rev-parse", "HEAD")
    result = run_cli("set", "prod", "ingress.provider=traefik", "--root", root, expect=1)
    assert "environments.prod.ingress: 'gateway' is required" in result.output
    assert git(root, "rev-parse", "HEAD") == head
    assert git(root, "status", "--porcelain") == ""
    assert git(root, "branch", "--list").strip() == "* main"
