"""Hostile requests over real HTTP (uvicorn on 127.0.0.1, the image's protocol option): a body
over the limit however it arrives, an oversized head, and client ids that try to forge log lines."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.conftest import Registry
from tests.support import REPO

pytest.importorskip("mlflow", reason="the serving extra is not installed")

import httpx  # noqa: E402
from tools.local_mlflow import app_command, free_port  # noqa: E402

LIMIT = 1024 * 1024  # MAX_BODY_BYTES for these tests


class Server:
    def __init__(self, registry: Registry, tmp_path: Path, **extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = tmp_path / "logs"
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": registry.url,
            "MODEL_NAME": "best_model",
            "LOG_DIR": str(self.log_dir),
            "ALIAS_POLL_INTERVAL_SECONDS": "0",
            "MAX_BODY_BYTES": str(LIMIT),
            "REQUEST_LOG_SAMPLE": "1",  # every answered request logged: the forgery tests read it
            **extra,
        }
        self.out = tmp_path / "uvicorn.log"
        with self.out.open("w") as out:
            self.process = subprocess.Popen(
                app_command(self.port), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise AssertionError(f"uvicorn did not start:\n{self.out.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def rss_kib(self, field: str = "VmRSS") -> int:
        """The process's resident size now (VmRSS) or at its peak (VmHWM), in KiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith(field)))

    def reset_peak(self) -> None:
        """From now on VmHWM is the peak since this call (Linux: `5` in clear_refs)."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")

    def alive(self) -> bool:
        return httpx.get(f"{self.url}/livez", timeout=5).status_code == 200


@pytest.fixture(scope="module")
def server(mlflow_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(mlflow_registry, tmp_path_factory.mktemp("limits"))
    yield running
    running.stop()


def read_status(sock: socket.socket) -> tuple[int, bytes]:
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]), data


def test_a_chunked_body_over_the_limit_is_refused_while_it_arrives(server: Server) -> None:
    """No Content-Length: the bytes are counted as they are read; 413 once the limit is passed,
    long before the 100 MB the client means to send, and memory stays flat."""
    before = server.rss_kib()
    chunk = b'{"data": [[' + b"1.5," * 16_000  # 64 KB of a never-ending row
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        try:
            while sent < 100 * 1024 * 1024:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                chunk = b"1.5," * 16_000
        except OSError:  # the server answered and closed: stop sending
            pass
        status, head = read_status(sock)
    assert status == 413, head
    assert sent < 40 * 1024 * 1024  # refused within the first MBs (socket buffers hold some)
    assert server.rss_kib() - before < 64 * 1024
    assert server.alive()


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n{" % (100 * 1024 * 1024)
        )
        status, head = read_status(sock)
    assert status == 413, head


def test_a_body_under_the_limit_is_served(server: Server) -> None:
    rows = [[5.1, 3.5, 1.4, 0.2]] * 5_000  # ~100 KB
    answer = httpx.post(f"{server.url}/predict", json={"data": rows}, timeout=30)
    assert answer.status_code == 200 and len(answer.json()["prediction"]) == 5_000


@pytest.mark.parametrize("size", [70 * 1024, 8 * 1024 * 1024])
def test_an_oversized_head_is_refused_with_431(server: Server, size: int) -> None:
    before = server.rss_kib()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nhost: x\r\nx-big: ")
        sent = 0
        try:
            while sent < size:
                sock.sendall(b"a" * 65536)
                sent += 65536
            sock.sendall(b"\r\n\r\n")
        except OSError:
            pass
        status, head = read_status(sock)
    assert status == 431, head
    assert server.rss_kib() - before < 64 * 1024
    assert server.alive()
    normal = httpx.get(f"{server.url}/livez", headers={"x-fine": "a" * 4096}, timeout=5)
    assert normal.status_code == 200


FORGERIES = [
    "x variant=A mode=ab_test",
    'x" variant="A',
    "x\x85variant=A mode=forged\xa0\xff",  # obs-text: any byte from 0x80 passes the parser
    '{"level": "ERROR"}',
]  # other control characters are refused by the HTTP parser (400); test_log_lines covers them


@pytest.mark.parametrize("client_id", FORGERIES)
def test_a_client_id_cannot_forge_a_log_line(server: Server, client_id: str) -> None:
    """Over real HTTP a header carries any byte but CR and LF; each record stays one JSON line
    whose client field is exactly what was sent."""
    raw = json.dumps({"data": [[5.1, 3.5, 1.4, 0.2]]}).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"x-client-id: " + client_id.encode("latin-1") + b"\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(raw), raw)
        )
        status, head = read_status(sock)
    assert status == 200, head
    log = next(server.log_dir.glob("fastapi-*.log"))

    def records() -> list[dict[str, str]]:
        return [json.loads(line) for line in log.read_text().split("\n") if line]

    deadline = time.monotonic() + 10
    while not any(r["client"] == client_id for r in records()) and time.monotonic() < deadline:
        time.sleep(0.1)
    mine = [r for r in records() if r["client"] == client_id]
    assert len(mine) == 1 and mine[0]["variant"] == "B" and mine[0]["mode"] == "blue_green"
    for line in log.read_bytes().split(b"\n"):
        assert line.isascii() and not any(c < 0x20 for c in line), line
