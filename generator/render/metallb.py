"""metallb/<env>/: the environment's IPAddressPool and the L2Advertisement that announces it."""

from __future__ import annotations

from gitopsgen.render.jinja import render_template
from gitopsgen.render.output import IP_ADDRESS_POOL, L2_ADVERTISEMENT, Catalog, Output
from gitopsgen.spec.model import Spec

# The metallb ApplicationSet syncs metallb/<env>/ to the environment's cluster as is.
OUTPUT = Output(
    folder="metallb",
    kubernetes_objects=True,
    kinds=(IP_ADDRESS_POOL, L2_ADVERTISEMENT),
    deploys=(IP_ADDRESS_POOL, L2_ADVERTISEMENT),
)


def env_folder(env_name: str) -> str:
    """The folder the metallb ApplicationSet syncs to this environment's cluster."""
    return f"{OUTPUT.folder}/{env_name}"


def pool_path(env_name: str) -> str:
    return f"{env_folder(env_name)}/ipaddresspool.yaml"


def render_metallb(spec: Spec, _catalog: Catalog) -> dict[str, str]:
    return {
        pool_path(env.name): render_template("metallb-pool.yaml.j2", spec.source, env=env)
        for env in spec.by_environment()  # one pool per environment, shared by its services
    }
