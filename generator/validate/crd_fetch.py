"""`gitopsgen schemas fetch`: the pinned upstream CRDs, downloaded once into the user's cache.

Each file must have the sha256 pinned beside its URL (render/output.py), from GitHub or from a
mirror alike: a mirror can only serve the same bytes, never a more permissive CRD. Downloads go
through `remote.http_get` (a total deadline and a size cap per file; credentials from a mirror's
`user:password@` only on its own origin, never printed). Nothing is written until every file
has arrived and matched; each is then written to a fresh temporary file opened with O_EXCL and
O_NOFOLLOW (a symlink planted in the cache is never written through) and renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

from gitopsgen.errors import FetchError, RemoteError
from gitopsgen.remote import http_get
from gitopsgen.render.output import GATEWAY_API_CRDS, Crd
from gitopsgen.render.registry import declared_kinds, deployed_kinds
from gitopsgen.text import shown_url
from gitopsgen.validate.crds import MAX_CRD_BYTES, cache_dir

FETCH_TIMEOUT = 60.0  # seconds for each file, in total (the largest is 1.4 MB)

GATEWAY_CLASS_CRD = Crd(
    "gateway-api/gateway.networking.k8s.io_gatewayclasses.yaml",
    GATEWAY_API_CRDS + "gateway.networking.k8s.io_gatewayclasses.yaml",
    "53710048ba26f8620eed59d5e51b157ecf040daf5c6eef31a4b991e0808c4be5",
)

# The upstream CRD of every custom kind a renderer emits or the chart deploys, at its pinned
# version; GatewayClass too, which a Gateway names (the platform team's object).
PINNED: dict[str, Crd] = dict(
    sorted(
        {
            GATEWAY_CLASS_CRD.path: GATEWAY_CLASS_CRD,
            **{
                k.crd.path: k.crd
                for k in (*declared_kinds(), *deployed_kinds())
                if k.crd is not None
            },
        }.items()
    )
)


def fetch_crds(
    dest: Path | None = None, mirror: str | None = None, timeout: float = FETCH_TIMEOUT
) -> list[Path]:
    """Download every pinned CRD into `dest` (the cache by default). A mirror serves the same
    files under the same relative paths, for clusters and CI without access to GitHub."""
    target = dest or cache_dir()
    arrived = {name: _download(crd, mirror, timeout) for name, crd in PINNED.items()}
    written = []
    for name, data in arrived.items():
        path = target / name
        _make_folders(target, path.parent)
        _write_new(path, data)
        written.append(path)
    return written


def _download(crd: Crd, mirror: str | None, timeout: float) -> bytes:
    source = f"{mirror.rstrip('/')}/{crd.path}" if mirror else crd.url
    shown = shown_url(source)
    try:
        answer = http_get(
            source, timeout=timeout, max_bytes=MAX_CRD_BYTES, off_origin_redirects=True
        )
    except RemoteError as exc:
        raise FetchError(f"cannot download {shown}: {exc.reason}") from None
    if answer.status != 200:
        raise FetchError(f"cannot download {shown}: HTTP {answer.status}")
    digest = hashlib.sha256(answer.body).hexdigest()
    if digest != crd.sha256:
        raise FetchError(
            f"{shown} is not the pinned upstream file: its sha256 is {digest}, the pin "
            f"{crd.sha256} ({crd.url}); nothing was written"
        )
    return answer.body


def _make_folders(base: Path, folder: Path) -> None:
    """Create `folder` below `base`, refusing any part of the way that is a symlink or a file."""
    current = base
    current.mkdir(parents=True, exist_ok=True)
    for part in folder.relative_to(base).parts:
        current = current / part
        try:
            current.mkdir()
        except FileExistsError:
            mode = current.lstat().st_mode
            if not stat.S_ISDIR(mode):
                what = "a symbolic link" if stat.S_ISLNK(mode) else "not a folder"
                raise FetchError(
                    f"{current} is {what}; the CRD cache holds real folders only: remove it"
                ) from None


def _write_new(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:  # mkstemp opens with O_EXCL and O_NOFOLLOW: a planted name is never followed
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), 0o644)
            os.fsync(handle.fileno())
        Path(tmp).replace(path)  # replaces a symlink at `path` itself, never its target
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
