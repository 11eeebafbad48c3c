"""Where hydrated manifests live (delivery mode `hydrated`, docs/hydrate.md): one function of
(service, environment) for an Application's folder, and the branch names GitOps Promoter derives from an environment's active branch.

GitOps Promoter hard-codes the proposed branch as `<active>-next`, and in shared-branch mode
(`activePath`) as `<active>-next/<activePath>` (docs/advanced-usage/custom-hydrator.md)."""

from __future__ import annotations

from dataclasses import dataclass

from gitopsgen.spec.model import Delivery, Spec

PROPOSED_SUFFIX = "-next"
METALLB_SERVICE = "metallb"
MANIFEST = "manifest.yaml"
METADATA = "hydrator.metadata"
README = "README.md"
GITATTRIBUTES = ".gitattributes"


@dataclass(frozen=True)
class HydratedApp:
    """One Argo CD Application of one environment and the folder its manifests go to."""

    application: str  # the Application's name, as the ApplicationSet names it
    service: str
    environment: str
    path: str


def services(spec: Spec) -> tuple[str, ...]:
    """The services of the spec: `app.name`, or those the `services:` form lists."""
    return spec.service_names


def application_name(service: str, environment: str) -> str:
    return f"{service}-{environment}"


def application_path(service: str, environment: str) -> str:
    """The folder of one (service, environment) on the environment's branch. The environment
    is the branch, so the folder is the service's name: sibling-disjoint by construction, and
    the same on every environment branch (the activePath GitOps Promoter promotes)."""
    del environment  # named so a per-environment layout changes this one function only
    return service


def hydrated_apps(spec: Spec, environment: str) -> tuple[HydratedApp, ...]:
    """Every Application of `environment`: each service's, then MetalLB's."""
    has_pool = spec.environment(environment).metallb is not None  # MetalLB is optional
    deployed = tuple(env.release for env in spec.deployments(environment))
    names = (*deployed, *((METALLB_SERVICE,) if has_pool else ()))
    return tuple(
        HydratedApp(
            # a folder's Applications carry the project's name (two repositories, one Argo CD)
            application_name(f"{spec.project}-{s}" if s == METALLB_SERVICE else s, environment),
            s,
            environment,
            application_path(s, environment),
        )
        for s in names
    )


def active_branch(delivery: Delivery, environment: str) -> str:
    return f"{delivery.branch_prefix}{environment}"


def proposed_branch(delivery: Delivery, environment: str, path: str | None = None) -> str:
    """`<active>-next`, or `<active>-next/<path>` in shared-branch mode (activePaths)."""
    branch = active_branch(delivery, environment) + PROPOSED_SUFFIX
    return f"{branch}/{path}" if delivery.active_paths and path else branch


def sources(spec: Spec, service: str) -> dict[str, tuple[str, str]]:
    """environment -> (active branch, folder): what the ApplicationSet of `service` syncs."""
    return {
        env.name: (active_branch(spec.delivery, env.name), application_path(service, env.name))
        for env in spec.environments
    }
