"""Verdicts are one enum (issue 21): their words are written once, in analysis/verify.py, and the
JSON and exit codes they stand for stay as they were."""

from __future__ import annotations

import json
import re

from gitopsgen.analysis.verify import CheckVerdict, Verdict
from gitopsgen.errors import ExitCode
from tests.support import REPO

WORDS = {v.value for v in Verdict} | {v.value for v in CheckVerdict}


def test_verdict_words_are_written_only_in_the_enum() -> None:
    retyped = []
    for path in sorted((REPO / "generator").rglob("*.py")):
        if path.name == "verify.py" and path.parent.name == "analysis":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for word in re.findall(r"[\"']([A-Za-z]+)[\"']", line):
                if word in {"Successful", "Failed", "Inconclusive"}:
                    retyped.append(f"{path.relative_to(REPO)}:{number}: {word}")
    assert not retyped, "use analysis.verify.Verdict:\n" + "\n".join(retyped)


def test_verdicts_serialise_and_exit_as_before() -> None:
    assert json.dumps([Verdict.SUCCESSFUL, CheckVerdict.SKIPPED]) == '["Successful", "skipped"]'
    assert f"{Verdict.INCONCLUSIVE}" == "Inconclusive"
    assert {v: v.exit_code for v in Verdict} == {
        Verdict.SUCCESSFUL: ExitCode.OK,
        Verdict.FAILED: ExitCode.FINDING,
        Verdict.INCONCLUSIVE: ExitCode.INCONCLUSIVE,
    }
    assert {
        "Successful",
        "Failed",
        "Inconclusive",
        "passed",
        "failed",
        "inconclusive",
        "skipped",
    } == WORDS
