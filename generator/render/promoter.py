"""promoter/promoter.yaml (delivery `hydrated` only): the GitOps Promoter objects that promote the
hydrated environment branches, from the spec (docs/hydrate.md). Shapes as in argoproj-labs/
gitops-promoter's CRDs (config/crd/bases, commit 7456cfe), apiVersion promoter.argoproj.io/v1alpha1:

- `GitRepository`: GitOps Promoter names a repository by owner and name (no URL field), so both
  come from repo.url's path; the `github` block serves github.com and GitHub Enterprise (whose
  domain the ScmProvider holds). The ScmProvider and its token Secret are the team's: gitopsgen
  only names it (`<argocd.project>`), never writes a secret.
- `PromotionStrategy`: the environments in spec order, each with its active branch; autoMerge
  follows the environment's syncPolicy.automated (a manual-sync environment waits for a human).
- `ArgoCDCommitStatus`: one per service and one for MetalLB's folder, each selecting its own
  Applications by label and named by its key, all listed in activeCommitStatuses.

Applied by hand once into Argo CD's namespace, like the bootstrap: the root Application's
project may create only Argo CD's own kinds."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import yaml

from gitopsgen.errors import RenderError
from gitopsgen.render import hydrated
from gitopsgen.render.output import Catalog, Crd, InArgoCdNamespace, Kind, Output
from gitopsgen.spec.model import Spec

API_VERSION = "promoter.argoproj.io/v1alpha1"
# Pinned like the others (`gitopsgen schemas fetch` reads these URLs); the shared CRD cache has
# no copy, so where it is absent our own schema is the whole check.
PROMOTER_CRDS = (
    "https://raw.githubusercontent.com/argoproj-labs/gitops-promoter/"
    "7456cfed13198d6664d0884dfd9fe2278e558ae3/config/crd/bases/"
)


def _promoter(kind: str, plural: str, sha256: str) -> Kind:
    crd_file = f"promoter.argoproj.io_{plural}.yaml"
    crd = Crd(f"gitops-promoter/{crd_file}", PROMOTER_CRDS + crd_file, sha256)
    return Kind(API_VERSION, kind, crd)


# sha256 of the files at that commit (the blobs `git show <commit>:config/crd/bases/<file>` of
# a snapshot of the repository): `schemas fetch` accepts no other bytes
GIT_REPOSITORY = _promoter(
    "GitRepository",
    "gitrepositories",
    "0a9cad2d1a16c10704d288d86f163b3e75d6103853ab82d0384f14ac4e303134",
)
PROMOTION_STRATEGY = _promoter(
    "PromotionStrategy",
    "promotionstrategies",
    "31574a348d6ad8f7458ec4faa0c567804098baa4211f931ea9881722f8b4771f",
)
ARGOCD_COMMIT_STATUS = _promoter(
    "ArgoCDCommitStatus",
    "argocdcommitstatuses",
    "29746e6c3574cbdada052522e6091dd3174bc85fc137341d2052ca736506e12f",
)
PROMOTER_KINDS = (GIT_REPOSITORY, PROMOTION_STRATEGY, ARGOCD_COMMIT_STATUS)

OUTPUT = Output(
    folder="promoter",
    kubernetes_objects=True,
    kinds=PROMOTER_KINDS,
    delivery=InArgoCdNamespace(by_root_app=False),
)
PROMOTER_PATH = f"{OUTPUT.folder}/promoter.yaml"
HEALTH_KEY_SUFFIX = "-health"


def repository_owner_and_name(repo_url: str) -> tuple[str, str]:
    """`https://host/<owner>/<name>(.git)` -> (owner, name); anything else is a RenderError."""
    parts = urlsplit(repo_url)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme not in ("http", "https") or len(segments) != 2:
        raise RenderError(
            f"repo.url {repo_url!r}: GitOps Promoter's GitRepository needs an http(s) URL "
            "of the form https://<host>/<owner>/<name>"
        )
    owner, name = segments
    return owner, name.removesuffix(".git")


def commit_status_key(service: str) -> str:
    return f"{service}{HEALTH_KEY_SUFFIX}"


def _metadata(spec: Spec, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": spec.argocd_namespace,
        "labels": {
            "app.kubernetes.io/managed-by": "gitopsgen",
            "app.kubernetes.io/part-of": spec.project,
        },
    }


def _services(spec: Spec) -> tuple[str, ...]:
    """Every service some environment hydrates, in the order of the first environment's."""
    seen: dict[str, None] = {}
    for env in spec.environments:
        for app in hydrated.hydrated_apps(spec, env.name):
            seen[app.service] = None
    return tuple(seen)


def _label_selector(spec: Spec, service: str) -> dict[str, Any]:
    """The service's Applications (MetalLB's folder ones carry `gitopsgen.io/service: metallb`
    too), of this project only: two repositories may share one Argo CD."""
    return {
        "matchLabels": {
            "app.kubernetes.io/part-of": spec.project,
            "gitopsgen.io/service": service,
        }
    }


def _strategy(spec: Spec, name: str, services: tuple[str, ...], path: str | None) -> dict[str, Any]:
    strategy_spec: dict[str, Any] = {"gitRepositoryRef": {"name": spec.project}}
    if path is not None:  # shared-branch mode: this strategy promotes one path of each branch
        strategy_spec["activePath"] = path
    strategy_spec["activeCommitStatuses"] = [{"key": commit_status_key(s)} for s in services]
    strategy_spec["environments"] = [
        {
            "branch": hydrated.active_branch(spec.delivery, env.name),
            "autoMerge": env.sync_policy.automated,
        }
        for env in spec.environments
    ]
    return {
        "apiVersion": API_VERSION,
        "kind": PROMOTION_STRATEGY.kind,
        "metadata": _metadata(spec, name),
        "spec": strategy_spec,
    }


def _commit_status(spec: Spec, service: str, strategy: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": ARGOCD_COMMIT_STATUS.kind,
        "metadata": _metadata(spec, f"{spec.project}-{commit_status_key(service)}"),
        "spec": {
            "key": commit_status_key(service),
            "promotionStrategyRef": {"name": strategy},
            "applicationSelector": _label_selector(spec, service),
        },
    }


def promoter_documents(spec: Spec) -> list[dict[str, Any]]:
    """The GitRepository, the PromotionStrategy (one per service's path in shared-branch mode,
    where each path is promoted on its own) and one ArgoCDCommitStatus per service."""
    owner, name = repository_owner_and_name(spec.repo_url)
    services = _services(spec)
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": API_VERSION,
            "kind": GIT_REPOSITORY.kind,
            "metadata": _metadata(spec, spec.project),
            "spec": {
                "github": {"owner": owner, "name": name},
                "scmProviderRef": {"kind": "ScmProvider", "name": spec.project},
            },
        }
    ]
    if spec.delivery.active_paths:
        for service in services:
            strategy = f"{spec.project}-{service}"
            path = hydrated.application_path(service, spec.environments[0].name)
            documents.append(_strategy(spec, strategy, (service,), path))
            documents.append(_commit_status(spec, service, strategy))
    else:
        documents.append(_strategy(spec, spec.project, services, None))
        documents.extend(_commit_status(spec, s, spec.project) for s in services)
    return documents


def render_promoter(spec: Spec, _catalog: Catalog) -> dict[str, str]:
    if not spec.delivery.hydrated:
        return {}
    header = "# GitOps Promoter objects for the hydrated branches: `kubectl apply -f promoter/`\n"
    body = yaml.safe_dump_all(promoter_documents(spec), sort_keys=False, explicit_start=True)
    return {PROMOTER_PATH: header + body}
