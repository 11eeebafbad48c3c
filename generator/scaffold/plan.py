"""What `gitopsgen init` writes, as a pure function of the team's day-one choices: path -> text.

The serving chart and app are copied as shipped (apps/fastapi/ of gitopsgen's own repository);
the spec, Makefile, workflows, pre-commit configuration and README come from templates. The spec
and the README are seeds: written once, the team's from then on (every promotion edits the spec),
so `upgrade` never touches or reports them."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import jinja2

from gitopsgen.scaffold.sources import serving_source, templates_folder

SPEC = "environments/environments.yaml"
LOCK = ".gitopsgen-scaffold.json"
SEEDS = (SPEC, "README.md")
INGRESS_PROVIDERS = ("nginx", "envoy-gateway", "traefik")
# Where gitopsgen's pre-commit hooks are published (.pre-commit-hooks.yaml of its repository).
HOOKS_REPOSITORY = "https://github.com/example-org/mlops-gitops"
# The namespaces `<app>-<env>` must stay DNS labels (63 characters).
APP_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")

# The shipped serving files, as globs below the serving source; pyproject.toml's package data of
# gitopsgen.scaffold.fastapi lists the same (a test keeps them equal).
CHART_FILES = ("chart/*", "chart/templates/*")
APP_FILES = ("Dockerfile", ".dockerignore", "requirements.txt", "app/*.py", "app/routes/*.py")


@dataclass(frozen=True)
class ScaffoldOptions:
    """A team's day-one decisions; the lock file records them for `upgrade`."""

    app_name: str = "model-api"
    ingress_provider: str = "nginx"
    metallb: bool = True
    with_app: bool = True
    project: str = ""  # default: <app_name>-serving
    repo_url: str = ""  # default: https://github.com/example-org/<app_name>-gitops.git
    image: str = ""  # default: ghcr.io/example-org/<app_name>
    model_name: str = "best_model"

    def __post_init__(self) -> None:
        defaults = {
            "project": f"{self.app_name}-serving",
            "repo_url": f"https://github.com/example-org/{self.app_name}-gitops.git",
            "image": f"ghcr.io/example-org/{self.app_name}",
        }
        for name, value in defaults.items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)

    @property
    def app_folder(self) -> str:
        return f"apps/{self.app_name}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Environment:
    name: str
    cluster: str
    server: str
    tracking_uri: str
    host: str
    whitelist: str
    pool: str


def _environments(options: ScaffoldOptions) -> tuple[_Environment, ...]:
    app = options.app_name
    return (
        _Environment(
            "dev",
            "in-cluster",
            "https://kubernetes.default.svc",
            "http://mlflow.mlflow-dev.svc.cluster.local:5000",
            f"{app}-dev.example.internal",
            "10.0.0.0/8",
            "192.168.10.240-192.168.10.250",
        ),
        _Environment(
            "prod",
            "prod",
            "https://prod.k8s.example.internal:6443",
            "http://mlflow.mlflow-prod.svc.cluster.local:5000",
            f"{app}.example.internal",
            "10.10.0.0/16",
            "10.10.100.10-10.10.100.30",
        ),
    )


def _jinja() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_folder()),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


TEMPLATED = {
    SPEC: "environments.yaml.j2",
    "README.md": "README.md.j2",
    "Makefile": "Makefile.j2",
    ".github/workflows/gitops.yaml": "gitops.yaml.j2",
    ".pre-commit-config.yaml": "pre-commit-config.yaml.j2",
}
IMAGE_WORKFLOW = (".github/workflows/image.yaml", "image.yaml.j2")


def shipped_files(globs: tuple[str, ...]) -> dict[str, str]:
    """The shipped serving files matching `globs`, relative to the serving source."""
    source = serving_source()
    found = {}
    for pattern in globs:
        for path in sorted(source.glob(pattern)):
            if path.is_file():
                found[path.relative_to(source).as_posix()] = path.read_text(encoding="utf-8")
    return found


def scaffold_files(options: ScaffoldOptions, version: str) -> dict[str, str]:
    """Every file `init` writes, path -> text, sorted by path (the lock file aside)."""
    env = _jinja()
    context = {
        "o": options,
        "environments": _environments(options),
        "version": version,
        "hooks_repository": HOOKS_REPOSITORY,
    }
    templated = dict(TEMPLATED)
    if options.with_app:
        templated[IMAGE_WORKFLOW[0]] = IMAGE_WORKFLOW[1]
    files = {path: env.get_template(name).render(**context) for path, name in templated.items()}
    globs = CHART_FILES + (APP_FILES if options.with_app else ())
    for rel, text in shipped_files(globs).items():
        files[f"{options.app_folder}/{rel}"] = text
    return dict(sorted(files.items()))
