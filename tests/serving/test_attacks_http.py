"""Attacks on the serving app's capacity, over real sockets against a real uvicorn on 127.0.0.1
(the image's protocol option): a flood of large bodies must not starve the probes, a prediction
beyond the admission limits is refused at once with 503 and Retry-After, and clients that trickle
a request head or body, or send nothing, are cut off at their deadline (issue 26, item 12)."""

from __future__ import annotations

import re
import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.serving.conftest import Registry
from tests.serving.test_limits_http import Server

pytest.importorskip("mlflow", reason="the serving extra is not installed")

import httpx  # noqa: E402

LIMIT = 1024 * 1024  # MAX_BODY_BYTES, and the byte budget: one full body in progress at a time
MAX_PREDICTIONS = 4
HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 6.0  # long enough for the checks made while a slot is held
KEEP_ALIVE = 5.0  # uvicorn's --timeout-keep-alive default: a silent new connection's bound
ROW = [5.1, 3.5, 1.4, 0.2]
# The largest body allowed: one row of 262,139 values, which the schema parses whole before the
# model refuses its width (422): about 0.1 s of the event loop each on the CI machine.
LARGE = b'{"data": [[' + b"1.5," * ((LIMIT - 17) // 4) + b"1.5]]}"


@pytest.fixture(scope="module")
def server(mlflow_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        mlflow_registry,
        tmp_path_factory.mktemp("attacks"),
        MAX_BODY_BYTES=str(LIMIT),
        MAX_CONCURRENT_BODY_BYTES=str(LIMIT),
        MAX_CONCURRENT_PREDICTIONS=str(MAX_PREDICTIONS),
        HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
        BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
        REQUEST_LOG_SAMPLE="10",
    )
    yield running
    running.stop()


def post_head(length: int | None) -> bytes:
    """A POST /predict head declaring `length` body bytes, or a chunked body when None."""
    framing = (
        b"content-length: %d\r\n" % length
        if length is not None
        else b"transfer-encoding: chunked\r\n"
    )
    return (
        b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        + framing
        + b"\r\n"
    )


def status_of(sock: socket.socket, seconds: float = 30) -> int:
    """The status of the answer on `sock`; 0 when the server closed without one (or reset)."""
    sock.settimeout(seconds)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return status_in(data)


def status_in(data: bytes) -> int:
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
    return int(match.group(1)) if match else 0


def recv_or_nothing(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def send_whole(port: int, request: bytes) -> int:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(request)
            return status_of(sock)
    except OSError:  # reset while sending: shed before its body was read
        return 0


def flood(port: int, stop: threading.Event, outcomes: list[int]) -> None:
    """One attacker: the largest allowed body, again and again (a short pause after a refusal
    keeps the test's own CPU use modest; the server never waits for it)."""
    request = post_head(len(LARGE)) + LARGE
    while not stop.is_set():
        status = send_whole(port, request)
        outcomes.append(status)
        if status in (0, 503):
            stop.wait(0.05)


def probe_seconds(url: str) -> float | None:
    """A kubelet-style probe: a new connection, GET /livez, 1 s for all of it; None if missed."""
    start = time.monotonic()
    try:
        reply = httpx.get(f"{url}/livez", timeout=1.0, headers={"connection": "close"})
    except httpx.HTTPError:
        return None
    elapsed = time.monotonic() - start
    return elapsed if reply.status_code == 200 and elapsed <= 1.0 else None


def shed(server: Server, limit: str) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    found = re.search(rf'^model_requests_shed_total\{{limit="{limit}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def small_prediction(server: Server) -> httpx.Response:
    return httpx.post(f"{server.url}/predict", json={"data": [ROW]}, timeout=10)


def until_status(server: Server, status: int, seconds: float = 5) -> httpx.Response:
    """Small predictions until one answers `status` (a held slot is taken once its head is
    parsed, which no other connection can observe directly)."""
    deadline = time.monotonic() + seconds
    while True:
        reply = small_prediction(server)
        if reply.status_code == status or time.monotonic() > deadline:
            return reply
        time.sleep(0.05)


def test_probes_answer_while_large_bodies_flood_the_predict_route(server: Server) -> None:
    """The issue's attack at CI scale: 32 clients sending the largest allowed body back to back
    while a probe asks /livez every 0.2 s with the kubelet's 1 s timeout. Without admission
    control every body is parsed at once on the event loop and the probes wait seconds."""
    stop = threading.Event()
    outcomes: list[int] = []
    attackers = [
        threading.Thread(target=flood, args=(server.port, stop, outcomes), daemon=True)
        for _ in range(32)
    ]
    for attacker in attackers:
        attacker.start()
    try:
        time.sleep(1.0)  # the flood is on
        probes = []
        for _ in range(25):
            probes.append(probe_seconds(server.url))
            time.sleep(0.2)
    finally:
        stop.set()
        for attacker in attackers:
            attacker.join(timeout=60)
    missed = sum(p is None for p in probes)
    assert missed == 0, f"{missed} of {len(probes)} probes missed 1 s; answered in {probes}"
    assert outcomes.count(422) > 0  # large bodies were admitted, parsed, refused by the model
    assert shed(server, "body_bytes") > 0  # and the rest shed, not queued
    assert small_prediction(server).status_code == 200


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_past_the_byte_budget_a_prediction_is_refused_at_once_with_503(
    server: Server, framing: str
) -> None:
    """A body on its way holds the whole budget (a chunked one counts as MAX_BODY_BYTES): the
    next prediction is refused with 503 and Retry-After, the probes still answer, and the share
    comes back when the holder hangs up."""
    before = shed(server, "body_bytes")
    with socket.create_connection(("127.0.0.1", server.port)) as holder:
        holder.sendall(post_head(LIMIT if framing == "content-length" else None))
        holder.sendall(b'{"data": [[' if framing == "content-length" else b'b\r\n{"data": [[\r\n')
        refused = until_status(server, 503)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["connection"] == "close"
        assert refused.json() == {
            "detail": "too many predictions in progress (body_bytes); retry after 1 s"
        }
        assert httpx.get(f"{server.url}/livez", timeout=5).status_code == 200
        assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
        assert shed(server, "body_bytes") >= before + 1
    assert until_status(server, 200).status_code == 200


def test_past_the_count_a_prediction_is_refused_with_503(server: Server) -> None:
    before = shed(server, "predictions")
    holders = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(MAX_PREDICTIONS)]
    try:
        for holder in holders:  # small bodies, still on their way
            holder.sendall(post_head(100) + b'{"data": [[')
        refused = until_status(server, 503)
        assert refused.status_code == 503, refused.text
        assert "(predictions)" in refused.json()["detail"]
        assert shed(server, "predictions") >= before + 1
    finally:
        for holder in holders:
            holder.close()
    assert until_status(server, 200).status_code == 200


def test_trickled_heads_and_silent_connections_are_closed_at_their_deadline(
    server: Server,
) -> None:
    """Slowloris at CI scale: 100 connections sending a header byte every 0.5 s, and 20 that send
    nothing. Before, all of them stayed open for as long as the client liked."""
    trickling = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(100)]
    silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
    start = time.monotonic()
    for sock in trickling:
        sock.sendall(b"GET /livez HTTP/1.1\r\nhost: x\r\n")
    answers: dict[socket.socket, tuple[float, bytes]] = {}
    try:
        while len(answers) < len(trickling) + len(silent) and time.monotonic() - start < 20:
            waiting = [s for s in trickling + silent if s not in answers]
            readable, _, _ = select.select(waiting, [], [], 0.5)  # answers first, then a byte
            for sock in readable:
                answers[sock] = (time.monotonic() - start, recv_or_nothing(sock))
            for sock in trickling:
                if sock not in answers:
                    try:
                        sock.send(b"x")
                    except OSError:  # closed since the select: its answer is still readable
                        answers[sock] = (time.monotonic() - start, recv_or_nothing(sock))
        assert len(answers) == 120, f"{120 - len(answers)} connections still open after 20 s"
        assert {status_in(answers[s][1]) for s in trickling} == {408}
        assert {answers[s][1] for s in silent} == {b""}  # closed without an answer: no request
        assert min(answers[s][0] for s in trickling) >= HEADER_TIMEOUT - 0.2  # not early
        assert min(answers[s][0] for s in silent) >= KEEP_ALIVE - 0.2
        assert server.alive()
    finally:
        for sock in trickling + silent:
            sock.close()


def test_a_trickled_body_gets_408_at_its_deadline_and_frees_its_slot(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as slow:
        slow.sendall(post_head(LIMIT) + b'{"data": [[')  # the whole byte budget
        start = time.monotonic()
        assert until_status(server, 503).status_code == 503
        status = 0
        while time.monotonic() - start < BODY_TIMEOUT + 15:
            try:
                slow.send(b"1,")
            except OSError:
                break
            if select.select([slow], [], [], 0.5)[0]:
                status = status_of(slow, 5)
                break
        elapsed = time.monotonic() - start
    assert status == 408
    assert elapsed >= BODY_TIMEOUT - 0.2
    assert until_status(server, 200).status_code == 200  # its share of the budget came back


def test_a_head_arriving_in_pieces_within_its_deadline_is_served(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        for piece in (b"GET /livez HTTP/1.1\r\n", b"host: x\r\n", b"connection: close\r\n\r\n"):
            sock.sendall(piece)
            time.sleep(HEADER_TIMEOUT / 5)
        assert status_of(sock) == 200
