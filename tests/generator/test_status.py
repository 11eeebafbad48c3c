"""`gitopsgen status` and `wait`: the real `kubernetes` client against a local HTTP server on
127.0.0.1 that answers the API paths with recorded responses (see tests/generator/recordings/README.md)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from unittest.mock import ANY
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from tests.support import Invoke, frozen_repository, local_http_server

pytest.importorskip("kubernetes", reason="the status extra is not installed")

RECORDINGS = Path(__file__).parent / "recordings"
REVISION = "4f2c1d8e9a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d"


def recorded(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((RECORDINGS / name).read_text())
    return loaded


def routes() -> dict[str, dict[str, Any]]:
    out = {}
    for env in ("dev", "prod"):
        out[f"/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/fastapi-{env}"] = recorded(
            f"application-fastapi-{env}.json"
        )
        metallb = f"mlops-serving-metallb-{env}"
        out[f"/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/{metallb}"] = recorded(
            f"application-{metallb}.json"
        )
        out[f"/apis/apps/v1/namespaces/fastapi-{env}/deployments"] = recorded(
            f"deployments-fastapi-{env}.json"
        )
        out[f"/apis/networking.k8s.io/v1/namespaces/fastapi-{env}/ingresses"] = recorded(
            f"ingresses-fastapi-{env}.json"
        )
        out[f"/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools/{env}-pool"] = (
            recorded(f"ipaddresspool-{env}-pool.json")
        )
    return out


@dataclass
class FakeApi:
    url: str
    routes: dict[str, dict[str, Any]]
    requests: list[str] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    on_request: Callable[[FakeApi], None] | None = None
    release: str = "fastapi"  # the Helm release the label selector must name


@pytest.fixture
def api() -> Iterator[FakeApi]:
    yield from fake_api(routes())


def fake_api(answers: dict[str, dict[str, Any]]) -> Iterator[FakeApi]:
    """A local HTTP server answering API paths with the given (recorded) objects."""
    state = FakeApi("", answers)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            state.requests.append(self.path)
            if state.on_request:
                state.on_request(state)
            if state.delay:
                time.sleep(state.delay)
            parsed = urlparse(self.path)
            body: Any = state.routes.get(parsed.path)
            code = state.status
            if code == 200 and body is None:
                code, body = (
                    404,
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "status": "Failure",
                        "reason": "NotFound",
                        "code": 404,
                    },
                )
            if code == 200 and parsed.path.endswith(("/deployments", "/ingresses")):
                selector = parse_qs(parsed.query).get("labelSelector", [""])[0]
                assert selector == f"app.kubernetes.io/instance={state.release}", selector
            if code == 401:
                body = {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "message": "Unauthorized",
                    "reason": "Unauthorized",
                    "code": 401,
                }
            data = json.dumps(body).encode()
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *_: object) -> None:
            return

    with local_http_server(Handler) as url:
        state.url = url
        yield state


def kubeconfig(tmp_path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "argocd",
        "clusters": [{"name": "local", "cluster": {"server": server}}],
        "users": [{"name": "admin", "user": {"token": "recorded-token"}}],
        "contexts": [{"name": "argocd", "context": {"cluster": "local", "user": "admin"}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def frozen_at(tmp_path: Path) -> Path:
    """The frozen shipped spec and its render: the recordings were made against it."""
    root = tmp_path / "frozen"
    return root if root.exists() else frozen_repository(root)


def status(
    run_cli: Invoke, config: Path, *args: str, expect: int | None, root: Path | None = None
) -> Any:
    return run_cli(
        "status",
        *args,
        "--kubeconfig",
        config,
        "--root",
        root or frozen_at(config.parent),
        "--request-timeout",
        "1",
        expect=expect,
    )


def test_in_sync(api: FakeApi, tmp_path: Path, run_cli: Invoke) -> None:
    result = status(run_cli, kubeconfig(tmp_path, api.url), expect=0)
    assert "DRIFT" not in result.stdout
    assert "0 drift(s) in 2 environment(s)" in result.stdout
    assert "fastapi-prod revision" in result.stdout and REVISION[:12] in result.stdout
    paths = {urlparse(p).path for p in api.requests}
    assert "/apis/apps/v1/namespaces/fastapi-prod/deployments" in paths


def test_drifted_alias(api: FakeApi, tmp_path: Path, run_cli: Invoke) -> None:
    deployment = api.routes["/apis/apps/v1/namespaces/fastapi-prod/deployments"]["items"][0]
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    next(e for e in env if e["name"] == "DEFAULT_ALIAS")["value"] = "A"
    result = status(run_cli, kubeconfig(tmp_path, api.url), "prod", "--format", "json", expect=1)
    (prod,) = json.loads(result.stdout)
    drift = [c for c in prod["checks"] if not c["ok"]]
    assert drift == [
        {"env": "prod", "item": "env DEFAULT_ALIAS", "expected": "B", "live": "A", "ok": False}
    ]


def test_drifted_allow_list(api: FakeApi, tmp_path: Path, run_cli: Invoke) -> None:
    ingress = api.routes["/apis/networking.k8s.io/v1/namespaces/fastapi-prod/ingresses"]["items"][0]
    ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/whitelist-source-range"] = (
        "0.0.0.0/0"
    )
    result = status(run_cli, kubeconfig(tmp_path, api.url), "prod", expect=1)
    line = next(ln for ln in result.stdout.splitlines() if "ingress allow-list" in ln)
    assert "10.10.0.0/16" in line and "0.0.0.0/0" in line and line.endswith("DRIFT")


def test_out_of_sync_and_missing_pool(api: FakeApi, tmp_path: Path, run_cli: Invoke) -> None:
    app = api.routes["/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/fastapi-prod"]
    app["status"]["sync"]["status"] = "OutOfSync"
    del api.routes["/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools/prod-pool"]
    result = status(run_cli, kubeconfig(tmp_path, api.url), "prod", expect=1)
    drift = [ln for ln in result.stdout.splitlines() if ln.endswith("DRIFT")]
    assert any("fastapi-prod sync" in ln and "OutOfSync" in ln for ln in drift)
    assert any("pool prod-pool" in ln and "(missing)" in ln for ln in drift)
    assert "2 drift(s)" in result.stdout


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("unauthorised", "prod: context 'argocd' (server {url}): unauthorised (401"),
        ("refused", "prod: context 'argocd' (server http://127.0.0.1:9): connection refused"),
        ("timeout", "prod: context 'argocd' (server {url}): timeout: no answer within 1s"),
        ("no-context", "context 'nope' not found in the kubeconfig; it has: argocd"),
        ("no-kubeconfig", "no kubeconfig at"),
    ],
)
def test_unreachable_cluster_exits_2_with_the_reason(
    api: FakeApi, tmp_path: Path, run_cli: Invoke, setup: str, reason: str
) -> None:
    config = kubeconfig(tmp_path, api.url)
    extra: list[str] = []
    if setup == "unauthorised":
        api.status = 401
    elif setup == "refused":
        config = kubeconfig(tmp_path, "http://127.0.0.1:9")  # the discard port: nothing listens
    elif setup == "timeout":
        api.delay = 2.5
    elif setup == "no-context":
        extra = ["--context", "nope"]
    else:
        config = tmp_path / "missing-kubeconfig"
    started = time.monotonic()
    result = status(run_cli, config, "prod", *extra, expect=2)
    # one attempt per call: the client's own retries once made a 1 s timeout take 4 s or more
    assert time.monotonic() - started < 3.5
    assert reason.format(url=api.url) in result.stderr, result.stderr
    assert "Traceback" not in result.output
    as_json = status(run_cli, config, "prod", *extra, "--format", "json", expect=2)
    assert json.loads(as_json.stdout) == {"error": ANY, "exit_code": 2}
    assert reason.format(url=api.url).removeprefix("prod: ") in json.loads(as_json.stdout)["error"]


def test_without_any_kubeconfig_the_paths_tried_are_listed(
    tmp_path: Path, run_cli: Invoke, monkeypatch: pytest.MonkeyPatch, frozen_root: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nowhere"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    result = run_cli("status", "prod", "--root", frozen_root, expect=2)
    assert (
        f"no kubeconfig found (tried {tmp_path / 'nowhere'}) and not running inside a cluster"
        in (result.stderr)
    )


def wait(
    run_cli: Invoke, api: FakeApi, tmp_path: Path, revision: str, timeout: str, expect: int
) -> Any:
    return run_cli(
        "wait",
        "prod",
        "--revision",
        revision,
        "--interval",
        "0.05",
        "--timeout",
        timeout,
        "--kubeconfig",
        kubeconfig(tmp_path, api.url),
        "--root",
        frozen_at(tmp_path),
        expect=expect,
    )


def test_wait_until_synced_at_the_revision(api: FakeApi, tmp_path: Path, run_cli: Invoke) -> None:
    app = api.routes["/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/fastapi-prod"]
    original = copy.deepcopy(app["status"])
    app["status"]["sync"] = {"status": "OutOfSync", "revision": "0" * 40}
    app["status"]["health"] = {"status": "Progressing"}
    polls = []

    def settle_after_three(state: FakeApi) -> None:
        polls.append(1)
        if len(polls) >= 6:  # two Applications per poll: settled on the third poll
            state.routes["/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/fastapi-prod"][
                "status"
            ] = original

    api.on_request = settle_after_three
    result = wait(run_cli, api, tmp_path, REVISION, timeout="20", expect=0)
    assert "prod is Synced and Healthy at 4f2c1d8e9a7b" in result.stdout
    assert "fastapi-prod: OutOfSync/Progressing" in result.stderr


def test_wait_fails_on_degraded(api: FakeApi, tmp_path: Path, run_cli: Invoke) -> None:
    app = api.routes["/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/fastapi-prod"]
    app["status"]["health"] = {
        "status": "Degraded",
        "message": "Deployment exceeded its progress deadline",
    }
    result = wait(run_cli, api, tmp_path, REVISION, timeout="5", expect=1)
    assert "Degraded" in result.stderr and "progress deadline" in result.stderr


def test_wait_times_out_with_the_last_status(api: FakeApi, tmp_path: Path, run_cli: Invoke) -> None:
    result = wait(run_cli, api, tmp_path, "feedfacecafe", timeout="0.3", expect=1)
    assert "timed out after 0.3s" in result.stderr
    assert "fastapi-prod Synced/Healthy" in result.stderr


def test_environment_on_its_own_cluster_is_read_through_its_context(
    tmp_path: Path, run_cli: Invoke
) -> None:
    """Argo CD's Applications on one cluster (--context), the workload on the environment's own
    (cluster.kubeContext): two servers, one kubeconfig."""
    from tests.support import frozen_repository

    everything = routes()
    argo_only = {p: v for p, v in everything.items() if "argoproj.io" in p}
    workload_only = {p: v for p, v in everything.items() if "argoproj.io" not in p}
    root = frozen_repository(tmp_path / "repo")
    spec = root / "environments/environments.yaml"
    spec.write_text(
        spec.read_text().replace(
            "cluster: {name: prod, server: https://prod.k8s.example.internal:6443}",
            "cluster: {name: prod, server: https://prod.k8s.example.internal:6443, "
            "kubeContext: prod-admin}",
        )
    )
    run_cli("render", "--root", root)
    for argo in fake_api(argo_only):
        for prod in fake_api(workload_only):
            config = yaml.safe_load(kubeconfig(tmp_path, argo.url).read_text())
            config["clusters"].append({"name": "prod", "cluster": {"server": prod.url}})
            config["contexts"].append(
                {"name": "prod-admin", "context": {"cluster": "prod", "user": "admin"}}
            )
            path = tmp_path / "two-clusters"
            path.write_text(yaml.safe_dump(config))
            result = run_cli(
                "status",
                "prod",
                "--kubeconfig",
                path,
                "--context",
                "argocd",
                "--root",
                root,
                expect=0,
            )
            assert "0 drift(s)" in result.stdout
            assert all("argoproj.io" in p for p in argo.requests)
            assert {urlparse(p).path for p in prod.requests} == {
                "/apis/apps/v1/namespaces/fastapi-prod/deployments",
                "/apis/networking.k8s.io/v1/namespaces/fastapi-prod/ingresses",
                "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools/prod-pool",
            }


def test_without_the_kubernetes_client_status_says_how_to_get_it(
    tmp_path: Path, frozen_root: Path
) -> None:
    # as after `make render`, which installs the tool without the status extra
    code = "import sys; sys.modules['kubernetes'] = None; from gitopsgen.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", code, "status", "prod", "--root", str(frozen_root)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "needs the Kubernetes client: pip install 'gitopsgen[status]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_status_follows_app_name(tmp_path: Path, run_cli: Invoke) -> None:
    """`app.name: model-api` names the Applications model-api-<env> and the Helm release
    model-api: status asks for those, not for a hard-coded fastapi."""
    root = frozen_repository(tmp_path / "repo")
    shipped = (Path(__file__).parent / "golden" / "shipped-spec" / "spec.yaml").read_text()
    (root / "environments/environments.yaml").write_text(
        shipped.replace("  name: fastapi\n", "  name: model-api\n", 1)
    )
    answers = {
        path.replace("/applications/fastapi-", "/applications/model-api-"): body
        for path, body in routes().items()
    }
    for state in fake_api(answers):
        state.release = "model-api"
        result = status(run_cli, kubeconfig(tmp_path, state.url), "prod", expect=None, root=root)
        assert "model-api-prod" in result.stdout, result.output
        paths = {urlparse(p).path for p in state.requests}
        assert "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/model-api-prod" in paths
        assert not any("fastapi-prod" in p for p in paths if "/applications/" in p)
