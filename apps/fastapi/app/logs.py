"""Logs with loguru: one file per pod under LOG_DIR (replicas sharing a volume never write one
file), rotated, and stdout. Each line is one JSON object carrying variant, mode and client id.

JSON lines because values come from requests (the `x-client-id` header) and from the registry
(error texts): written as is, `x variant=A mode=...` forged fields and `\\n`, `\\r`, `\\x85` or
`\\u2028` split lines. `json.dumps` with ASCII output escapes every quote, control character and
non-ASCII line separator, so one record is always exactly one line with the fields it was given.
A URL's userinfo (`user:password@`, which MLflow's error texts repeat) is removed from every line.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

from loguru import logger

from app.config import SettingsError
from app.redact import redact_text
from app.workers import log_slot

FIELDS = (("variant", "variant"), ("mode", "mode"), ("client", "client_id"))


def json_line(record: Any) -> str:
    """The loguru format function: the record as one escaped JSON object (kept in `extra`, so
    loguru inserts it without interpreting its braces)."""
    extra = record["extra"]
    line: dict[str, Any] = {
        "time": record["time"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "level": record["level"].name,
        "message": redact_text(record["message"]),
    }
    for key, name in FIELDS:
        line[key] = str(extra.get(name, "-"))
    if record["exception"] is not None:
        kind, value, _ = record["exception"]
        line["error"] = redact_text(f"{kind.__name__ if kind else 'Exception'}: {value}")
    extra["_json"] = json.dumps(line, ensure_ascii=True, default=str)
    return "{extra[_json]}\n"


def log_file(log_dir: str, slot: int | None = None) -> Path:
    """`fastapi-<hostname>.log`; with several workers, `fastapi-<hostname>-<slot>.log`."""
    stem = f"fastapi-{socket.gethostname()}"
    return Path(log_dir) / (f"{stem}-{slot}.log" if slot is not None else f"{stem}.log")


def configure_logging(log_dir: str, mode: str, workers: int = 1) -> list[int]:
    """Add the sinks; returns their ids so shutdown removes exactly these. With several worker
    processes each writes a file of its own (app.workers.log_slot)."""
    try:
        slot = None
        if workers > 1:
            slot = log_slot(Path(log_dir), f"fastapi-{socket.gethostname()}", workers)
        path = log_file(log_dir, slot)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a"):
            pass
    except OSError as exc:
        raise SettingsError(f"LOG_DIR={log_dir!r} is not writable: {exc.strerror}") from exc
    with contextlib.suppress(ValueError):
        logger.remove(0)  # loguru's default stderr sink: stdout below replaces it
    logger.configure(extra={"variant": "-", "mode": mode, "client_id": "-"})
    # No enqueue: loguru's queue pickles every record through a multiprocessing pipe, which a
    # profile under load showed costing more than the buffered writes it saves.
    return [
        logger.add(sys.stdout, format=json_line, level="INFO"),
        logger.add(path, format=json_line, level="INFO", rotation="50 MB", retention=10),
    ]


def remove_sinks(ids: list[int]) -> None:
    for sink in ids:
        with contextlib.suppress(ValueError):
            logger.remove(sink)
