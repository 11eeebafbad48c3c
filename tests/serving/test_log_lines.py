"""Every log record is one JSON line, whatever its values hold (values that no HTTP header can
carry, such as CR and LF, reach the log through registry error texts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("loguru", reason="the serving extra is not installed")

from app.logs import configure_logging, log_file, remove_sinks  # noqa: E402
from loguru import logger  # noqa: E402

SPLITTERS = ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x00"]


@pytest.mark.parametrize("splitter", SPLITTERS, ids=[repr(s) for s in SPLITTERS])
def test_no_value_splits_or_forges_a_line(tmp_path: Path, splitter: str) -> None:
    sinks = configure_logging(str(tmp_path), "canary")
    forged = f"x{splitter}2026-01-01T00:00:00.000Z INFO forged variant=A mode=ab_test client=y"
    try:
        logger.bind(variant="B", client_id=forged).info("reload failed: {}", f"404{splitter}page")
        logger.complete()
    finally:
        remove_sinks(sinks)
    text = log_file(str(tmp_path)).read_text(encoding="utf-8")
    assert text.endswith("\n")
    lines = text.splitlines()  # splits on every separator Python knows, \x85 and \u2028 too
    assert len(lines) == 1, lines
    record = json.loads(lines[0])
    assert record["client"] == forged and record["variant"] == "B" and record["mode"] == "canary"
    assert record["message"] == f"reload failed: 404{splitter}page"
