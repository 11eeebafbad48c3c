"""`gitopsgen schemas fetch`: the pinned upstream CRDs, downloaded once into the user's cache."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from generator.errors import GitopsgenError
from generator.validate.crds import cache_dir

ARGO_CD = "https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/crds/"
METALLB = "https://raw.githubusercontent.com/metallb/metallb/v0.16.1/config/crd/bases/"
PINNED = {
    "argo-cd/application-crd.yaml": ARGO_CD + "application-crd.yaml",
    "argo-cd/applicationset-crd.yaml": ARGO_CD + "applicationset-crd.yaml",
    "argo-cd/appproject-crd.yaml": ARGO_CD + "appproject-crd.yaml",
    "metallb/metallb.io_ipaddresspools.yaml": METALLB + "metallb.io_ipaddresspools.yaml",
    "metallb/metallb.io_l2advertisements.yaml": METALLB + "metallb.io_l2advertisements.yaml",
}


class FetchError(GitopsgenError):
    exit_code = 2


def fetch_crds(dest: Path | None = None, timeout: float = 30.0) -> list[Path]:
    target = dest or cache_dir()
    written = []
    for name, url in PINNED.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - pinned https
                data = response.read()
        except OSError as exc:
            raise FetchError(f"cannot download {url}: {exc}") from exc
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        written.append(path)
    return written
