"""Peak memory of the serving process per hostile or large request (issue 12, item 1).

`python -m bench.serving_memory` starts a real MLflow server and the app under uvicorn with the
image's protocol option (`--http app.server:HttpProtocol`) and default limits, then for each case
resets the process' peak RSS (`echo 5 > /proc/PID/clear_refs`), sends the request over a socket on
127.0.0.1 and reads VmHWM: the figure is the peak above the resident size before the request.
Linux only. Runs in well under a minute.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "apps/fastapi"))

from app.config import DEFAULT_MAX_BODY_BYTES  # noqa: E402
from tools.local_mlflow import MODEL_NAME, app_command, free_port, seed_registry, start_server  # noqa: E402

MB = 1024 * 1024


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def answer(sock: socket.socket) -> str:
    sock.settimeout(60)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode(errors="replace")


def chunked_100mb(port: int) -> str:
    piece = b"1.5," * 16_384
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"transfer-encoding: chunked\r\n\r\n" + b'%x\r\n{"data": [[\r\n' % 11
        )
        try:
            for _ in range(100 * MB // len(piece)):
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        except OSError:
            pass  # refused and closed
        return answer(sock)


def header_100mb(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nhost: x\r\nx-big: ")
        try:
            for _ in range(100 * MB // 65536):
                sock.sendall(b"a" * 65536)
            sock.sendall(b"\r\n\r\n")
        except OSError:
            pass
        return answer(sock)


def largest_body(element: bytes) -> Callable[[int], str]:
    def send(port: int) -> str:
        head, tail = b'{"data": [[', b"1]]}"
        count = (DEFAULT_MAX_BODY_BYTES - len(head) - len(tail)) // len(element)
        body = head + element * count + tail
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(
                b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
            )
            sock.sendall(body)
            return answer(sock)

    return send


def typical_batch(port: int) -> str:
    rows = [[5.1, 3.5, 1.4, 0.2]] * 10_000  # MAX_BATCH_ROWS rows of the iris model
    response = httpx.post(f"http://127.0.0.1:{port}/predict", json={"data": rows}, timeout=60)
    return f"HTTP/1.1 {response.status_code}"


CASES: list[tuple[str, Callable[[int], str]]] = [
    ("100 MB body, chunked (no Content-Length)", chunked_100mb),
    ("100 MB header", header_100mb),
    (
        f"{DEFAULT_MAX_BODY_BYTES // MB} MiB body, one row of `1.5,` (largest allowed)",
        largest_body(b"1.5,"),
    ),
    (
        f"{DEFAULT_MAX_BODY_BYTES // MB} MiB body, one row of `0,` (largest allowed)",
        largest_body(b"0,"),
    ),
    ("10,000 rows of 4 features (~180 KB, MAX_BATCH_ROWS)", typical_batch),
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mlflow = start_server(work / "mlflow")
        try:
            seed_registry(mlflow.url)
            port = free_port()
            env = {
                **os.environ,
                "MLFLOW_TRACKING_URI": mlflow.url,
                "MODEL_NAME": MODEL_NAME,
                "LOG_DIR": str(work / "logs"),
                "ALIAS_POLL_INTERVAL_SECONDS": "0",
            }
            app = subprocess.Popen(
                app_command(port, "--log-level", "warning"),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).is_success:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.3)
                typical_batch(port)  # warm up: first-call allocations are not the request's
                print(f"baseline RSS after start: {status_kib(app.pid, 'VmRSS') / 1024:.0f} MB")
                print("| request | answer | peak RSS above baseline |")
                print("| --- | --- | --- |")
                for name, case in CASES:
                    before = status_kib(app.pid, "VmRSS")
                    Path(f"/proc/{app.pid}/clear_refs").write_text("5")
                    started = time.monotonic()
                    status = case(port)
                    elapsed = time.monotonic() - started
                    time.sleep(0.3)
                    peak = status_kib(app.pid, "VmHWM")
                    print(
                        f"| {name} | {status.split(' ', 1)[1]} in {elapsed:.1f} s "
                        f"| +{(peak - before) / 1024:.0f} MB |"
                    )
            finally:
                app.terminate()
                app.wait(timeout=30)
        finally:
            mlflow.stop()


if __name__ == "__main__":
    main()
