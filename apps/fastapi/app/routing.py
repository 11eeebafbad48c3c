"""Which alias serves a request: the single source of truth for traffic splitting.

Standard library only, so `gitopsgen simulate` loads this very file from the repository without
the app's dependencies. A client's bucket is fixed by its id, so a client always lands on the
same variant, and one inside a 10% canary stays inside it at 20%.
"""

from __future__ import annotations

import hashlib

ALIASES = ("A", "B")
MODES = ("ab_test", "canary", "blue_green")


def client_bucket(client_id: str) -> int:
    """0-99, stable for a client id."""
    return int(hashlib.sha256(client_id.encode("utf-8")).hexdigest(), 16) % 100


def choose_alias(
    mode: str,
    default_alias: str,
    canary_percent: int,
    ab_split_percent: int,
    client_id: str | None,
) -> str:
    """The alias a request should be served by (before falling back to a loaded one)."""
    if mode == "blue_green" or not client_id:
        return default_alias
    in_share = client_bucket(client_id) < (canary_percent if mode == "canary" else ab_split_percent)
    if mode == "canary":
        return "B" if in_share else "A"
    if mode == "ab_test":
        return "A" if in_share else "B"
    raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")


def other_alias(alias: str) -> str:
    return "B" if alias == "A" else "A"
