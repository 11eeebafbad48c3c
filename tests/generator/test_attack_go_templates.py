"""Spec values are never evaluated as Go templates by Argo CD (issue 12, item 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gitopsgen.errors import SpecError
from gitopsgen.render.applicationsets import GO_TEMPLATED_FIELDS
from gitopsgen.render.registry import render_all
from gitopsgen.spec.load import parse_spec
from gitopsgen.validate.policies import check_spec_policies
from gitopsgen.validate.preview import preview_applicationset

SPEC = (Path(__file__).parent / "golden/three-envs/spec.yaml").read_text()
SOURCE = "environments/environments.yaml"
EVIL = '{{ if eq .env "prod" }}unreviewed-branch{{ else }}main{{ end }}'


def test_a_templated_target_revision_is_gg141_at_its_line() -> None:
    text = SPEC.replace("targetRevision: main", f"targetRevision: '{EVIL}'")
    assert text != SPEC
    spec, doc = parse_spec(text, SOURCE)
    found = [f for f in check_spec_policies(spec, doc) if f.id == "GG141"]
    assert [(f.path, f.line) for f in found] == [
        (
            "repo.targetRevision",
            next(i for i, line in enumerate(text.splitlines(), 1) if EVIL in line),
        )
    ]


def test_the_declared_fields_are_all_spec_strings_in_the_applicationset_templates() -> None:
    """Mark every top-level spec string; what reaches a `template` must be declared."""
    spec, _ = parse_spec(SPEC, SOURCE)
    data = yaml.safe_load(SPEC)
    for section in ("repo", "argocd", "app"):
        for key, value in data[section].items():
            if isinstance(value, str):
                data[section][key] = value + "-mark" if key != "url" else value + "#mark"
    marked, _ = parse_spec(yaml.safe_dump(data), SOURCE)
    files = render_all(marked)
    reached = set()
    appsets = [
        doc
        for text in files.values()
        for doc in yaml.safe_load_all(text)
        if isinstance(doc, dict) and doc.get("kind") == "ApplicationSet"
    ]
    assert len(appsets) == 2  # the app's and MetalLB's
    for appset in appsets:
        template = yaml.safe_dump(appset["spec"]["template"]) + appset["spec"]["templatePatch"]
        for section in ("repo", "argocd", "app"):
            for key, value in data[section].items():
                if isinstance(value, str) and value in template:
                    reached.add((section, key))
    assert reached <= set(GO_TEMPLATED_FIELDS)
    assert spec is not None


def test_list_elements_are_data_in_the_preview() -> None:
    """Argo CD passes list elements as parameters, unevaluated; so does the preview."""
    spec, _ = parse_spec(SPEC, SOURCE)
    appset = yaml.safe_load(render_all(spec)["applicationsets/fastapi.yaml"])
    appset["spec"]["generators"][0]["list"]["elements"][0]["namespace"] = "{{ .env }}-x"
    preview = preview_applicationset(appset, "applicationsets/fastapi.yaml")
    first = preview.applications[0]
    assert first["spec"]["destination"]["namespace"] == "{{ .env }}-x"


@pytest.mark.parametrize("field", GO_TEMPLATED_FIELDS)
def test_every_declared_field_is_refused_by_the_schema_or_gg141(field: tuple[str, str]) -> None:
    data = yaml.safe_load(SPEC)
    data[field[0]][field[1]] = "https://h/{{.env}}" if field[1] == "url" else "x{{.env}}"
    dotted = ".".join(field)
    try:
        spec, doc = parse_spec(yaml.safe_dump(data), SOURCE)
    except SpecError as exc:  # names are DNS labels: the schema refuses braces already
        assert [f.path for f in exc.findings] == [dotted]
        return
    assert [f.path for f in check_spec_policies(spec, doc) if f.id == "GG141"] == [dotted]
