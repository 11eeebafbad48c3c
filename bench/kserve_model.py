"""KServe's Python model server with a small custom `Model` (V1 protocol), serving the estimator
exported from the registry. Run by the benchmark with the interpreter of its own virtual
environment (`.venv-kserve`, `kserve` from PyPI):
`python bench/kserve_model.py MODEL PORT WORKERS SETTING`. POST /v1/models/iris:predict with
`{"instances": [[...], ...]}`.

SETTING `default` is how KServe runs it out of the box: uvicorn's access log and a latency log line
per request (`--enable_latency_logging`, on by default); `fast` turns both off, its fastest
documented one-process setting."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from kserve import Model, ModelServer  # type: ignore[import-not-found,unused-ignore]

FAST = len(sys.argv) > 4 and sys.argv[4] == "fast"


class LocalConfig(uvicorn.Config):
    """KServe's REST server binds 0.0.0.0 (protocol/rest/server.py, no option): 127.0.0.1 here;
    and it offers no switch for uvicorn's access log, so the fast setting passes it here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["host"] = "127.0.0.1"
        if FAST:
            kwargs["access_log"] = False
        super().__init__(*args, **kwargs)


uvicorn.Config = LocalConfig  # type: ignore[misc]


class IrisModel(Model):  # type: ignore[misc,unused-ignore]
    def __init__(self, name: str, path: Path) -> None:
        super().__init__(name)
        self.path = path
        self.model: Any = None
        self.load()

    def load(self) -> bool:
        self.model = pickle.loads(self.path.read_bytes())  # noqa: S301 - our own file
        self.ready = True
        return True

    def predict(self, payload: Any, headers: Any = None) -> dict[str, Any]:  # noqa: ARG002
        rows = np.asarray(payload["instances"], dtype=np.float64)
        return {"predictions": self.model.predict(rows).tolist()}


if __name__ == "__main__":
    path, port, workers = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    server = ModelServer(
        http_port=port, workers=workers, enable_grpc=False, enable_latency_logging=not FAST
    )
    server.start([IrisModel("iris", path)])
