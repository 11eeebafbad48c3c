"""A real Prometheus server on 127.0.0.1 scraping local apps, for the tests of `gitopsgen verify`.

`python apps/fastapi/tools/local_prometheus.py --install` installs the Debian package where the
binary is missing and this user can (root with apt-get); `make test` calls it, as the tests do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script (make test): its package from the app folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.processes import LocalServer, free_port  # noqa: E402


def find_prometheus() -> str | None:
    return shutil.which("prometheus") or next(
        (p for p in ("/usr/bin/prometheus", "/usr/sbin/prometheus") if Path(p).exists()), None
    )


def ensure_prometheus() -> tuple[str | None, str]:
    """(the binary, or None with the reason it could not be had)."""
    found = find_prometheus()
    if found:
        return found, ""
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return None, "prometheus is not installed and apt-get as root is not available"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (
        ["update", "-qq"],
        ["install", "-y", "-qq", "--no-install-recommends", "prometheus"],
    ):
        result = subprocess.run([apt, *args], capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:]
            return None, f"apt-get {args[0]} failed: {' '.join(tail)}"
    found = find_prometheus()
    return (found, "") if found else (None, "apt-get installed prometheus but no binary is found")


class PrometheusServer(LocalServer):
    """Debian's `prometheus` on 127.0.0.1, scraping the jobs it was started with."""

    def query(self, promql: str) -> dict[str, Any]:
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        with urllib.request.urlopen(url, timeout=5) as response:
            answer: dict[str, Any] = json.loads(response.read())
        return answer

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts its rules hold now (pending or firing), each with labels and state."""
        with urllib.request.urlopen(f"{self.url}/api/v1/alerts", timeout=5) as response:
            alerts: list[dict[str, Any]] = json.loads(response.read())["data"]["alerts"]
        return alerts

    def value(self, promql: str) -> float:
        """The single value of a query, 0 when it has no series."""
        result = self.query(promql)["data"]["result"]
        return float(result[0]["value"][1]) if result else 0.0


def start_prometheus(
    binary: str,
    workdir: Path,
    jobs: dict[str, int],
    timeout: float = 60.0,
    rules: list[dict[str, Any]] | None = None,
) -> PrometheusServer:
    """Prometheus scraping each job's 127.0.0.1 port every second, evaluating `rules` (alerting
    or recording rules, one group) every second; returns once it is ready."""
    workdir.mkdir(parents=True, exist_ok=True)
    scrape = [
        {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
        for job, port in jobs.items()
    ]
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}}
    config["scrape_configs"] = scrape  # type: ignore[assignment]
    if rules:
        (workdir / "rules.yml").write_text(json.dumps({"groups": [{"name": "t", "rules": rules}]}))
        config["rule_files"] = [str(workdir / "rules.yml")]  # type: ignore[assignment]
    (workdir / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    port = free_port()
    with (workdir / "prometheus.log").open("ab") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = PrometheusServer(process, f"http://127.0.0.1:{port}", workdir)
    server.wait_until_ok("/-/ready", workdir / "prometheus.log", timeout)
    return server


if __name__ == "__main__":
    binary, reason = ensure_prometheus()
    print(binary or f"skipping: {reason}")
