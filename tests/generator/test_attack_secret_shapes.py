"""GG112 knows the credential shapes of the tools MLOps teams use (issue 26, item 15): Hugging
Face, OpenAI, Anthropic, npm, PyPI, Docker Hub, Databricks, Azure storage keys, passwords in a
query string, and variables whose compound names say they hold one; in the spec and in the
rendered file, without false positives on this repository's specs and rendered files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitopsgen.render.registry import render_all
from gitopsgen.spec.load import parse_spec
from gitopsgen.validate.policies import check_spec_policies
from gitopsgen.validate.policies.rendered import check_annotations_and_secrets
from gitopsgen.validate.policies.secrets import secret_env_name, secret_shape
from gitopsgen.yamlsource import load_documents
from tests.generator.test_attack_secrets import _env
from tests.support import REPO

TOKENS = {
    "a Hugging Face token": "hf_" + "aBcDeFgHiJ" * 3 + "klmn",
    "an OpenAI API key": "sk-proj-" + "Ab1Cd2Ef3Gh4" * 4,
    "an Anthropic API key": "sk-ant-api03-" + "Xy9Zw8Vu7" * 5,
    "an npm token": "npm_" + "a1B2c3D4e5F6" * 3,
    "a PyPI token": "pypi-AgEIcHlwaS5vcmc" + "CJGZmZjJi-_x" * 5,
    "a Docker Hub token": "dckr_pat_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0",
    "a Databricks token": "dapi" + "0123456789abcdef" * 2,
    "an Azure storage account key": "DefaultEndpointsProtocol=https;AccountName=models;"
    "AccountKey=" + "Zm9vYmFyYmF6cXV4" * 4 + "==;EndpointSuffix=core.windows.net",
    "a password in a URL": "postgresql://db.internal:5432/models?sslmode=require&password=hunter2",
}
NAMES = ["DB_CREDS", "APITOKEN", "HF_TOKEN", "OPENAI_APIKEY", "DBPASSWORD", "AWS_CREDENTIALS"]


@pytest.mark.parametrize("what", TOKENS)
def test_a_token_is_gg112_in_the_spec_and_in_the_rendered_file(what: str) -> None:
    assert secret_shape(TOKENS[what]) == what
    text = _env(f"SOME_SETTING: '{TOKENS[what]}'")
    spec, doc = parse_spec(text, "environments/environments.yaml")
    found = [f for f in check_spec_policies(spec, doc) if f.id == "GG112"]
    assert len(found) == 1 and what in found[0].message, found
    rendered = render_all(spec)["apps/fastapi/values/dev.yaml"]
    in_file = list(check_annotations_and_secrets([("v.yaml", load_documents(rendered)[0])]))
    assert [f.id for f in in_file] == ["GG112"], what


@pytest.mark.parametrize("name", NAMES)
def test_a_compound_credential_name_with_a_value_is_gg112(name: str) -> None:
    spec, doc = parse_spec(_env(f"{name}: plain-value"), "environments/environments.yaml")
    found = [f for f in check_spec_policies(spec, doc) if f.id == "GG112"]
    assert len(found) == 1 and f"{name} is a credential by its name" in found[0].message


@pytest.mark.parametrize(
    "harmless",
    [
        "TOKENIZER_PATH: /models/tokenizer",
        "MAX_TOKENS: '512'",
        "PASSTHROUGH_HEADERS: x-client-id",
        "KEYBOARD_LAYOUT: us",
        "AUTHOR: ml-team",
        "DB_URL: 'postgresql://db/models?password=${DB_PASSWORD_REF}'",
        "TASK: 'sk-learn pipeline'",
        "NOTE: 'hf_hub_download is how the model arrives'",
    ],
)
def test_ordinary_values_and_names_are_not_secrets(harmless: str) -> None:
    spec, doc = parse_spec(_env(harmless), "environments/environments.yaml")
    assert not [f for f in check_spec_policies(spec, doc) if f.id == "GG112"]


def test_no_false_positive_in_this_repositorys_specs_and_rendered_files() -> None:
    """Every spec copy and rendered file the tests keep (golden cases, the frozen spec, the
    chart's values), line by line: no credential shape."""
    folders = ["tests/generator/golden", "tests/generator/examples/valid", "apps/fastapi/chart"]
    found = []
    for folder in folders:
        for path in sorted((REPO / folder).rglob("*.y*ml")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if secret_shape(line):
                    found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()[:80]}")
    assert not found, "\n".join(found)
    assert not secret_env_name("ALIAS_SELECTION_MODE") and not secret_env_name("CANARY_PERCENT")


def test_the_frozen_spec_has_no_gg112() -> None:
    path = Path(REPO / "tests/generator/golden/shipped-spec/spec.yaml")
    spec, doc = parse_spec(path.read_text(), "environments/environments.yaml")
    assert not [f for f in check_spec_policies(spec, doc) if f.id == "GG112"]
