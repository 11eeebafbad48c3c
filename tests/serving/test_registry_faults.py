"""Faults between the app and MLflow: only MLflow's own "does not exist" unloads a model; a proxy's
404 page, a 5xx, a hanging or an unreachable registry keep the loaded model, count a failed
reload and alert, within a bounded time."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.serving.conftest import Registry, Webhook
from tests.support import local_http_server

pytest.importorskip("mlflow", reason="the serving extra is not installed")

from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402
from app.models import ModelStore, RegistryError  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from tools.local_mlflow import delete_alias, free_port, register_model  # noqa: E402

TOKEN = "registry-fault-token"
ROW = [5.1, 3.5, 1.4, 0.2]
HTML_404 = b"<html><head><title>404 Not Found</title></head><body>nginx: not found</body></html>"


def eventually(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@dataclass
class Proxy:
    """A real HTTP server on 127.0.0.1 in front of MLflow: forwards, or fails as told."""

    url: str
    mode: str = "forward"  # forward | html404 | json404 | text500 | hang
    requests: int = 0


@pytest.fixture
def proxy(mlflow_registry: Registry) -> Iterator[Proxy]:
    state = Proxy("")
    released = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            state.requests += 1
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            if state.mode == "html404":
                return self._answer(404, HTML_404, "text/html")
            if state.mode == "json404":  # JSON, but not MLflow's: an ingress' default backend
                return self._answer(
                    404, b'{"error": "not found", "status": 404}', "application/json"
                )
            if state.mode == "text500":
                return self._answer(
                    500,
                    b'{"error_code": "INTERNAL_ERROR", "message": "model not found in cache"}',
                    "application/json",
                )
            if state.mode == "hang":
                released.wait(timeout=60)  # never answers while the test runs
                return None
            request = urllib.request.Request(
                mlflow_registry.url + self.path, data=body, method=self.command
            )
            for name in ("content-type", "authorization"):
                if self.headers.get(name):
                    request.add_header(name, self.headers[name])
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    payload, status = answer.read(), answer.status
                    kind = answer.headers.get("content-type", "application/json")
            except urllib.error.HTTPError as error:
                payload, status = error.read(), error.code
                kind = error.headers.get("content-type", "application/json")
            return self._answer(status, payload, kind)

        do_GET = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815 - http.server's naming

        def log_message(self, *_: object) -> None:
            return

    with local_http_server(Handler) as url:
        state.url = url
        try:
            yield state
        finally:
            released.set()


def settings(tracking_uri: str, tmp_path: Path, name: str, **extra: Any) -> Settings:
    base: dict[str, Any] = {
        "tracking_uri": tracking_uri,
        "model_name": name,
        "reload_token": TOKEN,
        "log_dir": str(tmp_path / "logs"),
        "poll_interval_seconds": 0,
        "registry_timeout_seconds": 1,
    }
    return Settings(**{**base, **extra})


def own_model(registry: Registry, name: str) -> None:
    register_model(registry.url, "logreg", "A", name=name)
    register_model(registry.url, "tree", "B", name=name)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("mode", ["html404", "json404", "text500", "hang"])
def test_a_failing_proxy_never_unloads_a_model(
    mlflow_registry: Registry, proxy: Proxy, tmp_path: Path, slack_webhook: Webhook, mode: str
) -> None:
    name = f"proxied_{mode}"
    own_model(mlflow_registry, name)
    app = create_app(settings(proxy.url, tmp_path, name, slack_webhook_url=slack_webhook.url))
    with TestClient(app) as client:
        assert client.get("/health").json()["status"] == "ok"  # loaded through the proxy
        proxy.mode = mode
        started = time.monotonic()
        reply = client.post("/variant/B/reload", headers={"x-token": TOKEN})
        elapsed = time.monotonic() - started
        assert reply.status_code == 502, reply.text
        assert reply.json()["detail"]["serving_version"] == "2"
        assert elapsed < 30  # 3 tries of 1 s and 2 s backoff at most: far below this
        health = client.get("/health")
        assert (health.status_code, health.json()["status"]) == (200, "ok")
        answer = client.post("/predict", json={"data": [ROW]})
        assert answer.status_code == 200 and answer.json()["version"] == "2"
        metrics = client.get("/metrics").text
        assert 'model_reloads_total{alias="B",result="failed"} 1.0' in metrics
        assert 'result="unloaded"' not in metrics
    assert eventually(lambda: "reload_failed" in slack_webhook.events())
    assert "alias_unloaded" not in slack_webhook.events()
    assert "health_changed" not in slack_webhook.events()[1:]  # only the start's unhealthy -> ok


@pytest.mark.timeout(240)
def test_the_poller_keeps_serving_through_a_proxy_404_and_alerts_once(
    mlflow_registry: Registry, proxy: Proxy, tmp_path: Path, slack_webhook: Webhook
) -> None:
    name = "proxied_poll"
    own_model(mlflow_registry, name)
    app = create_app(
        settings(
            proxy.url,
            tmp_path,
            name,
            slack_webhook_url=slack_webhook.url,
            poll_interval_seconds=0.2,
        )
    )
    with TestClient(app) as client:
        proxy.mode = "html404"
        assert eventually(
            lambda: 'alias="B",result="failed"} 3.0' in client.get("/metrics").text, 30
        )
        assert client.get("/health").json() == {"status": "ok", "loaded": ["A", "B"], "missing": []}
        assert client.post("/predict", json={"data": [ROW]}).status_code == 200
    failed = [m for m in slack_webhook.received if m["event"] == "reload_failed"]
    assert len(failed) == 2  # one per alias for this outage, not one per poll
    assert "alias_unloaded" not in slack_webhook.events()


def test_mlflows_own_answer_still_unloads_through_the_proxy(
    mlflow_registry: Registry, proxy: Proxy, tmp_path: Path
) -> None:
    """The real server's RESOURCE_DOES_NOT_EXIST, passed on by the proxy, is the one answer that
    unloads an alias."""
    name = "proxied_deleted"
    own_model(mlflow_registry, name)
    with TestClient(create_app(settings(proxy.url, tmp_path, name))) as client:
        delete_alias(mlflow_registry.url, "B", name)
        reply = client.post("/variant/B/reload", headers={"x-token": TOKEN})
        assert reply.status_code == 404, reply.text
        assert client.get("/health").json()["missing"] == ["B"]


@pytest.mark.timeout(120)
def test_an_unreachable_registry_is_given_up_on_within_the_bound() -> None:
    """Nothing listens on the port: MLflow's own defaults retried for about four minutes."""
    store = ModelStore(f"http://127.0.0.1:{free_port()}", "best_model", registry_timeout_seconds=5)
    started = time.monotonic()
    with pytest.raises(RegistryError, match="cannot"):
        store.resolve_version("B")
    assert time.monotonic() - started < 30


@pytest.mark.timeout(240)
def test_a_failing_registry_never_unloads_a_pinned_model(
    mlflow_registry: Registry, proxy: Proxy, tmp_path: Path
) -> None:
    """A reload of a pinned alias asks the registry for the pinned version: a 5xx keeps the
    loaded pin; the poll's failure keeps the last answer the registry gave on /models, and says
    why it is old."""
    name = "proxied_pinned"
    own_model(mlflow_registry, name)
    app = create_app(
        settings(proxy.url, tmp_path, name, model_version_b="1", poll_interval_seconds=0.3)
    )
    with TestClient(app) as client:
        assert client.post("/variant/B/predict", json={"data": [ROW]}).json()["version"] == "1"
        assert eventually(lambda: client.get("/models").json()["registry"]["checked_at"])
        proxy.mode = "text500"
        reply = client.post("/variant/B/reload", headers={"x-token": TOKEN})
        assert reply.status_code == 502, reply.text
        assert reply.json()["detail"]["serving_version"] == "1"
        assert client.get("/health").json()["status"] == "ok"
        assert eventually(lambda: client.get("/models").json()["registry"]["error"] is not None)
        models = client.get("/models").json()
        assert "500 error responses" in models["registry"]["error"]
        # the registry's last answer stands: B pointed to 2 while pinned to 1
        assert models["versions"]["B"] == {
            "pinned_version": "1",
            "registry_version": "2",
            "serving_version": "1",
            "drift": True,
        }
        assert client.post("/variant/B/predict", json={"data": [ROW]}).json()["version"] == "1"
