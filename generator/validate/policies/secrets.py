"""Secret values where they do not belong (GG112): the well-known credential shapes (also
base64-encoded), credentials in URLs, and variables whose names say they hold one. Shared by the
spec's policies and the checks of rendered files."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

from gitopsgen.yamlsource import PathPart

SECRET_KEYS = ("RELOAD_SECRET_TOKEN", "SLACK_WEBHOOK_URL")
# Well-known credential shapes, each with what it is (the message names it).
SECRET_PATTERNS = (
    (re.compile(r"hooks\.slack\.com/(services|workflows|triggers)/\S+", re.I), "a Slack webhook"),
    (re.compile(r"xox[abposre]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"xapp-\d-[A-Za-z0-9-]{10,}"), "a Slack app token"),
    (re.compile(r"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}"), "a GitHub token"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"), "a GitHub token"),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), "a GitLab token"),
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), "a Google API key"),
    (re.compile(r"\bsk_live_[0-9A-Za-z]{16,}"), "a Stripe key"),
    (re.compile(r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"), "a JSON Web Token"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I), "a URL with a password"),
    (re.compile(r"\bhf_[A-Za-z0-9]{30,}"), "a Hugging Face token"),
    (re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}"), "an Anthropic API key"),
    (re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"), "an OpenAI API key"),
    (re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), "an npm token"),
    (re.compile(r"\bpypi-[A-Za-z0-9_-]{50,}"), "a PyPI token"),
    (re.compile(r"\bdckr_pat_[A-Za-z0-9_-]{20,}"), "a Docker Hub token"),
    (re.compile(r"\bdapi[0-9a-f]{32}\b"), "a Databricks token"),
    (re.compile(r"\bAccountKey=[A-Za-z0-9+/]{40,}={0,2}"), "an Azure storage account key"),
    # a password in a query string; `${VAR}` and `$(VAR)` name one, they do not hold it
    (re.compile(r"[?&;](?:password|passwd|pwd)=(?![$]|%24)[^&\s#]+", re.I), "a password in a URL"),
)
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")
# An environment variable whose name says it holds a credential.
_SECRET_NAME_WORDS = {"PASSWORD", "PASSWD", "PASS", "PWD", "SECRET", "TOKEN", "KEY", "APIKEY"}
_SECRET_NAME_WORDS |= {"CREDENTIAL", "CREDENTIALS", "PASSPHRASE", "AUTH"}
ENV_KEYS = ("env", "extraEnv")


def secret_shape(text: str) -> str | None:
    """What well-known credential `text` holds (also once base64-encoded), or None."""
    for pattern, what in SECRET_PATTERNS:
        if pattern.search(text):
            return what
    for chunk in _BASE64.findall(text):
        decoded = _decode(chunk)
        if decoded is not None:
            for pattern, what in SECRET_PATTERNS:
                if pattern.search(decoded):
                    return f"{what}, base64-encoded"
    return None


def _decode(chunk: str) -> str | None:
    padded = chunk + "=" * (-len(chunk) % 4)
    try:
        raw = (base64.urlsafe_b64decode if "-" in chunk or "_" in chunk else base64.b64decode)(
            padded
        )
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None


# A word that ends with one of these holds one too (APITOKEN, DBPASSWORD, AWS_CREDS), while
# words that only start with them do not (TOKENIZER_PATH, PASSTHROUGH, KEYBOARD, AUTHOR).
_SECRET_WORD_ENDINGS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "CREDS", "CREDENTIALS")
_SECRET_NAME_WORDS |= {"CREDS", "CRED"}


def secret_env_name(name: str) -> bool:
    words = set(re.split(r"[^A-Z0-9]+", name.upper()))
    return bool(words & _SECRET_NAME_WORDS) or any(
        word.endswith(_SECRET_WORD_ENDINGS) for word in words
    )


def _env_entries(value: Any) -> Iterator[tuple[PathPart, str, Any]]:
    """(key in the env value, variable name, its value) for a mapping or a list of name/value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, str(key), item
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict) and "name" in item:
                yield index, str(item["name"]), item.get("value")


def secret_findings_in(
    value: Any, path: tuple[PathPart, ...]
) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    """(path, what) for every secret-looking key or value inside `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key) in SECRET_KEYS and item not in (None, ""):
                yield (*path, key), f"{key} has a value here; it belongs in the Secret only"
                continue
            named: set[tuple[PathPart, ...]] = set()
            if str(key) in ENV_KEYS:
                for part, name, env_value in _env_entries(item):
                    if isinstance(env_value, str) and env_value and secret_env_name(name):
                        named.add((*path, key, part))
                        yield (
                            (*path, key, part),
                            f"{name} is a credential by its name and has a value here; "
                            f"it belongs in the Secret only",
                        )
            for found, what in secret_findings_in(item, (*path, key)):
                if found[: len(path) + 3] not in named:  # one finding per entry
                    yield found, what
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from secret_findings_in(item, (*path, index))
    elif isinstance(value, str):
        shape = secret_shape(value)
        if shape is not None:
            yield path, f"this value looks like a secret ({shape})"
