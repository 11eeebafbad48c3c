"""metallb/<env>/: the environment's IPAddressPool and the L2Advertisement that announces it."""

from __future__ import annotations

from generator.model import Spec
from generator.render.jinja import render_template


def pool_path(env_name: str) -> str:
    return f"metallb/{env_name}/ipaddresspool.yaml"


def render_metallb(spec: Spec) -> dict[str, str]:
    return {
        pool_path(env.name): render_template("metallb-pool.yaml.j2", spec.source, env=env)
        for env in spec.environments
    }
