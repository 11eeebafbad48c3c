"""`make serve`: a local MLflow server (sqlite, 127.0.0.1), best_model v1 (A) and v2 (B), and the
app on 127.0.0.1:$PORT (8000). State lives in .demo/ ($DEMO_DIR) so a second run reuses the
registry; `rm -rf .demo` starts over."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.local_mlflow import MODEL_NAME, app_command, seed_registry, start_server  # noqa: E402

REPO = Path(__file__).resolve().parents[3]


def taken_ports(ports: dict[str, int]) -> list[str]:
    """Which of the named ports something on 127.0.0.1 already listens on. The probe binds
    with SO_REUSEADDR, as uvicorn and MLflow's server do: the connections of a server stopped
    a moment ago linger in TIME-WAIT for about 60 s, which refuse a plain bind but not theirs,
    so only a live listener counts as taken."""
    taken = []
    for what, port in ports.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"port {port} ({what})")
    return taken


def missing_aliases(tracking_uri: str) -> list[str]:
    """The aliases the demo serves that the registry in .demo/ does not have."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    missing = []
    for alias in ("A", "B"):
        try:
            client.get_model_version_by_alias(MODEL_NAME, alias)
        except MlflowException:
            missing.append(alias)
    return missing


def main() -> int:
    workdir = Path(os.environ.get("DEMO_DIR") or REPO / ".demo")
    app_port = int(os.environ.get("PORT") or 8000)
    mlflow_port = int(os.environ.get("MLFLOW_PORT") or 5000)
    taken = taken_ports({"the app, PORT": app_port, "MLflow, MLFLOW_PORT": mlflow_port})
    if taken:
        print(
            f"error: {' and '.join(taken)} already in use on 127.0.0.1; stop what listens "
            "there or pick others: make serve PORT=8001 MLFLOW_PORT=5001",
            file=sys.stderr,
        )
        return 2
    seeded = workdir / "seeded"
    server = start_server(workdir / "mlflow", port=mlflow_port)
    try:
        if not seeded.exists():
            seeded.write_text(repr(seed_registry(server.url)))
        else:
            missing = missing_aliases(server.url)
            if missing:
                print(
                    f"error: the registry kept in {workdir} has no alias {', '.join(missing)} "
                    f"of {MODEL_NAME} (it changed since it was seeded); start over with "
                    f"`rm -rf {workdir}`",
                    file=sys.stderr,
                )
                return 2
            print(f"reusing the registry in {workdir} (`rm -rf {workdir}` starts over)")
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
            f"MLflow at {server.url}; the app at http://127.0.0.1:{app_port} (reload token: "
            f"{env['RELOAD_SECRET_TOKEN']}). Ctrl-C stops both.",
            flush=True,
        )
        return subprocess.call(app_command(app_port), env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
