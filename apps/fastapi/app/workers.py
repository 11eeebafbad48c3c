"""Several uvicorn worker processes in one container (`WEB_CONCURRENCY`, the chart's `workers`).

uvicorn starts the workers from one supervisor, each with its own models, metrics and sinks, and
they share the listening socket. Two things would go wrong on their own: each worker's `/metrics`
shows only its own counters (Prometheus scrapes whichever worker accepts, so counters jump back
and forth: resets), and every worker appends to the same log file. So with more than one worker:

- **Metrics** use prometheus_client's multiprocess mode: every worker writes its values to
  memory-mapped files in one directory, `/metrics` (answered by any worker) sums the files of all
  workers, dead ones included, so a counter never goes down when a worker is restarted. The
  directory is per supervisor run (`<tmp>/gitopsgen-metrics/<supervisor pid>-<its start time>`):
  a container restart starts from empty files, and a new run removes the directories of
  supervisors that no longer run. A worker that exits marks itself dead (its live gauges go).
- **Logs** go to one file per worker slot, `fastapi-<hostname>-<n>.log` with n from 1 to the
  number of workers: a worker takes the first free slot (an exclusive lock it holds while it
  runs), so a restarted worker continues its predecessor's file and the count of files stays
  bounded.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

METRICS_BASE = Path(tempfile.gettempdir()) / "gitopsgen-metrics"
_slot_locks: list[IO[bytes]] = []  # held for the life of the process


def _started(pid: int) -> str | None:
    """The start time of process `pid` (clock ticks since boot), None when it does not run."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def metrics_dir(base: Path = METRICS_BASE) -> Path:
    """This supervisor run's directory, created; older runs' directories removed."""
    supervisor = os.getppid()
    own = f"{supervisor}-{_started(supervisor)}"
    base.mkdir(parents=True, exist_ok=True)
    for entry in base.iterdir():
        pid, _, started = entry.name.partition("-")
        if entry.name != own and pid.isdigit() and _started(int(pid)) != started:
            shutil.rmtree(entry, ignore_errors=True)
    path = base / own
    path.mkdir(exist_ok=True)
    return path


def use_multiprocess_metrics(path: Path) -> None:
    """Every metric created from now on in this process keeps its values in files under `path`."""
    from prometheus_client import values

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def mark_dead() -> None:
    from prometheus_client import multiprocess

    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def log_slot(log_dir: Path, stem: str, workers: int) -> int:
    """The first of slots 1..workers no other running worker holds (held until exit)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    for slot in range(1, workers + 1):
        handle = (log_dir / f".{stem}-{slot}.lock").open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _slot_locks.append(handle)
        return slot
    return os.getpid()  # more workers than slots (should not happen): a file of its own


def release_slots() -> None:
    while _slot_locks:
        with contextlib.suppress(OSError):
            _slot_locks.pop().close()
