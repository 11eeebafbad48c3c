"""GG112 finds credentials however they are written, in the spec and in every rendered file, and
says where they belong (issue 12, item 7)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from gitopsgen.render.registry import render_all
from gitopsgen.spec.load import parse_spec
from gitopsgen.validate.policies import check_spec_policies
from gitopsgen.validate.policies.rendered import check_annotations_and_secrets
from gitopsgen.yamlsource import load_documents

SPEC = (Path(__file__).parent / "golden/three-envs/spec.yaml").read_text()
DEV_URI = "http://mlflow-dev-service.mlflow-dev.svc.cluster.local:5000"
WEBHOOK = "https://HOOKS.SLACK.COM/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"
B64_WEBHOOK = base64.b64encode(b"https://hooks.slack.com/services/T0000/B0000/XXXXXXXX").decode()
HELM_VALUES = "    helmValues:\n      persistence: {enabled: false}\n"


def _env(entries: str) -> str:
    return SPEC.replace(HELM_VALUES, HELM_VALUES + f"      env: {{{entries}}}\n", 1)


ATTACKS = {
    "password in the tracking URI": SPEC.replace(
        DEV_URI, "http://admin:hunter2@mlflow-dev-service.mlflow-dev.svc.cluster.local:5000"
    ),
    "MLFLOW_TRACKING_PASSWORD": _env("MLFLOW_TRACKING_PASSWORD: hunter2"),
    "AWS_SECRET_ACCESS_KEY": _env("AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMIK7MDENGbPxRfiCY"),
    "upper-case Slack host": _env(f"NOTIFY_URL: '{WEBHOOK}'"),
    "base64 Slack webhook": _env(f"NOTIFY_B64: '{B64_WEBHOOK}'"),
    "xapp- token": _env("SLACK_APP: xapp-1-A0000000000-0000000000000-abcdefabcdef"),
    "ghp_ token": _env("GH: ghp_" + "a1B2c3D4" * 5),
    "github_pat_ token": _env("GH2: github_pat_11AAAAAAA0aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbb"),
    "AWS access key id": _env("AWS_ACCESS_KEY_ID_X: AKIAIOSFODNN7EXAMPLE"),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_credential_is_gg112_in_the_spec_and_in_the_rendered_file(attack: str) -> None:
    text = ATTACKS[attack]
    spec, doc = parse_spec(text, "environments/environments.yaml")
    found = [f for f in check_spec_policies(spec, doc) if f.id == "GG112"]
    assert len(found) == 1, (attack, found)
    assert found[0].path.startswith("environments.dev."), found[0]
    assert text.splitlines()[found[0].line - 1].strip()  # points at a line of the spec
    assert "'fastapi-secrets'" in found[0].hint and "Secret" in found[0].hint
    rendered = render_all(spec)["apps/fastapi/values/dev.yaml"]
    in_file = list(check_annotations_and_secrets([("v.yaml", load_documents(rendered)[0])]))
    assert [f.id for f in in_file] == ["GG112"], attack
    assert "secrets.name" in in_file[0].hint


@pytest.mark.parametrize(
    "harmless",
    [
        "LOG_LEVEL: debug",
        "KEYCLOAK_REALM_URL_X: ''",
        "MONKEY_MODE: 'on'",
        "NOTES: 'aGVsbG8gd29ybGQsIHRoaXMgaXMgbm90IGEgc2VjcmV0'",
        "SITE: https://user@example.org/x",
    ],
)
def test_ordinary_values_are_not_secrets(harmless: str) -> None:
    spec, doc = parse_spec(_env(harmless), "environments/environments.yaml")
    assert not [f for f in check_spec_policies(spec, doc) if f.id == "GG112"]
