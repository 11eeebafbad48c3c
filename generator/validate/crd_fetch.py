"""`gitopsgen schemas fetch`: the pinned upstream CRDs, downloaded once into the user's cache."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import yaml

from gitopsgen.errors import FetchError
from gitopsgen.render.output import GATEWAY_API_CRDS, Crd
from gitopsgen.render.registry import declared_kinds, deployed_kinds
from gitopsgen.validate.crds import cache_dir
from gitopsgen.yamlsource import FastLoader

GATEWAY_CLASS_CRD = Crd(
    "gateway-api/gateway.networking.k8s.io_gatewayclasses.yaml",
    GATEWAY_API_CRDS + "gateway.networking.k8s.io_gatewayclasses.yaml",
)

# The upstream CRD of every custom kind a renderer emits or the chart deploys, at its pinned
# version; GatewayClass too, which a Gateway names (the platform team's object).
PINNED = dict(
    sorted(
        {
            **{GATEWAY_CLASS_CRD.path: GATEWAY_CLASS_CRD.url},
            **{
                k.crd.path: k.crd.url
                for k in (*declared_kinds(), *deployed_kinds())
                if k.crd is not None
            },
        }.items()
    )
)


def fetch_crds(
    dest: Path | None = None, mirror: str | None = None, timeout: float = 30.0
) -> list[Path]:
    """Download every pinned CRD into `dest` (the cache by default). A mirror serves the same
    files under the same relative paths, for clusters and CI without access to GitHub. A
    file is replaced only once it has arrived whole and parses as a CRD."""
    target = dest or cache_dir()
    written = []
    for name, url in PINNED.items():
        source = f"{mirror.rstrip('/')}/{name}" if mirror else url
        try:
            with urllib.request.urlopen(source, timeout=timeout) as response:  # noqa: S310
                data = response.read()
        except (OSError, ValueError) as exc:
            raise FetchError(f"cannot download {source}: {exc}") from exc
        _require_crd(source, data)
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        written.append(path)
    return written


def _require_crd(source: str, data: bytes) -> None:
    try:
        doc = yaml.load(data, Loader=FastLoader)
    except yaml.YAMLError as exc:
        raise FetchError(f"{source} is not YAML: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
        raise FetchError(f"{source} is not a CustomResourceDefinition")
