"""Which kubeconfig files the Kubernetes client reads, and a check that each one is a kubeconfig
before the client reads it."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from gitopsgen.errors import ClusterUnreachable
from gitopsgen.safepaths import read_input


def kubeconfig_paths(explicit: Path | None) -> list[Path]:
    """The kubeconfig files looked at, in the order the kubernetes client reads them."""
    if explicit is not None:
        return [explicit]
    listed = os.environ.get("KUBECONFIG")
    if listed:
        return [Path(p) for p in listed.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def require_kubeconfig_shape(path: Path) -> None:
    """Refuse a file that is no kubeconfig (not YAML, not a mapping, lists that are not lists)
    before the client reads it: the client fails on these with a TypeError, and a YAML error
    would quote the file. The message names the path, never the content."""
    try:
        data = yaml.safe_load(read_input(path))
    except FileNotFoundError:
        return  # the client skips a missing file of $KUBECONFIG; an explicit one is checked above
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        data = None
    lists = ("clusters", "contexts", "users")
    if not isinstance(data, dict) or any(
        not isinstance(data.get(key) or [], list) for key in lists
    ):
        raise ClusterUnreachable(
            f"no usable kubeconfig: {path} is not a kubeconfig (a YAML mapping with "
            "clusters, contexts and users lists)"
        )
