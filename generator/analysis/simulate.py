"""Traffic split preview with the serving app's own routing function, loaded from its file."""

from __future__ import annotations

import importlib.util
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from gitopsgen.errors import GitopsgenError
from gitopsgen.spec.model import Environment

ROUTING_FILE = Path("apps/fastapi/app/routing.py")


def load_routing(root: Path) -> ModuleType:
    """apps/fastapi/app/routing.py of the repository (standard library only), as a module."""
    path = root / ROUTING_FILE
    spec = importlib.util.spec_from_file_location("gitopsgen_serving_routing", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise GitopsgenError(f"cannot load the routing function from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Split:
    env: str
    mode: str
    default_alias: str
    clients: int
    shares: dict[str, float]  # alias -> percent of clients
    assignments: dict[str, str]  # given client id -> alias

    def summary(self) -> str:
        shares = ", ".join(f"{a} {self.shares.get(a, 0.0):.1f}%" for a in ("A", "B"))
        return f"{self.env} ({self.mode}, default {self.default_alias}): {shares}"


def simulate(
    env: Environment, root: Path, clients: int = 10_000, client_ids: tuple[str, ...] = ()
) -> Split:
    routing = load_routing(root)
    s = env.serving

    def route(cid: str | None) -> str:
        alias: str = routing.choose_alias(
            s.mode, s.default_alias, s.canary_percent, s.ab_split_percent, cid
        )
        return alias

    counts = Counter(route(f"client-{i}") for i in range(clients))
    shares = {alias: 100.0 * counts[alias] / clients for alias in ("A", "B")} if clients else {}
    return Split(
        env.title, s.mode, s.default_alias, clients, shares, {cid: route(cid) for cid in client_ids}
    )


def bucket_shares(env: Environment, root: Path) -> dict[str, float]:
    """The exact share of clients (with an id) each alias serves: one client id per bucket of
    the serving app's own `client_bucket`, routed by its own `choose_alias`. Buckets are equally
    likely, so 100 representatives give the share exactly (canary 10% is 90/10, not 89.8/10.2)."""
    routing = load_routing(root)
    s = env.serving
    representatives: dict[int, str] = {}
    index = 0
    while len(representatives) < 100:
        cid = f"client-{index}"
        representatives.setdefault(routing.client_bucket(cid), cid)
        index += 1
    counts = Counter(
        routing.choose_alias(s.mode, s.default_alias, s.canary_percent, s.ab_split_percent, cid)
        for cid in representatives.values()
    )
    return {alias: float(counts[alias]) for alias in ("A", "B")}


def serves_everything(env: Environment, root: Path, alias: str) -> bool:
    """Every client, with an id or without, is served by `alias`."""
    return env.serving.default_alias == alias and bucket_shares(env, root)[alias] == 100.0
