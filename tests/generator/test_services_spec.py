"""The services form of the spec: the merge of its four levels, findings at the level a value
is written at, a service an environment does not list, and the bad input the issue names."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from gitopsgen.findings import Finding
from gitopsgen.spec.load import parse_spec, read_spec, spec_schema
from tests.support import REPO, SPEC, Invoke

GOLDEN = REPO / "tests/generator/golden/two-services"
SPEC_TEXT = (GOLDEN / "spec.yaml").read_text()
LEVELS = ("defaults", "service", "environment", "service-in-environment")


def findings_of(text: str) -> list[Finding]:
    return read_spec(text, SPEC).findings


def line_of(text: str, needle: str) -> int:
    """The 1-based line holding `needle` (exactly once in the text)."""
    lines = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


REPLICAS = "  replicas: 2\n"
MLFLOW = "    mlflow: {trackingUri: https://mlflow.example.internal}\n"


def spec_with(levels: dict[str, str]) -> str:
    """A small services-form spec, `fraud` in `prod`, with `extra` lines at chosen levels."""
    return f"""apiVersion: gitopsgen/v1
kind: Environments
repo: {{url: https://github.com/example-org/mlops-gitops.git}}
argocd: {{project: mlops-serving}}
defaults:
  model: {{name: base_model}}
  serving: {{mode: blue_green, defaultAlias: A, canaryPercent: 10, abSplitPercent: 90}}
  syncPolicy: {{automated: true, prune: true, selfHeal: true}}
{levels.get("defaults", REPLICAS)}services:
  fraud:
    image: {{repository: registry.example.org/ml/fraud-api, tag: "2.1.0"}}
{levels.get("service", "")}  churn:
    image: {{repository: registry.example.org/ml/churn-api, tag: "1.0.3"}}
    replicas: 2
environments:
  prod:
    cluster: {{name: prod, server: https://prod.k8s.example.internal:6443}}
    namespace: models-prod
{levels.get("mlflow", MLFLOW)}    metallb: {{pool: prod-pool, addresses: [10.10.100.10-10.10.100.30]}}
    ingress: {{tlsSecretName: prod-tls, whitelist: [10.10.0.0/16]}}
{levels.get("environment", "")}    services:
      fraud:
        ingress: {{host: fraud.example.org}}
{levels.get("service-in-environment", "")}      churn:
        ingress: {{host: churn.example.org}}
"""


INDENT = {"defaults": 2, "service": 4, "environment": 4, "service-in-environment": 8}


def at(level: str, line: str) -> str:
    return " " * INDENT[level] + line + "\n"


@pytest.mark.parametrize(
    "written",
    [c for n in range(1, 5) for c in itertools.combinations(LEVELS, n)],
    ids=lambda c: "+".join(c),
)
def test_the_most_specific_level_wins(written: tuple[str, ...]) -> None:
    """replicas at every subset of the four levels: fraud in prod gets the most specific one;
    churn, whose own service level says 2, gets that unless the environment says otherwise."""
    value = {level: 3 + i for i, level in enumerate(LEVELS)}
    levels = {level: at(level, f"replicas: {value[level]}") for level in written}
    spec, _ = parse_spec(spec_with(levels), SPEC)
    fraud = spec.require("prod", "fraud")
    assert fraud.replicas == value[max(written, key=LEVELS.index)]
    churn = spec.require("prod", "churn")
    assert churn.replicas == (value["environment"] if "environment" in written else 2)


def test_mappings_merge_field_by_field_across_the_levels() -> None:
    levels = {
        "service": at("service", "serving: {mode: canary}"),
        "environment": at("environment", "serving: {canaryPercent: 30}"),
        "service-in-environment": at("service-in-environment", "serving: {defaultAlias: B}"),
    }
    fraud = parse_spec(spec_with(levels), SPEC)[0].require("prod", "fraud")
    assert (fraud.serving.mode, fraud.serving.canary_percent) == ("canary", 30)
    assert (fraud.serving.default_alias, fraud.serving.ab_split_percent) == ("B", 90)
    churn = parse_spec(spec_with(levels), SPEC)[0].require("prod", "churn")
    assert (churn.serving.mode, churn.serving.canary_percent) == ("blue_green", 30)


@pytest.mark.parametrize("level", LEVELS)
def test_a_bad_value_is_reported_at_the_line_it_is_written(level: str) -> None:
    text = spec_with({level: at(level, "replicas: 5000")})
    [finding] = [f for f in findings_of(text) if f.id == "GG006"]
    assert finding.line == line_of(text, "replicas: 5000")
    assert finding.path.endswith("replicas")


@pytest.mark.parametrize("level", LEVELS)
def test_a_policy_finding_points_at_the_level_too(level: str) -> None:
    from gitopsgen.validate.policies import check_spec_policies

    # the tracking URI at this level only (churn may then lack one: fraud is what is checked)
    line = at(level, "mlflow: {trackingUri: ftp://mlflow.internal}")
    text = spec_with({level: line + (REPLICAS if level == "defaults" else ""), "mlflow": ""})
    reading = read_spec(text, SPEC)
    assert reading.spec is not None and "prod/fraud" not in reading.broken
    found = [f for f in check_spec_policies(reading.spec, reading.document) if f.id == "GG110"]
    assert found and {f.line for f in found} == {line_of(text, "ftp://")}


def test_a_service_an_environment_does_not_list_is_not_deployed_there() -> None:
    text = SPEC_TEXT.replace(
        '      churn: {ingress: {host: churn-dev.example.internal}, image: {tag: "1.1.0-rc1"}}\n',
        "",
    )
    spec, _ = parse_spec(text, SPEC)
    assert [e.target.key for e in spec.environments] == ["dev/fraud", "prod/fraud", "prod/churn"]
    assert [t.key for t in spec.not_deployed] == ["dev/churn"]


def test_preview_says_which_service_an_environment_does_not_run(
    tmp_path: Path, run_cli: Invoke
) -> None:
    from tests.support import golden_repository

    root = golden_repository(tmp_path / "repo", "two-services")
    spec = root / SPEC
    spec.write_text(
        spec.read_text().replace(
            '      churn: {ingress: {host: churn-dev.example.internal}, image: {tag: "1.1.0-rc1"}}\n',
            "",
        )
    )
    result = run_cli("preview", "dev", "--root", root)
    assert "note: churn is not deployed in dev: environments.dev.services does not list it" in (
        result.stderr
    )
    names = [a["metadata"]["name"] for a in yaml.safe_load_all(result.stdout)]
    assert names == ["fraud-dev", "mlops-serving-metallb-dev"]


# --- bad input ---------------------------------------------------------------------------------

BAD = [
    (
        "unknown service in an environment",
        ("      fraud:\n        ingress: {host: fraud.example.org}\n", "      frod:\n"),
        "GG003",
        "frod:",
        "unknown service 'frod' (did you mean 'fraud'?)",
    ),
    (
        "a service name that is not a DNS label",
        ("  churn:\n    image", "  Churn_Model:\n    image"),
        "GG008",
        "Churn_Model:",
        "'Churn_Model' is not a valid name",
    ),
    (
        "a service name longer than a Helm release may be",
        ("  churn:\n    image", f"  {'c' * 54}:\n    image"),
        "GG008",
        f"{'c' * 54}:",
        "at most 53 characters",
    ),
    (
        "no services at all",
        (
            "services:\n  fraud:\n    image: {repository: registry.example.org/ml/fraud-api, "
            'tag: "2.1.0"}\n  churn:\n    image: {repository: registry.example.org/ml/churn-api, '
            'tag: "1.0.3"}\n    replicas: 2\n',
            "services: {}\n",
        ),
        "GG006",
        "services: {}",
        "should be non-empty",
    ),
    (
        "a service in both app: and services:",
        ("services:\n", "app: {name: fraud, image: {repository: r/x}}\nservices:\n"),
        "GG009",
        "  fraud:\n",
        "'fraud' is both app.name and a service",
    ),
    (
        "app: and services: both",
        ("services:\n", "app: {name: api, image: {repository: r/x}}\nservices:\n"),
        "GG009",
        "services:\n",
        "a spec has `app` (one service) or `services` (several), not both",
    ),
    (
        "an address pool per service",
        (
            "    image: {repository: registry.example.org/ml/churn-api",
            "    metallb: {pool: churn-pool}\n    image: {repository: registry.example.org/ml/churn-api",
        ),
        "GG003",
        "churn-pool",
        "metallb is per environment",
    ),
    (
        "services in defaults",
        ("  model: {name: base_model}\n", "  model: {name: base_model}\n  services: {fraud: {}}\n"),
        "GG003",
        "services: {fraud: {}}",
        "`services` cannot sit in defaults",
    ),
]


@pytest.mark.parametrize(
    ("edit", "finding_id", "needle", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_services_input_is_a_schema_error_at_its_line(
    edit: tuple[str, str], finding_id: str, needle: str, message: str
) -> None:
    text = spec_with({})
    assert edit[0] in text, edit[0]
    text = text.replace(edit[0], edit[1], 1)
    found = [f for f in findings_of(text) if message in f.message]
    assert found, [f.one_line() for f in findings_of(text)]
    assert found[0].id == finding_id
    assert found[0].line == line_of(text, needle) if "\n" not in needle else True
    if "\n" in needle:  # a key on its own line: the first line of the needle
        lines = text.splitlines(keepends=True)
        starts = [n for n in range(len(lines)) if "".join(lines[n:]).startswith(needle)]
        assert found[0].line == starts[-1] + 1


def test_the_app_form_rejects_services_in_an_environment() -> None:
    text = (GOLDEN.parent / "three-envs" / "spec.yaml").read_text()
    text = text.replace("    replicas: 1\n", "    replicas: 1\n    services: {fraud: {}}\n")
    [found] = [f for f in findings_of(text) if "needs the services form" in f.message]
    assert (found.id, found.line) == ("GG003", line_of(text, "services: {fraud: {}}"))


def test_the_json_schema_alone_describes_both_forms() -> None:
    """An editor with only the schema accepts either form and refuses a spec with both."""
    validator = Draft202012Validator(spec_schema())
    for case in ("two-services", "three-envs", "shipped-spec"):
        data = yaml.safe_load((GOLDEN.parent / case / "spec.yaml").read_text())
        assert list(validator.iter_errors(data)) == [], case
    both = yaml.safe_load(SPEC_TEXT)
    both["app"] = {"name": "api", "image": {"repository": "r/x"}}
    assert not validator.is_valid(both)
    neither = yaml.safe_load(SPEC_TEXT)
    del neither["services"]
    assert not validator.is_valid(neither)


def test_service_names_complete_from_the_spec(tmp_path: Path) -> None:
    import click

    from gitopsgen.cli import cli
    from gitopsgen.cli.common import complete_service

    (tmp_path / "environments").mkdir()
    (tmp_path / SPEC).write_text(SPEC_TEXT)
    ctx = click.Context(cli, info_name="gitopsgen")
    ctx.params = {"root": tmp_path, "spec": None}
    assert complete_service(ctx, click.Option(["--service"]), "") == ["fraud", "churn"]
    assert complete_service(ctx, click.Option(["--service"]), "ch") == ["churn"]
    (tmp_path / SPEC).write_text((GOLDEN.parent / "three-envs" / "spec.yaml").read_text())
    assert complete_service(ctx, click.Option(["--service"]), "") == ["fastapi"]
