"""How `gitopsgen drift` shows its report: a table, stable JSON, or GitHub annotations."""

from __future__ import annotations

import json
from collections.abc import Callable

from gitopsgen.analysis.drift import DriftReport, PinReport, PinState

SCHEMA_VERSION = 1
_SAYS = {
    PinState.IN_SYNC: "in sync",
    PinState.DRIFT: "drift: the registry's alias points elsewhere",
    PinState.ALIAS_UNSET: "drift: the registry has no such alias",
    PinState.MISSING: "the registry has no such version: the app cannot load the pin",
    PinState.NO_MODEL: "the registry has no such registered model",
}


def _row(pin: PinReport) -> list[str]:
    return [
        pin.environment,
        pin.model,
        pin.alias,
        pin.pinned,
        pin.registry or "-",
        _SAYS[pin.state],
    ]


def report_text(report: DriftReport) -> str:
    lines = [f"drift: Git's pins against the MLflow registry at {report.tracking_uri}", ""]
    if report.pins:
        rows = [["environment", "model", "alias", "pinned in Git", "registry alias", "state"]]
        rows += [_row(p) for p in report.pins]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines += [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
    else:
        lines.append("no pinned aliases (model.versions) in the chosen environments")
    if report.unpinned:
        lines += ["", f"not pinned (follow the registry's aliases): {', '.join(report.unpinned)}"]
    drifted = sum(p.drifted for p in report.pins)
    lines += ["", f"{drifted} of {len(report.pins)} pin(s) differ from the registry"]
    return "\n".join(lines) + "\n"


def report_json(report: DriftReport) -> str:
    data = {
        "schemaVersion": SCHEMA_VERSION,
        "trackingUri": report.tracking_uri,
        "drift": report.drifted,
        "pins": [
            {
                "environment": p.environment,
                "model": p.model,
                "alias": p.alias,
                "pinned": p.pinned,
                "registry": p.registry,
                "state": str(p.state),
            }
            for p in report.pins
        ],
        "unpinned": list(report.unpinned),
    }
    return json.dumps(data, indent=2) + "\n"


def report_github(report: DriftReport) -> str:
    lines = []
    for pin in report.pins:
        if pin.drifted:
            lines.append(
                f"::error title=model pin {pin.environment}/{pin.alias}::{pin.model} alias "
                f"{pin.alias} is pinned to {pin.pinned} in Git; {_SAYS[pin.state]}"
                + (f" (it points at {pin.registry})" if pin.registry else "")
            )
    return "\n".join(lines) + ("\n" if lines else "") + report_text(report)


REPORTERS: dict[str, Callable[[DriftReport], str]] = {
    "text": report_text,
    "json": report_json,
    "github": report_github,
}
