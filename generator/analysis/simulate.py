"""Traffic split preview with the serving app's own routing function, loaded from its file:
the repository's copy of the serving app when it has one (`app/routing.py` beside the chart the
spec names), else the copy shipped inside gitopsgen, which its chart's image runs."""

from __future__ import annotations

import importlib.util
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from gitopsgen.errors import GitopsgenError
from gitopsgen.scaffold.sources import serving_source
from gitopsgen.spec.model import ALIAS_COLOURS, Environment, Spec
from gitopsgen.spec.parts import Serving
from gitopsgen.validate.policies.traffic import sends_anonymous_to_candidate

ROUTING_FILE = "routing.py"  # in the serving app's source folder
_ROUTING_FUNCTIONS = ("choose_alias", "client_bucket")


def routing_file(root: Path, spec: Spec) -> Path:
    """The routing function's file: the repository's own (a regular file inside `root`), else
    the one gitopsgen ships."""
    own = root / spec.app_source_folder / ROUTING_FILE
    inside = own.resolve().is_relative_to(root.resolve())
    if inside and own.is_file() and not own.is_symlink():
        return own
    return serving_source() / "app" / ROUTING_FILE


def load_routing(path: Path) -> ModuleType:
    """The serving app's routing module (standard library only) from `path`."""
    spec = importlib.util.spec_from_file_location("gitopsgen_serving_routing", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise GitopsgenError(f"cannot load the routing function from {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the file is the repository's code: any error is its own
        raise GitopsgenError(
            f"cannot load the routing function from {path}: {type(exc).__name__}: {exc}"
        ) from exc
    missing = [name for name in _ROUTING_FUNCTIONS if not callable(getattr(module, name, None))]
    if missing:
        raise GitopsgenError(
            f"cannot load the routing function from {path}: it defines no {', '.join(missing)}"
        )
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


def anonymous_clients(serving: Serving) -> str:
    """What requests without an `x-client-id` get: `defaultAlias`, said against the split."""
    alias = serving.default_alias
    named = f"{alias} ({ALIAS_COLOURS[alias]})"
    if sends_anonymous_to_candidate(serving):
        return (
            f"{named}, the canary's candidate: all of them, not {serving.canary_percent}% "
            "(set serving.defaultAlias: A to keep them on the live model)"
        )
    if serving.mode == "canary":
        return f"{named}, the live model; the canary's share applies to clients with an id"
    if serving.mode == "ab_test":
        return f"{named}; the A/B split applies to clients with an id"
    return f"{named}, as every request"


def simulate(
    env: Environment, routing_path: Path, clients: int = 10_000, client_ids: tuple[str, ...] = ()
) -> Split:
    routing = load_routing(routing_path)
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


def bucket_shares(env: Environment, routing_path: Path) -> dict[str, float]:
    """The exact share of clients (with an id) each alias serves: one client id per bucket of
    the serving app's own `client_bucket`, routed by its own `choose_alias`. Buckets are equally
    likely, so 100 representatives give the share exactly (canary 10% is 90/10, not 89.8/10.2)."""
    routing = load_routing(routing_path)
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


def serves_everything(env: Environment, routing_path: Path, alias: str) -> bool:
    """Every client, with an id or without, is served by `alias`."""
    return env.serving.default_alias == alias and bucket_shares(env, routing_path)[alias] == 100.0
