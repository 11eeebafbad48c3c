"""Issue 26's attacks on the serving app, measured: `python tools/attack.py` (from apps/fastapi).

Starts a real MLflow server and the app as the image runs it (default settings, one worker,
127.0.0.1), then:

1. **flood**: `--clients` clients each send the largest allowed body (8 MiB, one long row) back
   to back for `--seconds`, while a probe asks /livez every second with the kubelet's 1 s timeout
   (a new connection each time): how many answered within 1, 2 and 5 s, the answers by status,
   and the app's peak memory above its size before;
2. **slowloris**: `--connections` connections send a request line, then one header byte every
   2 s; how many the server still holds after `--hold` seconds.

The numbers in apps/fastapi/README.md ("Reliability") come from this run.
"""

from __future__ import annotations

import argparse
import collections
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.local_mlflow import app_command, free_port, seed_registry, start_server  # noqa: E402

BODY_LIMIT = 8 * 1024 * 1024
LARGE = b'{"data": [[' + b"1.5," * ((BODY_LIMIT - 17) // 4) + b"1.5]]}"
REQUEST = (
    b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(LARGE), LARGE)
)


def status_of(port: int, request: bytes, timeout: float) -> int:
    """One request on a new connection; its status, or 0 (reset, closed, late)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(request)
            head = sock.recv(64)
    except OSError:
        return 0
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def kib(pid: int, field: str) -> int:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return int(next(line.split()[1] for line in lines if line.startswith(field)))


def flood(port: int, pid: int, clients: int, seconds: float) -> None:
    stop = threading.Event()
    answers: collections.Counter[int] = collections.Counter()

    def client() -> None:
        while not stop.is_set():
            answers[status_of(port, REQUEST, 120)] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    before = kib(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM from now on
    for thread in threads:
        thread.start()
    probes = []  # seconds to an answer, None when there was none within 10 s
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.monotonic()
        ok = status_of(port, b"GET /livez HTTP/1.1\r\nhost: x\r\n\r\n", 10.0) == 200
        elapsed = time.monotonic() - start
        probes.append(elapsed if ok else None)
        time.sleep(max(0.0, 1.0 - elapsed))
    stop.set()
    for thread in threads:
        thread.join(timeout=180)
    answered = sorted(p for p in probes if p is not None)
    within = {limit: sum(p <= limit for p in answered) for limit in (1, 2, 5)}
    print(
        f"flood: {clients} clients x 8 MiB for {seconds:.0f} s: of {len(probes)} /livez probes "
        + ", ".join(f"{n} answered within {limit} s" for limit, n in within.items())
        + f" (median {answered[len(answered) // 2] if answered else 0:.2f} s, slowest "
        f"{answered[-1] if answered else 0:.2f} s); answers {dict(sorted(answers.items()))}; "
        f"peak memory +{(kib(pid, 'VmHWM') - before) / 1024:.0f} MB over {before / 1024:.0f} MB"
    )


def slowloris(port: int, connections: int, hold: float) -> None:
    socks = []
    for _ in range(connections):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /livez HTTP/1.1\r\nhost: x\r\n")
        sock.setblocking(False)
        socks.append(sock)
    end = time.monotonic() + hold
    open_socks = socks
    while time.monotonic() < end:
        still = []
        for sock in open_socks:
            try:
                sock.recv(4096)  # an answer (408) or b"": the server is closing it
                continue
            except BlockingIOError:  # nothing yet: still open
                pass
            except OSError:
                continue
            try:
                sock.send(b"x")
                still.append(sock)
            except OSError:
                pass
        open_socks = still
        time.sleep(2.0)
    print(
        f"slowloris: {connections} connections trickling a header byte every 2 s: "
        f"{len(open_socks)} still open after {hold:.0f} s"
    )
    for sock in socks:
        sock.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--hold", type=float, default=20)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the app")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        registry = start_server(Path(tmp) / "mlflow")
        port = free_port()
        app = None
        try:
            seed_registry(registry.url)
            env = {
                **os.environ,
                "MLFLOW_TRACKING_URI": registry.url,
                "MODEL_NAME": "best_model",
                "LOG_DIR": f"{tmp}/logs",
                "ALIAS_POLL_INTERVAL_SECONDS": "0",
                **dict(item.split("=", 1) for item in args.env),
            }
            app = subprocess.Popen(
                app_command(port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            while status_of(port, b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n", 2) != 200:
                if app.poll() is not None:
                    raise RuntimeError("the app did not start")
                time.sleep(0.5)
            flood(port, app.pid, args.clients, args.seconds)
            slowloris(port, args.connections, args.hold)
        finally:
            if app is not None:
                app.terminate()
                app.wait(timeout=60)
            registry.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
