"""metallb/<env>/: the environment's IPAddressPool and the L2Advertisement that announces it."""

from __future__ import annotations

from gitopsgen.render.jinja import render_template
from gitopsgen.render.output import (
    IP_ADDRESS_POOL,
    L2_ADVERTISEMENT,
    Catalog,
    EnvironmentFolders,
    Output,
)
from gitopsgen.spec.model import Environment, Spec


def metallb_namespace(env: Environment) -> str | None:
    """Where MetalLB runs on the environment's cluster; None: the environment has no MetalLB."""
    return env.metallb.namespace if env.metallb is not None else None


# An ApplicationSet of its own syncs metallb/<env>/ to the environment's cluster as is.
OUTPUT = Output(
    folder="metallb",
    kubernetes_objects=True,
    kinds=(IP_ADDRESS_POOL, L2_ADVERTISEMENT),
    deploys=(IP_ADDRESS_POOL, L2_ADVERTISEMENT),
    delivery=EnvironmentFolders("metallb", "MetalLB", metallb_namespace),
)


def env_folder(env_name: str) -> str:
    """The folder the MetalLB ApplicationSet syncs to this environment's cluster."""
    return f"{OUTPUT.folder}/{env_name}"


def pool_path(env_name: str) -> str:
    return f"{env_folder(env_name)}/ipaddresspool.yaml"


def render_metallb(spec: Spec, _catalog: Catalog) -> dict[str, str]:
    return {
        pool_path(env.name): render_template(
            "metallb-pool.yaml.j2", spec.source, env=env, metallb=env.metallb
        )
        for env in spec.by_environment()  # one pool per environment, shared by its services
        if env.metallb is not None
    }
