"""Rendered files gathered from several sources, where a second write of a path is an error
naming both writers: two services (or a service and another renderer) never overwrite each
other's file."""

from __future__ import annotations

from gitopsgen.errors import RenderError


class RenderedFiles:
    """path -> text, each path written once; `owner` says who wrote it, for the error."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.owners: dict[str, str] = {}

    def add(self, path: str, text: str, owner: str) -> None:
        if path in self.files:
            raise RenderError(
                f"{path} would be written twice: by {self.owners[path]} and by {owner}; "
                "rename one of them in the spec"
            )
        self.files[path] = text
        self.owners[path] = owner
