"""How `gitopsgen status` shows what it found: a table for people, JSON for tools."""

from __future__ import annotations

from typing import Any

from gitopsgen.live.status import EnvStatus
from gitopsgen.text import printable


def render_table(statuses: list[EnvStatus]) -> str:
    rows: list[tuple[str, ...]] = [("ENV", "CHECK", "EXPECTED (git)", "LIVE", "")]
    for status in statuses:
        for app in status.apps:
            rows.append((status.env, f"{app.name} revision", "", app.revision[:12], ""))
        rows.extend(
            (c.env, c.item, c.expected, c.live, "ok" if c.ok else "DRIFT") for c in status.checks
        )
    rows = [tuple(printable(cell) for cell in row) for row in rows]  # live fields are remote text
    widths = [min(max(len(r[i]) for r in rows), 48) for i in range(5)]
    lines = [
        "  ".join(cell[:48].ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    drifted = sum(not c.ok for s in statuses for c in s.checks)
    lines.append(f"{drifted} drift(s) in {len(statuses)} environment(s)")
    return "\n".join(lines) + "\n"


def status_json(statuses: list[EnvStatus]) -> list[dict[str, Any]]:
    return [
        {
            "environment": s.env,
            "drifted": s.drifted,
            "applications": [vars(a) for a in s.apps],
            "checks": [vars(c) for c in s.checks],
        }
        for s in statuses
    ]
