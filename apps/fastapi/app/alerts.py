"""Slack alerts: sent in the background with a timeout, never blocking or failing a request."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
from loguru import logger

from app.redact import redact_text

TEMPLATES = {
    "prediction_failed": ":x: *{model}* prediction failed on {alias} (v{version}) in {mode} mode: {error}",
    "reload_succeeded": ":white_check_mark: *{model}@{alias}* reloaded: v{previous} -> v{version}",
    "reload_failed": ":warning: *{model}@{alias}* reload failed, still serving v{version}: {error}",
    "alias_unloaded": ":warning: *{model}@{alias}* no longer exists in the registry; unloaded",
    "health_changed": ":rotating_light: *{model}* health {previous} -> {status} (loaded: {loaded})",
}


class SlackNotifier:
    """Posts templated messages to an incoming webhook; off when no URL is set."""

    def __init__(self, webhook_url: str, timeout: float, model: str) -> None:
        self.webhook_url = webhook_url
        self.timeout = timeout
        self.model = model
        self.host = socket.gethostname()
        self._client: httpx.AsyncClient | None = None
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url)

    def notify(self, event: str, **fields: Any) -> None:
        if not self.enabled:
            return
        # error texts (MLflow's) may hold a URL with a password: never sent to Slack
        text = redact_text(TEMPLATES[event].format(model=self.model, **fields))
        text += f" (pod {self.host})"
        task = asyncio.get_running_loop().create_task(self._send(event, text))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send(self, event: str, text: str) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        try:
            response = await self._client.post(
                self.webhook_url, json={"text": text, "event": event}
            )
            if response.status_code >= 400:
                logger.warning("slack webhook answered {} for {}", response.status_code, event)
        except httpx.HTTPError as exc:  # the webhook URL is a secret: its path is the key
            reason = redact_text(str(exc), (self.webhook_url,))
            logger.warning("slack webhook failed for {}: {}", event, reason)

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.wait(self._pending, timeout=self.timeout)
        if self._client is not None:
            await self._client.aclose()
