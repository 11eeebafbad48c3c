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
  supervisors that no longer run. A worker that exits marks itself dead (its live gauges go); one
  killed without a goodbye (SIGKILL, the OOM killer) cannot, so a starting worker and every scrape
  remove the live gauges of every pid that is no running worker of this supervisor. The shared
  `<tmp>/gitopsgen-metrics` is used only when it is a real directory of our own that nobody else
  can write to: a symlink there (another user's, in a shared /tmp) would otherwise lead the
  clean-up into its target.
- **Logs** go to one file per worker slot, `fastapi-<hostname>-<n>.log` with n from 1 to the
  number of workers: a worker takes the first free slot (an exclusive lock it holds while it
  runs), so a restarted worker continues its predecessor's file and the count of files stays
  bounded.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import IO

METRICS_BASE = Path(tempfile.gettempdir()) / "gitopsgen-metrics"
LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]*_(\d+)\.db")  # prometheus_client's file names
_slot_locks: list[IO[bytes]] = []  # held for the life of the process


class UnsafeMetricsDirError(RuntimeError):
    """The metrics folder is a symlink, not a folder, or not only ours."""


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), None if no process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _started(pid: int) -> str | None:
    """The start time of process `pid` (clock ticks since boot), None when it does not run."""
    fields = _proc_stat(pid)
    return fields[19] if fields else None


def _running_child(pid: int, parent: int) -> bool:
    fields = _proc_stat(pid)
    return fields is not None and fields[0] not in ("Z", "X") and int(fields[1]) == parent


def private_dir(path: Path) -> Path:
    """`path` as a folder only this user can write to: created 0700, or refused (never followed
    or changed) when it is a symlink, not a folder, another user's, or writable by others."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        problem = "is a symlink" if stat.S_ISLNK(info.st_mode) else "is not a folder"
    elif info.st_uid != os.getuid():
        problem = f"belongs to uid {info.st_uid}, not {os.getuid()}"
    elif info.st_mode & 0o022:
        problem = f"can be written by others (mode {stat.S_IMODE(info.st_mode):o})"
    else:
        return path
    raise UnsafeMetricsDirError(
        f"the metrics folder {path} {problem}; refusing to use it (remove it, or point TMPDIR "
        "at a private folder)"
    )


def metrics_dir(base: Path = METRICS_BASE) -> Path:
    """This supervisor run's directory, created; older runs' directories removed."""
    supervisor = os.getppid()
    own = f"{supervisor}-{_started(supervisor)}"
    private_dir(base)
    for entry in base.iterdir():
        pid, _, started = entry.name.partition("-")
        if entry.name != own and pid.isdigit() and _started(int(pid)) != started:
            if entry.is_symlink():  # ours to remove, never to follow
                entry.unlink(missing_ok=True)
            else:
                shutil.rmtree(entry, ignore_errors=True)
    return private_dir(base / own)


def forget_dead_workers(path: Path, supervisor: int, starting: bool = False) -> list[int]:
    """Remove the live-gauge files of every pid that is no running child of `supervisor` (and,
    for a worker `starting`, its own pid's: left by a dead worker whose pid it was given), so
    `model_version` shows only workers that serve. Counters and histograms are kept: their
    totals must not go down. Returns the pids forgotten."""
    forgotten = set()
    for entry in path.glob("gauge_live*_*.db"):
        match = LIVE_GAUGE_FILE.fullmatch(entry.name)
        if match is None:
            continue
        pid = int(match.group(1))
        if (starting and pid == os.getpid()) or (
            pid != os.getpid() and not _running_child(pid, supervisor)
        ):
            entry.unlink(missing_ok=True)  # another worker may be removing it too
            forgotten.add(pid)
    return sorted(forgotten)


def use_multiprocess_metrics(path: Path) -> None:
    """Every metric created from now on in this process keeps its values in files under `path`."""
    from prometheus_client import values

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def shared_metrics_dir() -> Path | None:
    """The folder this process's metrics live in, in multiprocess mode."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(path) if path else None


def mark_dead() -> None:
    """This worker's live gauges leave /metrics (prometheus_client's `mark_process_dead`, which
    fails when a scrape in another worker removed a file first)."""
    path = shared_metrics_dir()
    if path is not None:
        for entry in path.glob(f"gauge_live*_{os.getpid()}.db"):
            entry.unlink(missing_ok=True)


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
