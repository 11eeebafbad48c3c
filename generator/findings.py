"""Findings: what a check says about a place in a file. Shared by every stage."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    SKIPPED = "skipped"


@dataclass(frozen=True, order=True)
class Finding:
    """One problem (or skip) at one place. `file` is relative to the repository root."""

    file: str
    line: int
    column: int
    id: str
    severity: Severity
    path: str
    message: str
    hint: str = ""
    cause: str = ""  # a check not run: the error it waits for, e.g. `GG102 at spec.yaml:36`

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def location(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}:{self.column}" if self.column else where

    def one_line(self) -> str:
        field = f" {self.path}:" if self.path else ""
        return f"{self.location()}:{field} {self.message}"

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.id,
            "severity": self.severity.value,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }
        if self.cause:
            out["cause"] = self.cause
        return out
