"""Reporters: text for people, json for tools, github for pull-request annotations."""

from __future__ import annotations

import json
from collections import Counter
from itertools import groupby

from gitopsgen.findings import Finding

NOT_RUN_SEPARATOR = "; "  # between the checks one GG011 note lists


def checks_held(note: Finding) -> int:
    """How many checks a GG011 note says did not run (one note per error, listing them)."""
    return note.message.split(" not run:", 1)[0].count(NOT_RUN_SEPARATOR) + 1


def summary(findings: list[Finding]) -> str:
    notes = [f for f in findings if f.cause]
    counts = Counter(f.severity.value for f in findings if not f.cause)
    verdict = "FAILED" if counts["error"] else "passed"
    line = (
        f"Summary: validation {verdict}: {counts['error']} error(s), "
        f"{counts['warning']} warning(s), {counts['skipped']} skipped"
    )
    if notes:
        causes: Counter[str] = Counter()
        for note in notes:
            causes[note.cause] += checks_held(note)
        because = ", ".join(f"{n} because of {cause}" for cause, n in sorted(causes.items()))
        line += f"; {sum(causes.values())} check(s) not run ({because})"
    return line


def report_text(findings: list[Finding]) -> str:
    lines = []
    # per file: findings, then the checks not run because of them
    ordered = sorted(findings, key=lambda f: (f.file, bool(f.cause), f))
    for file, group in groupby(ordered, key=lambda f: f.file):
        lines.append(f"{file}")
        for f in group:
            field = f" {f.path}:" if f.path else ""
            lines.append(f"  {f.location()}: {f.severity.value} [{f.id}]{field} {f.message}")
            if f.hint and f.severity.value != "skipped":
                lines.append(f"      hint: {f.hint}")
    lines.append(summary(findings))
    return "\n".join(lines) + "\n"


def report_json(findings: list[Finding]) -> str:
    return json.dumps([f.to_json() for f in sorted(findings)], indent=2) + "\n"


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def report_github(findings: list[Finding]) -> str:
    lines = []
    for f in sorted(findings):
        level = {"error": "error", "warning": "warning"}.get(f.severity.value, "notice")
        title = f"{f.id} {f.path}".strip()
        where = f"file={_escape_property(f.file)},line={f.line}"
        lines.append(f"::{level} {where},title={_escape_property(title)}::{_escape(f.message)}")
    lines.append(summary(findings))
    return "\n".join(lines) + "\n"


REPORTERS = {"text": report_text, "json": report_json, "github": report_github}
