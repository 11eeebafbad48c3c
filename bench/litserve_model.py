"""LitServe serving the estimator exported from the registry, run by the benchmark with the
interpreter of its own virtual environment (`.venv-litserve`, `litserve` from PyPI):
`python bench/litserve_model.py MODEL PORT WORKERS SETTING`. POST /predict with
`{"data": [[...], ...]}`.

SETTING `default` is LitServer's defaults (uvicorn's access log on at log level info); `fast` is
its documented fast path: `fast_queue=True` (ZeroMQ between the API server and the inference
worker, not a multiprocessing queue) and the access log off. WORKERS is both the API server
processes and the inference workers."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import litserve as ls  # type: ignore[import-not-found,unused-ignore]
import numpy as np
from fastapi import Request


class IrisAPI(ls.LitAPI):  # type: ignore[misc,unused-ignore]
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.model: Any = None

    def setup(self, device: Any) -> None:  # noqa: ARG002 - LitServe's signature
        self.model = pickle.loads(self.path.read_bytes())  # noqa: S301 - our own file

    # `request: Request` (or no annotation, as LitServe's docs write it): LitServe then parses the
    # JSON body itself and passes the value; another annotation would become a query parameter
    def decode_request(self, request: Request) -> Any:
        payload: Any = request  # the parsed body, not a Request (see above)
        return np.asarray(payload["data"], dtype=np.float64)

    def predict(self, x: Any) -> Any:
        return self.model.predict(x)

    # no return annotation, as in LitServe's docs: an annotation becomes a response model
    def encode_response(self, output):  # type: ignore[no-untyped-def]
        return {"prediction": output.tolist()}


if __name__ == "__main__":
    path, port, workers, setting = (
        Path(sys.argv[1]),
        int(sys.argv[2]),
        int(sys.argv[3]),
        sys.argv[4],
    )
    fast = setting == "fast"
    server = ls.LitServer(
        IrisAPI(path), accelerator="cpu", workers_per_device=workers, fast_queue=fast
    )
    extra: dict[str, Any] = {"access_log": False, "log_level": "warning"} if fast else {}
    server.run(
        host="127.0.0.1",
        port=port,
        num_api_servers=workers,
        generate_client_file=False,
        **extra,
    )
