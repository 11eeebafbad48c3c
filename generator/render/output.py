"""What a renderer declares about its output: its folder, the kinds it emits, whether its files
are Kubernetes objects, what Argo CD creates from them, and how they reach a cluster (its
delivery). Everything else (the registry's folders, the AppProject's allowed kinds and
destinations, our own schemas, the pinned upstream CRDs, which rendered files the validator
checks as objects, the ApplicationSets and the folders they sync, the Application names `status`
and `wait` read, the pull request's grouping of changed objects) is derived from these
declarations."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from gitopsgen.spec.model import Environment, Spec

ARGO_CD_CRDS = "https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/crds/"
METALLB_CRDS = "https://raw.githubusercontent.com/metallb/metallb/v0.16.1/config/crd/bases/"


@dataclass(frozen=True)
class Crd:
    """An upstream CustomResourceDefinition: its path in the CRD cache, where it is pinned, and
    the sha256 of that file (of the copies in ../shared/crds, which SOURCES.md there traces to
    the upstream tags): `schemas fetch` accepts no other bytes, from GitHub or a mirror."""

    path: str
    url: str
    sha256: str


@dataclass(frozen=True)
class Kind:
    api_version: str
    kind: str
    crd: Crd | None = None  # None for built-in Kubernetes kinds

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def own_schema_file(self) -> str | None:
        """Our own strict schema of a custom kind, `<group>_<version>.json`, in generator/schemas."""
        if self.crd is None:
            return None
        return self.api_version.replace("/", "_") + ".json"


@dataclass(frozen=True)
class InArgoCdNamespace:
    """Applied into Argo CD's own namespace: synced there by the root Application
    (`by_root_app`), or applied by hand once (the bootstrap)."""

    by_root_app: bool


@dataclass(frozen=True)
class ThroughChart:
    """Helm values, one file `<folder>/<env>.yaml` per environment: the app's ApplicationSet
    renders the chart with it on the environment's cluster."""


@dataclass(frozen=True)
class EnvironmentFolders:
    """A folder `<folder>/<env>/` per environment, synced as is to the environment's cluster by
    an ApplicationSet of its own: `<argocd.project>-<name>`, whose Applications are
    `<argocd.project>-<name>-<env>`. `destination` is the namespace the files go to in an
    environment, None where the environment has none (no Application then)."""

    name: str
    title: str  # what the pull request calls these objects, e.g. "MetalLB"
    destination: Callable[[Environment], str | None]
    create_namespace: bool = False


Delivery = InArgoCdNamespace | ThroughChart | EnvironmentFolders


@dataclass(frozen=True)
class Output:
    """What one renderer writes. `kinds` are the documents in its files (empty unless they are
    Kubernetes objects); `deploys` are the namespaced kinds Argo CD creates on an environment's
    cluster from this folder, which the AppProject must allow; `delivery` says how the files
    reach a cluster. A folder that follows the spec (the Helm values beside the chart the spec
    names) is given by `folder_of`; `folder` is then its value for the default spec, and
    `Catalog.for_spec` binds it."""

    folder: str
    kubernetes_objects: bool
    kinds: tuple[Kind, ...] = ()
    deploys: tuple[Kind, ...] = ()
    delivery: Delivery = field(kw_only=True)
    folder_of: Callable[[Spec], str] | None = field(default=None, kw_only=True, compare=False)

    def holds(self, path: str) -> bool:
        """True when `path` (relative, POSIX) lies below this output's folder."""
        parts = PurePosixPath(path).parts
        folder = PurePosixPath(self.folder).parts
        return len(parts) > len(folder) and parts[: len(folder)] == folder and ".." not in parts

    def bind(self, spec: Spec) -> Output:
        """This declaration with its folder as `spec` puts it."""
        return self if self.folder_of is None else replace(self, folder=self.folder_of(spec))

    def environment_of(self, path: str) -> str | None:
        """The environment a file of an EnvironmentFolders output belongs to (its sub-folder)."""
        if not isinstance(self.delivery, EnvironmentFolders) or not self.holds(path):
            return None
        return PurePosixPath(path).parts[len(PurePosixPath(self.folder).parts)]


def unique_kinds(kinds: Iterable[Kind]) -> tuple[Kind, ...]:
    return tuple(dict.fromkeys(kinds))


@dataclass(frozen=True)
class Catalog:
    """Every renderer's declaration, in registry order: what a renderer that writes about the
    others (the AppProject's allowed kinds, the root Application's synced kinds) reads, so it
    never imports the registry."""

    outputs: tuple[Output, ...]

    @classmethod
    def for_spec(cls, outputs: Iterable[Output], spec: Spec) -> Catalog:
        """The declarations with their folders as the spec puts them."""
        return cls(tuple(o.bind(spec) for o in outputs))

    def kinds(self, folder: str | None = None) -> tuple[Kind, ...]:
        """The kinds the renderers emit (into `folder` only, when given)."""
        chosen = [o for o in self.outputs if folder is None or o.folder == folder]
        return unique_kinds(k for o in chosen for k in o.kinds)

    def deployed_kinds(self) -> tuple[Kind, ...]:
        """What Argo CD creates on environments' clusters from rendered folders: the AppProject's
        allowed namespaced kinds."""
        return unique_kinds(k for o in self.outputs for k in o.deploys)

    @property
    def folders(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(o.folder for o in self.outputs))

    def output_of(self, path: str) -> Output | None:
        """The declaration whose folder holds `path` (None outside every folder)."""
        return next((o for o in self.outputs if o.holds(path)), None)

    def environment_folders(self) -> tuple[tuple[Output, EnvironmentFolders], ...]:
        """The outputs synced per environment by ApplicationSets of their own, in order."""
        return tuple(
            (o, o.delivery) for o in self.outputs if isinstance(o.delivery, EnvironmentFolders)
        )

    def chart_values(self) -> Output:
        """The one output the app's ApplicationSet layers on the chart (the Helm values)."""
        return next(o for o in self.outputs if isinstance(o.delivery, ThroughChart))

    def root_app_folder(self) -> str:
        """The folder the root Application syncs into Argo CD's namespace."""
        return next(
            o.folder
            for o in self.outputs
            if isinstance(o.delivery, InArgoCdNamespace) and o.delivery.by_root_app
        )


def _argo(kind: str, crd_file: str, sha256: str) -> Kind:
    crd = Crd(f"argo-cd/{crd_file}", ARGO_CD_CRDS + crd_file, sha256)
    return Kind("argoproj.io/v1alpha1", kind, crd)


def _metallb(kind: str, crd_file: str, sha256: str) -> Kind:
    crd = Crd(f"metallb/{crd_file}", METALLB_CRDS + crd_file, sha256)
    return Kind("metallb.io/v1beta1", kind, crd)


APPLICATION = _argo(
    "Application",
    "application-crd.yaml",
    "5dde0e229249b6b707beb98674c1deae3949d5c319a6c45b9f5a80c99618e40c",
)
APPLICATION_SET = _argo(
    "ApplicationSet",
    "applicationset-crd.yaml",
    "7d282054f41ca2b71a22bab04a8caf0000e07e53a62432e6ea292dae5ab4f07d",
)
APP_PROJECT = _argo(
    "AppProject",
    "appproject-crd.yaml",
    "ab225266944322750136f1198d93786e4a79a0e43c8d149abfba44da30a3eac8",
)
IP_ADDRESS_POOL = _metallb(
    "IPAddressPool",
    "metallb.io_ipaddresspools.yaml",
    "585d55016cb9cf1aac3ed4a63b1075051bf8c20aab28dfcd3cfbe58a632ed230",
)
L2_ADVERTISEMENT = _metallb(
    "L2Advertisement",
    "metallb.io_l2advertisements.yaml",
    "c2561949e442c8253237ef81dbfe7c4a69fd5c1bfdf30f8bc0829d74d4cd4d64",
)

# What the chart creates for the Gateway API providers (issue 16), with the upstream CRDs of the
# versions docs/ingress.md names (the copies in ../shared/crds; SOURCES.md there).
GATEWAY_API_CRDS = (
    "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/v1.6.1/config/crd/standard/"
)
ENVOY_GATEWAY_CRDS = (
    "https://raw.githubusercontent.com/envoyproxy/gateway/v1.9.0/"
    "charts/gateway-helm/charts/crds/crds/generated/"
)
TRAEFIK_CRDS = (
    "https://raw.githubusercontent.com/traefik/traefik/v3.7.9/"
    "docs/content/reference/dynamic-configuration/"
)


def _gateway_api(kind: str, crd_file: str, sha256: str) -> Kind:
    return Kind(
        "gateway.networking.k8s.io/v1",
        kind,
        Crd(f"gateway-api/{crd_file}", GATEWAY_API_CRDS + crd_file, sha256),
    )


def _envoy_gateway(kind: str, crd_file: str, sha256: str) -> Kind:
    return Kind(
        "gateway.envoyproxy.io/v1alpha1",
        kind,
        Crd(f"envoy-gateway/{crd_file}", ENVOY_GATEWAY_CRDS + crd_file, sha256),
    )


HTTP_ROUTE = _gateway_api(
    "HTTPRoute",
    "gateway.networking.k8s.io_httproutes.yaml",
    "a424a0d6c953b162e71d1d97bb7e75012d8f1ac264e7274f2763d1b96ab39852",
)
GATEWAY = _gateway_api(
    "Gateway",
    "gateway.networking.k8s.io_gateways.yaml",
    "25b885f5870b8fff1ae82efa2628b2761cef3745900c2aecf8fb76629a01255a",
)
SECURITY_POLICY = _envoy_gateway(
    "SecurityPolicy",
    "gateway.envoyproxy.io_securitypolicies.yaml",
    "6412914ec5b7c48f58b85f60a80767ba15a50c8d374480cf5f2d872e4a764466",
)
CLIENT_TRAFFIC_POLICY = _envoy_gateway(
    "ClientTrafficPolicy",
    "gateway.envoyproxy.io_clienttrafficpolicies.yaml",
    "2c7eaa1ce30de626e9c362b8d9002281c2f435f970020fa81902ad7f30b38d5b",
)
ENVOY_PROXY = _envoy_gateway(
    "EnvoyProxy",
    "gateway.envoyproxy.io_envoyproxies.yaml",
    "3e9ea2f348445e3798b02daf02bf024b0d944227cf5ef8a18da7f675a1afd223",
)
MIDDLEWARE = Kind(
    "traefik.io/v1alpha1",
    "Middleware",
    Crd(
        "traefik/traefik.io_middlewares.yaml",
        TRAEFIK_CRDS + "traefik.io_middlewares.yaml",
        "2d2e097725637a7fc372fab3492db2cb94860e7d463424bd6b341f6a2a81c685",
    ),
)
GATEWAY_API_KINDS = (
    HTTP_ROUTE,
    GATEWAY,
    SECURITY_POLICY,
    CLIENT_TRAFFIC_POLICY,
    ENVOY_PROXY,
    MIDDLEWARE,
)
