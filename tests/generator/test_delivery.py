"""A renderer declares how its files reach a cluster, and everything downstream reads that: a
throwaway renderer of NetworkPolicies, added to the registry alone, gets its ApplicationSet, its
Applications in the preview and in `status`/`wait`, its place in the AppProject and its own
group in the pull request's object diff, with no other module touched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitopsgen.live.status import app_names
from gitopsgen.promotion.objectdiff import object_changes
from gitopsgen.promotion.prbody import rendered_documents
from gitopsgen.render.output import Catalog, EnvironmentFolders, Kind, Output
from gitopsgen.render.registry import RENDERERS, Renderer, render_all
from gitopsgen.spec.load import parse_spec
from gitopsgen.spec.model import Environment, Spec
from gitopsgen.validate.preview import preview_files
from tests.support import FROZEN_SPEC_TEXT, SPEC

NETWORK_POLICY = Kind("networking.k8s.io/v1", "NetworkPolicy")


def _policy_namespace(env: Environment) -> str | None:
    return env.namespace if env.production_like else None  # only prod gets the policies


def render_policies(spec: Spec, _catalog: Catalog, name: str = "deny-all") -> dict[str, str]:
    return {
        f"netpol/{env.name}/deny.yaml": yaml.safe_dump(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": name, "namespace": env.namespace},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
            }
        )
        for env in spec.environments
        if _policy_namespace(env) is not None
    }


POLICIES = Renderer(
    render_policies,
    Output(
        folder="netpol",
        kubernetes_objects=True,
        kinds=(NETWORK_POLICY,),
        deploys=(NETWORK_POLICY,),
        delivery=EnvironmentFolders("netpol", "NetworkPolicy", _policy_namespace),
    ),
)


@pytest.fixture
def spec(monkeypatch: pytest.MonkeyPatch) -> Spec:
    monkeypatch.setattr("gitopsgen.render.registry.RENDERERS", (*RENDERERS, POLICIES))
    loaded, _ = parse_spec(FROZEN_SPEC_TEXT, SPEC)
    return loaded


def test_its_folder_gets_an_applicationset_of_its_own(spec: Spec) -> None:
    files = render_all(spec)
    assert "netpol/prod/deny.yaml" in files and "netpol/dev/deny.yaml" not in files
    appset = yaml.safe_load(files["applicationsets/netpol.yaml"])
    assert appset["metadata"]["name"] == "mlops-serving-netpol"
    template = appset["spec"]["template"]
    assert template["spec"]["source"]["path"] == "netpol/{{ .env }}"
    (element,) = appset["spec"]["generators"][0]["list"]["elements"]
    assert (element["env"], element["namespace"]) == ("prod", "fastapi-prod")
    apps, findings = preview_files(files, "prod")
    assert findings == []
    names = {a["metadata"]["name"]: a for a in apps}
    assert set(names) == {"fastapi-prod", "mlops-serving-metallb-prod", "mlops-serving-netpol-prod"}
    destination = names["mlops-serving-netpol-prod"]["spec"]["destination"]
    assert destination == {
        "server": "https://prod.k8s.example.internal:6443",
        "namespace": "fastapi-prod",
    }


def test_the_appproject_allows_its_kind(spec: Spec) -> None:
    project = yaml.safe_load(render_all(spec)["applicationsets/project.yaml"])
    allowed = project["spec"]["namespaceResourceWhitelist"]
    assert {"group": "networking.k8s.io", "kind": "NetworkPolicy"} in allowed


def test_status_and_wait_read_its_applications(spec: Spec) -> None:
    assert app_names(spec, spec.environment("prod")) == [
        "fastapi-prod",
        "mlops-serving-metallb-prod",
        "mlops-serving-netpol-prod",
    ]
    assert app_names(spec, spec.environment("dev")) == ["fastapi-dev", "mlops-serving-metallb-dev"]


def test_the_pull_request_groups_its_objects_under_their_environment(spec: Spec) -> None:
    old = render_all(spec)
    new = {**old, **render_policies(spec, Catalog(()), name="deny-ingress")}
    changes: dict[str, Any] = object_changes(Path("/nonexistent"), spec, spec, old, new)
    assert changes == {
        "prod": [
            "NetworkPolicy fastapi-prod/deny-all: deleted",
            "NetworkPolicy fastapi-prod/deny-ingress: created",
        ]
    }
    assert rendered_documents(spec) == "Argo CD, MetalLB and NetworkPolicy"
