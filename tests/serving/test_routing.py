"""The routing function: the single source of truth for traffic splitting (standard library)."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import pytest
from app.routing import choose_alias, client_bucket

ROUTING = Path(__file__).resolve().parents[2] / "apps/fastapi/app/routing.py"


def test_bucket_is_the_documented_hash() -> None:
    for cid in ("alice", "bob", "", "ünïcode"):
        expected = int(hashlib.sha256(cid.encode()).hexdigest(), 16) % 100
        assert client_bucket(cid) == expected


def test_blue_green_and_missing_client_go_to_default() -> None:
    assert choose_alias("blue_green", "A", 50, 50, "anyone") == "A"
    assert choose_alias("blue_green", "B", 50, 50, "anyone") == "B"
    assert choose_alias("canary", "A", 100, 50, None) == "A"
    assert choose_alias("ab_test", "B", 10, 0, "") == "B"


@pytest.mark.parametrize("mode", ["canary", "ab_test"])
def test_split_over_1000_clients_matches_percent(mode: str) -> None:
    for percent in (0, 10, 25, 50, 90, 100):
        ids = [f"client-{i}" for i in range(1000)]
        chosen = [choose_alias(mode, "A", percent, percent, cid) for cid in ids]
        in_share = chosen.count("B" if mode == "canary" else "A")
        assert abs(in_share - percent * 10) <= 40, (mode, percent, in_share)


def test_canary_clients_stay_in_as_the_share_grows() -> None:
    ids = [f"user-{i}" for i in range(2000)]
    at10 = {c for c in ids if choose_alias("canary", "A", 10, 0, c) == "B"}
    at20 = {c for c in ids if choose_alias("canary", "A", 20, 0, c) == "B"}
    assert at10 and at10 < at20


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        choose_alias("shadow", "A", 10, 90, "c")


def test_routing_module_needs_only_the_standard_library() -> None:
    tree = ast.parse(ROUTING.read_text())
    imported = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    imported |= {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert imported <= {"__future__", "hashlib"}
