"""`make serve`: a local MLflow server (sqlite, 127.0.0.1), best_model v1 (A) and v2 (B), and the
app on 127.0.0.1:8000. State lives in .demo/ so a second run reuses the registry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.local_mlflow import MODEL_NAME, app_command, seed_registry, start_server  # noqa: E402

REPO = Path(__file__).resolve().parents[3]


def main() -> int:
    workdir = REPO / ".demo"
    fresh = not (workdir / "mlflow" / "mlflow.db").exists()
    server = start_server(workdir / "mlflow", port=int(os.environ.get("MLFLOW_PORT", "5000")))
    try:
        if fresh or not (workdir / "seeded").exists():
            versions = seed_registry(server.url)
            (workdir / "seeded").write_text(repr(versions))
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": server.url,
            "MODEL_NAME": MODEL_NAME,
            "DEFAULT_ALIAS": os.environ.get("DEFAULT_ALIAS", "B"),
            "ALIAS_SELECTION_MODE": os.environ.get("ALIAS_SELECTION_MODE", "canary"),
            "CANARY_PERCENT": os.environ.get("CANARY_PERCENT", "20"),
            "RELOAD_SECRET_TOKEN": os.environ.get("RELOAD_SECRET_TOKEN", "demo-token"),
            "LOG_DIR": str(workdir / "logs"),
        }
        print(
            f"MLflow at {server.url}; the app at http://127.0.0.1:8000 (reload token: "
            f"{env['RELOAD_SECRET_TOKEN']}). Ctrl-C stops both.",
            flush=True,
        )
        return subprocess.call(app_command(8000), env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
