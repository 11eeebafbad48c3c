"""Local servers for tests, demos and benchmarks: a free port, a process group stopped cleanly,
and waiting until a server answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LocalServer:
    """A server process started in a session of its own, so its children stop with it."""

    process: subprocess.Popen[bytes]
    url: str
    workdir: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def wait_until_ok(self, path: str, log: Path, timeout: float) -> None:
        """Return once `path` answers 200; stop the server and raise if it exits or is late."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.url} exited: see {log}")
            try:
                with urllib.request.urlopen(f"{self.url}{path}", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.url} did not answer {path} within {timeout:.0f}s: see {log}")
