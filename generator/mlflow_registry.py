"""The MLflow model registry's REST API at the edge: a registered model's aliases, one model
version, and moving an alias.

`registered-models/get` is asked for aliases, not the search endpoints: those answer with empty
`aliases` (mlflow/mlflow#16734). Failures are classified by what MLflow answers (its HTTP status
and `error_code`), never by the words of a message. Every call goes through `remote.http_request`:
one total deadline, a size cap counted while reading, redirects only on the origin, no
credentials in any message.
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from gitopsgen.errors import RegistryError, RemoteError
from gitopsgen.remote import http_request

MAX_ANSWER_BYTES = 4 << 20  # a registered model with its latest versions: a few KiB
DEFAULT_TIMEOUT = 10.0
TOKEN_VARIABLE = "MLFLOW_TRACKING_TOKEN"  # MLflow's own: a bearer token for its server


def display_url(url: str) -> str:
    """The URL without user:password@, query or fragment, for messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


# What the registry may answer, checked before anything is printed or written into a spec or a
# pull request: a hostile server gets no terminal escapes or markdown through.
_VERSION = re.compile(r"[1-9][0-9]{0,17}")
_ALIAS = re.compile(r"[A-Za-z0-9_-]{1,255}")
_RUN_ID = re.compile(r"[0-9A-Za-z_-]{0,64}")
_STATUS = re.compile(r"[A-Z_]{0,32}")


def _checked(pattern: re.Pattern[str], value: object, what: str, shown: str) -> str:
    text = str(value) if isinstance(value, str | int) else ""
    if not pattern.fullmatch(text):
        raise RegistryError(f"MLflow at {shown} answered a malformed {what}")
    return text


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    run_id: str
    created_ms: int
    status: str
    aliases: tuple[str, ...]


class MlflowRegistry:
    """One MLflow tracking server's registry. Credentials: the URL's user:password@ (basic),
    else MLFLOW_TRACKING_USERNAME/PASSWORD, else a bearer MLFLOW_TRACKING_TOKEN."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RegistryError(f"{display_url(url)!r} is not an http(s) URL of an MLflow server")
        self.url = url
        self.shown = display_url(url)
        self.timeout = timeout
        self._parts = parts

    # --- the three calls -----------------------------------------------------------------

    def aliases(self, name: str) -> dict[str, str] | None:
        """Alias -> version of a registered model; None when the registry has no such model."""
        answer = self._call("GET", "registered-models/get", {"name": name})
        if answer is None:
            return None
        aliases = (answer.get("registered_model") or {}).get("aliases") or []
        found: dict[str, str] = {}
        for item in aliases if isinstance(aliases, list) else []:
            if isinstance(item, dict):
                alias = _checked(_ALIAS, item.get("alias"), "alias", self.shown)
                found[alias] = _checked(_VERSION, item.get("version"), "version", self.shown)
        return found

    def version(self, name: str, version: str) -> ModelVersion | None:
        """One model version; None when the registry does not have it."""
        answer = self._call("GET", "model-versions/get", {"name": name, "version": version})
        if answer is None:
            return None
        mv = answer.get("model_version")
        if not isinstance(mv, dict):
            raise RegistryError(f"MLflow at {self.shown} answered no model_version")
        aliases = mv.get("aliases") or []
        created = mv.get("creation_timestamp") or 0
        return ModelVersion(
            name=name,
            version=_checked(_VERSION, mv.get("version", version), "version", self.shown),
            run_id=_checked(_RUN_ID, mv.get("run_id", ""), "run id", self.shown),
            created_ms=int(created) if str(created).isdigit() else 0,
            status=_checked(_STATUS, mv.get("status", ""), "status", self.shown),
            aliases=tuple(
                _checked(_ALIAS, a, "alias", self.shown)
                for a in (aliases if isinstance(aliases, list) else [])
            ),
        )

    def set_alias(self, name: str, alias: str, version: str) -> None:
        body = {"name": name, "alias": alias, "version": version}
        if self._call("POST", "registered-models/alias", body) is None:
            raise RegistryError(f"MLflow at {self.shown} has no version {version} of {name!r}")

    # --- HTTP ------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        """MLflow's own environment credentials; the URL's user:password@ is http_request's."""
        if self._parts.username:
            return {}
        user = password = None
        if os.environ.get("MLFLOW_TRACKING_USERNAME"):
            user = os.environ["MLFLOW_TRACKING_USERNAME"]
            password = os.environ.get("MLFLOW_TRACKING_PASSWORD", "")
        if user is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            return {"Authorization": f"Basic {token}"}
        if os.environ.get(TOKEN_VARIABLE):
            return {"Authorization": f"Bearer {os.environ[TOKEN_VARIABLE]}"}
        return {}

    def _call(self, method: str, endpoint: str, params: dict[str, str]) -> dict[str, Any] | None:
        """The JSON answer; None for MLflow's RESOURCE_DOES_NOT_EXIST; RegistryError otherwise."""
        status, body = self._exchange(method, endpoint, params)
        try:
            answer: Any = json.loads(body) if body else {}
        except (ValueError, UnicodeDecodeError, RecursionError):
            answer = None
        if not isinstance(answer, dict):
            raise RegistryError(
                f"MLflow at {self.shown} answered HTTP {status} without MLflow API JSON"
            )
        if status == 200:
            return answer
        code = answer.get("error_code")
        if status == 404 and code == "RESOURCE_DOES_NOT_EXIST":
            return None
        if code == "RESOURCE_DOES_NOT_EXIST" or (
            code == "INVALID_PARAMETER_VALUE" and endpoint == "registered-models/alias"
        ):
            return None
        message = str(answer.get("message", ""))[:200]
        raise RegistryError(
            f"MLflow at {self.shown} refused {endpoint} (HTTP {status}"
            + (f", {code}" if code else "")
            + (f": {message}" if message else "")
            + ")"
        )

    def _exchange(self, method: str, endpoint: str, params: dict[str, str]) -> tuple[int, bytes]:
        base = self.url.rstrip("/")
        url = f"{base}/api/2.0/mlflow/{endpoint}"
        headers = {"Accept": "application/json", **self._headers()}
        data = None
        if method == "GET":
            url += "?" + urllib.parse.urlencode(params)
        else:
            data = json.dumps(params).encode()
            headers["Content-Type"] = "application/json"
        try:
            answer = http_request(
                url, timeout=self.timeout, max_bytes=MAX_ANSWER_BYTES, headers=headers, data=data
            )
        except RemoteError as exc:
            raise RegistryError(f"cannot reach MLflow at {self.shown}: {exc.reason}") from None
        return answer.status, answer.body
