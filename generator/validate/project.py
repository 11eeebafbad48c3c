"""What the rendered AppProject lets Argo CD create: every manifest the chart renders must be of
a kind, and in a namespace, the project permits, or Argo CD fails the sync (`resource
:ConfigMap is not permitted in project mlops-serving`) while every schema passes (GG308).

The rules are Argo CD's `AppProject.IsGroupKindPermitted` and `IsDestinationPermitted`:
a namespaced kind needs a `namespaceResourceWhitelist` entry (no list at all permits every
kind; an empty one none) and no blacklist entry; a cluster-scoped kind needs a
`clusterResourceWhitelist` entry; entries and destinations match as globs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from gitopsgen.spec.model import Environment

# Built-in kinds with no namespace (the chart's kinds are all namespaced; a template may add one)
CLUSTER_SCOPED = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("networking.k8s.io", "IngressClass"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("apiregistration.k8s.io", "APIService"),
        ("node.k8s.io", "RuntimeClass"),
        ("gateway.networking.k8s.io", "GatewayClass"),
    }
)


@dataclass(frozen=True)
class Project:
    name: str
    spec: dict[str, Any]

    def permits_kind(self, group: str, kind: str) -> bool:
        if (group, kind) in CLUSTER_SCOPED:
            allow = self.spec.get("clusterResourceWhitelist") or []
            deny = self.spec.get("clusterResourceBlacklist") or []
            return _listed(group, kind, allow) and not _listed(group, kind, deny)
        allow_list = self.spec.get("namespaceResourceWhitelist")
        deny = self.spec.get("namespaceResourceBlacklist") or []
        allowed = allow_list is None or _listed(group, kind, allow_list)
        return allowed and not _listed(group, kind, deny)

    def permits_destination(self, env: Environment, namespace: str) -> bool:
        for dest in self.spec.get("destinations") or []:
            if not isinstance(dest, dict):
                continue
            server, name = dest.get("server"), dest.get("name")
            cluster = (server is not None and fnmatchcase(env.cluster.server, str(server))) or (
                name is not None and fnmatchcase(env.cluster.name, str(name))
            )
            if cluster and fnmatchcase(namespace, str(dest.get("namespace", ""))):
                return True
        return False


def _listed(group: str, kind: str, entries: Any) -> bool:
    return isinstance(entries, list) and any(
        isinstance(e, dict)
        and fnmatchcase(group, str(e.get("group", "")))
        and fnmatchcase(kind, str(e.get("kind", "")))
        for e in entries
    )


def find_project(documents: list[dict[str, Any]], name: str) -> Project | None:
    """The rendered AppProject the Applications use, by name."""
    for doc in documents:
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        if doc.get("kind") == "AppProject" and (meta or {}).get("name") == name:
            spec = doc.get("spec")
            return Project(name, spec if isinstance(spec, dict) else {})
    return None


def refusals(project: Project, env: Environment, manifest: dict[str, Any]) -> Iterator[str]:
    """Argo CD's words for each reason it would refuse to sync `manifest` into `env`."""
    group = str(manifest.get("apiVersion", "")).rpartition("/")[0]
    kind = str(manifest.get("kind", ""))
    if not project.permits_kind(group, kind):
        yield f"resource {group}:{kind} is not permitted in project {project.name}"
        return
    if (group, kind) in CLUSTER_SCOPED:
        return
    meta = manifest.get("metadata") if isinstance(manifest.get("metadata"), dict) else {}
    namespace = str((meta or {}).get("namespace") or env.namespace)
    if not project.permits_destination(env, namespace):
        yield (
            f"namespace {namespace} is not permitted in project '{project.name}' "
            f"(destination {env.cluster.server})"
        )
