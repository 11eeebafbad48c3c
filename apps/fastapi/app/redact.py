"""Secrets out of what the app prints: settings errors, logs, alerts and error answers.

Two kinds of setting carry secrets: the ones that are secrets whole (RELOAD_SECRET_TOKEN, and
SLACK_WEBHOOK_URL, whose path is the webhook's key), and URLs that may hold a password in their
userinfo (`http://user:password@mlflow:5000`; MLflow's own error texts repeat such a URL whole,
`API request to http://user:password@.../api/2.0/... failed`). A URL is shown by its scheme and
host only; any `scheme://userinfo@` in a text loses its userinfo.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# `scheme://userinfo@`: userinfo runs to the last `@` before a space or quote, so an unencoded
# `/`, `@` or `#` in a password is still taken as part of it (`urlsplit` would cut the password at
# the `/` and print the rest as a path). Removing too much of a text is the safe mistake.
USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s'\"<>]*@")


def redact_url(value: str) -> str:
    """`https://hooks.slack.com/...` for a URL with anything beyond its scheme and host; text that
    is no URL (no scheme or host) as its length only."""
    try:
        parts = urlsplit(USERINFO.sub(r"\1", value))
        scheme, host, port = parts.scheme, parts.hostname, parts.port
    except ValueError:  # a port that is no number, a bracketed host that is no IPv6 address
        scheme, host, port = "", None, None
    if not scheme or not host:
        return f"<{len(value)} characters, redacted>"
    shown = f"{scheme}://{host}" + (f":{port}" if port else "")
    return shown if shown == value else shown + "/..."


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with every `secrets` value replaced and the userinfo of every URL removed."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, redact_url(secret))
    if "@" in text:
        text = USERINFO.sub(r"\1***@", text)
    return text
