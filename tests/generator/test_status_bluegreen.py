"""`gitopsgen status` of a blueGreen environment: both colours' Deployments and the colour each
Service selects, through the real `kubernetes` client against the local server of test_status
answering with the Deployments and Services of tests/generator/recordings/README.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

import tests.generator.test_status as recorded_api
from tests.support import SPEC, Invoke, frozen_repository

pytest.importorskip("kubernetes", reason="the status extra is not installed")

NS = "/namespaces/fastapi-prod"
DEPLOYMENTS = f"/apis/apps/v1{NS}/deployments"
SERVICES = f"/api/v1{NS}/services"
ROLLOUT = (
    "    rollout:\n"
    "      strategy: blueGreen\n"
    "      active: blue\n"
    '      blue: {image: {tag: "1.0.0"}, alias: B}\n'
    '      green: {image: {tag: "1.1.0"}, alias: B}\n'
)


def blue_green_repository(tmp_path: Path, run_cli: Invoke) -> Path:
    """The frozen shipped spec with prod on two colours, rendered."""
    root = frozen_repository(tmp_path / "repo")
    spec = root / SPEC
    text = spec.read_text()
    anchor = "    serving: {defaultAlias: B}   # green is live\n"
    assert anchor in text
    spec.write_text(text.replace(anchor, anchor + ROLLOUT))
    run_cli("render", "--root", root)
    return root


def answers() -> dict[str, dict[str, Any]]:
    routes = {p: v for p, v in recorded_api.routes().items() if "dev" not in p}
    routes[DEPLOYMENTS] = recorded_api.recorded("deployments-fastapi-prod-bluegreen.json")
    routes[SERVICES] = recorded_api.recorded("services-fastapi-prod-bluegreen.json")
    return routes


def status(run_cli: Invoke, root: Path, api: recorded_api.FakeApi, expect: int) -> Any:
    config = recorded_api.kubeconfig(root.parent, api.url)
    result = run_cli(
        "status", "prod", "--kubeconfig", config, "--root", root, "--format", "json",
        "--request-timeout", "1", expect=expect,
    )  # fmt: skip
    (prod,) = json.loads(result.stdout)
    return {c["item"]: c for c in prod["checks"]}


def drift(checks: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {item: (c["expected"], c["live"]) for item, c in checks.items() if not c["ok"]}


def test_both_colours_and_the_selected_one_in_sync(tmp_path: Path, run_cli: Invoke) -> None:
    root = blue_green_repository(tmp_path, run_cli)
    for api in recorded_api.fake_api(answers()):
        checks = status(run_cli, root, api, expect=0)
        assert drift(checks) == {}
        assert checks["blue image"]["live"] == "docker.io/example-org/model-api:1.0.0"
        assert checks["green image"]["live"] == "docker.io/example-org/model-api:1.1.0"
        assert checks["live Service selects"]["live"] == "blue"
        assert checks["preview Service selects"]["live"] == "green"
        assert "image" not in checks  # no single-Deployment check on a blueGreen environment
        for request in api.requests:
            if urlparse(request).path in (DEPLOYMENTS, SERVICES):
                query = parse_qs(urlparse(request).query)
                assert query["labelSelector"] == ["app.kubernetes.io/instance=fastapi"]


def test_a_service_left_on_the_other_colour_is_drift(tmp_path: Path, run_cli: Invoke) -> None:
    """The spec switched to green (merged), the cluster still selects blue."""
    root = blue_green_repository(tmp_path, run_cli)
    spec = root / SPEC
    spec.write_text(spec.read_text().replace("      active: blue\n", "      active: green\n"))
    run_cli("render", "--root", root)
    for api in recorded_api.fake_api(answers()):
        assert drift(status(run_cli, root, api, expect=1)) == {
            "live Service selects": ("green", "blue"),
            "preview Service selects": ("blue", "green"),
        }


def test_a_colour_on_another_image_or_missing_is_drift(tmp_path: Path, run_cli: Invoke) -> None:
    root = blue_green_repository(tmp_path, run_cli)
    for api in recorded_api.fake_api(answers()):
        green = api.routes[DEPLOYMENTS]["items"][1]
        green["spec"]["template"]["spec"]["containers"][0]["image"] = "example/model-api:9.9.9"
        assert drift(status(run_cli, root, api, expect=1)) == {
            "green image": ("docker.io/example-org/model-api:1.1.0", "example/model-api:9.9.9")
        }
        del api.routes[DEPLOYMENTS]["items"][0]
        missing = drift(status(run_cli, root, api, expect=1))
        assert missing["blue image"] == ("docker.io/example-org/model-api:1.0.0", "(missing)")
        assert missing["blue ready replicas"] == ("2", "(missing)")
