"""The ceiling: a bare ASGI endpoint (no framework) that parses the body with orjson and calls the
same scikit-learn model's own `predict`. What a Python server on this model can reach here.

`uvicorn bench.ceiling_app:app`, with CEILING_MODEL the pickled estimator (bench.sides exports it
from the registry). POST any path with `{"data": [[...], ...]}`; GET answers 200 (readiness).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import orjson

Scope = dict[str, Any]
Message = dict[str, Any]
_model: Any = None


def model() -> Any:
    global _model
    if _model is None:
        _model = pickle.loads(Path(os.environ["CEILING_MODEL"]).read_bytes())  # noqa: S301 - our own file
    return _model


async def _answer(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message: Message = await receive()
            if message["type"] == "lifespan.startup":
                model()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["method"] != "POST":
        await _answer(send, 200, b'{"status":"ok"}')
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    rows = np.asarray(orjson.loads(body)["data"], dtype=np.float64)
    prediction = model().predict(rows)
    await _answer(send, 200, orjson.dumps({"prediction": prediction.tolist()}))
