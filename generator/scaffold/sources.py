"""Where the files gitopsgen ships live: the serving chart, app, Dockerfile and requirements
(this repository's apps/fastapi/, mapped into the wheel as `gitopsgen/scaffold/fastapi/`, the
package data of `gitopsgen.scaffold.fastapi`) and the scaffold's own templates.

An installed gitopsgen finds them inside itself, never in a repository. Only a source checkout
(the tests, an editable install) has no copy below the package: there the folder the wheel maps
is apps/fastapi/ of the same checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def serving_source() -> Path:
    """The folder holding chart/, app/, Dockerfile and requirements.txt."""
    shipped = _PACKAGE / "fastapi"
    if (shipped / "chart" / "Chart.yaml").is_file():
        return shipped
    return _PACKAGE.parents[1] / "apps" / "fastapi"  # a source checkout: generator/../apps


def templates_folder() -> Path:
    """The scaffold's own templates (the spec, Makefile, workflows, README)."""
    return _PACKAGE / "templates"
