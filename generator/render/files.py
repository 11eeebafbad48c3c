"""Rendered files gathered from several sources, where a second write of a path is an error
naming both writers: two services (or a service and another renderer) never overwrite each
other's file."""

from __future__ import annotations

from collections.abc import Callable

from gitopsgen.errors import RenderError

Owner = str | Callable[[], str]


class RenderedFiles:
    """path -> text, each path written once; `owner` says who wrote it, for the error (a
    function of no arguments when saying so costs something: it is called on a collision)."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.owners: dict[str, Owner] = {}

    def add(self, path: str, text: str, owner: Owner) -> None:
        if path in self.files:
            raise RenderError(
                f"{path} would be written twice: by {_said(self.owners[path])} and by "
                f"{_said(owner)}; rename one of them in the spec"
            )
        self.files[path] = text
        self.owners[path] = owner


def _said(owner: Owner) -> str:
    return owner if isinstance(owner, str) else owner()
