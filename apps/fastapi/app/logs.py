"""Logs with loguru: one file per pod under LOG_DIR (replicas sharing a volume never write one
file), rotated, and stdout. Each line carries variant, mode and client id where there is one."""

from __future__ import annotations

import contextlib
import socket
import sys
from pathlib import Path

from loguru import logger

from app.config import SettingsError

FORMAT = (
    "{time:YYYY-MM-DDTHH:mm:ss.SSSZ} {level} {message} "
    "variant={extra[variant]} mode={extra[mode]} client={extra[client_id]}"
)


def log_file(log_dir: str) -> Path:
    return Path(log_dir) / f"fastapi-{socket.gethostname()}.log"


def configure_logging(log_dir: str, mode: str) -> list[int]:
    """Add the sinks; returns their ids so shutdown removes exactly these."""
    path = log_file(log_dir)
    try:
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
        logger.add(sys.stdout, format=FORMAT, level="INFO"),
        logger.add(path, format=FORMAT, level="INFO", rotation="50 MB", retention=10),
    ]


def remove_sinks(ids: list[int]) -> None:
    for sink in ids:
        with contextlib.suppress(ValueError):
            logger.remove(sink)
