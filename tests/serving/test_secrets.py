"""No secret setting is ever printed whole (issue 26, item 15, the app's part): not in a
settings error, the pod log, a Slack alert or an error answer. Secrets show as their length, URLs
(a Slack webhook's path is its key; any URL may carry `user:password@`) as scheme and host."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.serving.conftest import Registry, Webhook

pytest.importorskip("mlflow", reason="the serving extra is not installed")

from app.alerts import SlackNotifier  # noqa: E402
from app.config import Settings, SettingsError, load_settings  # noqa: E402
from app.logs import json_line  # noqa: E402
from app.redact import redact_text, redact_url  # noqa: E402
from loguru import logger  # noqa: E402
from tools.local_mlflow import app_command, free_port  # noqa: E402

from tests.serving.test_app_server import app_env, start  # noqa: E402

BASE = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000", "MODEL_NAME": "m"}
WEBHOOK_KEY = "T0000AAAA/B0000BBBB/XXXXsecretXXXX"


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        (
            "SLACK_WEBHOOK_URL",
            f"ftp://hooks.slack.com/services/{WEBHOOK_KEY}",
            "SLACK_WEBHOOK_URL='ftp://hooks.slack.com/...': is not an http(s) URL",
        ),
        (
            "MLFLOW_TRACKING_URI",
            "gopher://admin:XXXXsecretXXXX@mlflow:5000/",
            "MLFLOW_TRACKING_URI='gopher://mlflow:5000/...': is not a tracking URI",
        ),
        (  # an unencoded `/` in the password: urlsplit alone would print the rest as a path
            "PREVIEW_URL",
            "ftp://admin:XXXX/secretXXXX@preview",
            "PREVIEW_URL='ftp://preview/...': is not an http(s) URL",
        ),
        ("SLACK_WEBHOOK_URL", "XXXXsecretXXXX", "SLACK_WEBHOOK_URL='<14 characters, redacted>'"),
    ],
)
def test_a_settings_error_never_shows_a_secret(name: str, value: str, shown: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({**BASE, name: value})
    assert str(raised.value).startswith(shown)
    assert "secret" not in str(raised.value)


def test_secret_settings_are_left_out_of_the_settings_repr() -> None:
    settings = Settings(
        tracking_uri="http://admin:XXXXsecretXXXX@mlflow:5000",
        model_name="m",
        reload_token="XXXXsecretXXXX",
        slack_webhook_url=f"https://hooks.slack.com/services/{WEBHOOK_KEY}",
        preview_url="http://admin:XXXXsecretXXXX@preview",
    )
    assert "secret" not in repr(settings) and "secret" not in str(settings)


def test_redaction_keeps_scheme_and_host_only() -> None:
    assert redact_url("https://hooks.slack.com/services/T/B/K") == "https://hooks.slack.com/..."
    assert redact_url("http://mlflow:5000") == "http://mlflow:5000"
    assert redact_url("http://u:p@[::1]:5000/x") == "http://::1:5000/..."
    assert redact_url("http://h:port/x") == "<15 characters, redacted>"
    assert (
        redact_text("API request to http://u:p/w@d@h:1/api failed, url: /api")
        == "API request to http://***@h:1/api failed, url: /api"
    )


def test_log_lines_lose_the_userinfo_of_urls() -> None:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), format=json_line)
    try:
        logger.error("cannot resolve m@A: API request to http://admin:XXXXsecretXXXX@h/api failed")
        try:
            raise RuntimeError("http://admin:XXXXsecretXXXX@h unreachable")
        except RuntimeError:
            logger.exception("reload failed")
    finally:
        logger.remove(sink)
    assert len(lines) == 2 and "http://***@h" in lines[0] and "http://***@h" in lines[1]
    assert not any("secret" in line for line in lines)


def test_slack_alerts_lose_the_userinfo_of_urls(slack_webhook: Webhook) -> None:
    async def scenario() -> None:
        notifier = SlackNotifier(slack_webhook.url, 3.0, "m")
        notifier.notify(
            "reload_failed",
            alias="A",
            version="1",
            error="API request to http://admin:XXXXsecretXXXX@mlflow/api failed",
        )
        await notifier.aclose()

    asyncio.run(scenario())
    assert len(slack_webhook.received) == 1
    text = str(slack_webhook.received[0]["text"])
    assert "http://***@mlflow/api" in text and "secret" not in text


def test_an_invalid_webhook_stops_the_app_without_printing_it(
    mlflow_registry: Registry, tmp_path: Path
) -> None:
    """The pod log of a refused start: one line naming the variable, no traceback, no key."""
    port = free_port()
    webhook = f"hxxps://hooks.slack.com/services/{WEBHOOK_KEY}"
    env = app_env(mlflow_registry, tmp_path, SLACK_WEBHOOK_URL=webhook)
    server = start(app_command(port), env, tmp_path, port)
    server.process.wait(timeout=60)
    log = server.log.read_text()
    assert server.process.returncode != 0
    assert (
        "cannot start: SLACK_WEBHOOK_URL='hxxps://hooks.slack.com/...': is not an http(s) URL"
        in log
    ), log
    assert "secret" not in log and "Traceback" not in log


def test_a_registry_url_with_a_password_is_never_logged_whole(
    mlflow_registry: Registry, tmp_path: Path
) -> None:
    """MLflow's error texts repeat the tracking URI whole; a registry nobody answers at makes
    both aliases fail to load and the start is refused."""
    port, closed = free_port(), free_port()
    env = app_env(
        mlflow_registry,
        tmp_path,
        MLFLOW_TRACKING_URI=f"http://admin:XXXXsecretXXXX@127.0.0.1:{closed}",
        REGISTRY_TIMEOUT_SECONDS="1",
    )
    start_time = time.monotonic()
    server = start(app_command(port), env, tmp_path, port)
    server.process.wait(timeout=120)
    log = server.log.read_text() + "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
    assert server.process.returncode != 0, time.monotonic() - start_time
    assert (
        f"cannot start: no model of 'best_model' could be loaded from http://127.0.0.1:{closed}"
        in log
    ), log
    assert f"http://***@127.0.0.1:{closed}" in log  # MLflow's own text, redacted
    assert "secret" not in log and "Traceback" not in log
