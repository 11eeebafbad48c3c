"""GG115: the chart the spec names (app.chart) is a folder of the repository with a Chart.yaml.
The schema already refuses `..`, a leading `/` and hidden folders; this check reads the tree, so
it also catches a symlink that leads out of the repository."""

from __future__ import annotations

from pathlib import Path

from gitopsgen.findings import Finding, build_finding
from gitopsgen.spec.model import Spec
from gitopsgen.yamlsource import PathPart, SourceDocument

CHART_FIELD: tuple[PathPart, ...] = ("app", "chart")
CHART_CHECK = "GG115"


def check_chart_path(spec: Spec, doc: SourceDocument, root: Path) -> list[Finding]:
    folder = root / spec.chart_path
    try:
        resolved = folder.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        resolved = folder
    if not resolved.is_relative_to(root.resolve()):
        problem = f"{spec.chart_path!r} leads outside the repository (through a symlink)"
    elif not (resolved / "Chart.yaml").is_file():
        problem = f"{spec.chart_path!r} is not a folder of the repository holding a Chart.yaml"
    else:
        return []
    where = CHART_FIELD if doc.has_path(CHART_FIELD) else ("app",)
    pos = doc.position_of(where)
    written = "" if doc.has_path(CHART_FIELD) else " (app.chart's default)"
    return [
        build_finding(
            CHART_CHECK,
            spec.source,
            pos.line,
            pos.column,
            "app.chart",
            problem + written,
            "set app.chart to the serving chart's folder, or scaffold one with `gitopsgen init`",
        )
    ]
