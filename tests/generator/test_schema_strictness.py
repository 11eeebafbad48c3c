"""Our own schemas (GG301) are never stricter than the API server, except where a documented policy
(GG12x) says so on purpose; core kinds are checked with kubernetes-validate's schemas as shipped."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitopsgen.validate import kube
from gitopsgen.validate.crds import CrdSchema, load_crd_dirs
from gitopsgen.validate.documents import OWN_SCHEMA_FILES, _crd_validator, _own_defs
from gitopsgen.validate.policies.spec_checks import POLICIES
from gitopsgen.validate.strictness import (
    DELIBERATE,
    OBJECT_META,
    SERVER_RULES,
    Stricter,
    compare_own_kind,
    stricter_points,
    unlisted,
)
from tests.support import Invoke

EXAMPLES = Path(__file__).parent / "examples"
OWN_KINDS = sorted(
    (api_version, kind)
    for api_version in OWN_SCHEMA_FILES
    for kind in (_own_defs(api_version) or {"$defs": {}})["$defs"]
    if kind[:1].isupper()
)
# Own schemas whose upstream CRDs the shared cache (../shared/crds, SOURCES.md there) does not
# hold: the comparison is skipped for them, saying why, and CRDs are never copied into the repo.
NOT_IN_SHARED_CACHE = {
    "promoter.argoproj.io/v1alpha1": (
        "GitOps Promoter's CRDs (argoproj-labs/gitops-promoter config/crd/bases) are not in "
        "../shared/crds; our schema was written from them by hand (render/promoter.py)"
    ),
}


def _kube_defs() -> dict[str, Any]:
    root = kube._schema_dir(kube.resolve_version(kube.DEFAULT_KUBE_VERSION) or "")
    defs: dict[str, Any] = json.loads(root.joinpath("_definitions.json").read_text())["$defs"]
    return defs


@pytest.fixture(scope="module")
def crds(shared_crds: Path) -> dict[tuple[str, str], CrdSchema]:
    return load_crd_dirs([shared_crds])


@pytest.fixture(scope="module")
def all_points(crds: dict[tuple[str, str], CrdSchema]) -> list[Stricter]:
    kube_defs = _kube_defs()
    found: list[Stricter] = []
    for api_version, kind in OWN_KINDS:
        if api_version in NOT_IN_SHARED_CACHE:
            continue
        own = _own_defs(api_version)
        assert own is not None
        found.extend(compare_own_kind(kind, own, crds[(api_version, kind)].openapi, kube_defs))
    return found


@pytest.mark.parametrize(("api_version", "kind"), OWN_KINDS)
def test_own_schema_is_not_stricter_than_the_crd(
    api_version: str, kind: str, crds: dict[tuple[str, str], CrdSchema]
) -> None:
    if api_version in NOT_IN_SHARED_CACHE:
        pytest.skip(NOT_IN_SHARED_CACHE[api_version])
    crd = crds.get((api_version, kind))
    assert crd is not None, f"no upstream CRD for {api_version} {kind} in ../shared/crds"
    own = _own_defs(api_version)
    assert own is not None
    points = compare_own_kind(kind, own, crd.openapi, _kube_defs())
    assert unlisted(points) == [], (
        "our schema refuses what the API server accepts here; loosen it, or list the place in "
        "strictness.DELIBERATE with a GG12x policy and its reason"
    )


def test_every_listed_difference_still_exists(all_points: list[Stricter]) -> None:
    keys = {p.key for p in all_points}
    assert [k for k in DELIBERATE if k not in keys] == []
    assert [k for k in SERVER_RULES if not any((p.path, p.keyword) == k for p in all_points)] == []


def test_every_deliberate_difference_is_a_documented_policy(repo_root: Path) -> None:
    reference = (repo_root / "docs/validation.md").read_text()
    for key, deliberate in DELIBERATE.items():
        assert re.fullmatch(r"GG12\d", deliberate.policy), key
        assert deliberate.policy in POLICIES, key
        assert f"`{deliberate.policy}`" in reference, key
        assert len(deliberate.reason) > 20, key


# The walker itself: each kind of strictness is found, and looser or equal schemas are not.
OPEN_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
PRESERVE = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
CASES = [
    ({"required": ["a"]}, {}, ("a", "required")),
    (
        {"properties": {"a": {"enum": ["x"]}}},
        {"properties": {"a": {"type": "string"}}},
        ("a", "enum"),
    ),
    ({"type": "integer"}, {"x-kubernetes-int-or-string": True}, ("", "type")),
    ({"type": "integer"}, {"type": "number"}, ("", "type")),
    ({"properties": {"a": {"pattern": "^x$"}}}, {"properties": {"a": {}}}, ("a", "pattern")),
    ({"properties": {"a": {"minItems": 1}}}, {"properties": {"a": {}}}, ("a", "minItems")),
    ({"maximum": 3}, {"maximum": 5}, ("", "maximum")),
    ({"type": "object", "additionalProperties": False}, OPEN_MAP, ("", "additionalProperties")),
    ({"type": "object", "additionalProperties": False}, PRESERVE, ("", "additionalProperties")),
    (
        {"type": "object", "properties": {"a": {}}, "additionalProperties": False},
        {"type": "object", "properties": {"a": {}, "b": {}}},
        ("b", "additionalProperties"),
    ),
    ({"items": {"minLength": 1}}, {"items": {}}, ("[]", "minLength")),
    ({"additionalProperties": {"type": "integer"}}, OPEN_MAP, ("*", "type")),
    ({"anyOf": [{"required": ["a"]}, {"required": ["b"]}]}, {}, ("", "anyOf")),
    ({"$ref": "#/$defs/x"}, {}, ("y", "required")),
]


@pytest.mark.parametrize(("ours", "theirs", "expected"), CASES)
def test_walker_finds_each_kind_of_strictness(
    ours: dict[str, Any], theirs: dict[str, Any], expected: tuple[str, str]
) -> None:
    points = stricter_points("K", ours, theirs, {"x": {"required": ["y"]}})
    assert expected in [(p.path, p.keyword) for p in points], points


LOOSER = [
    ({"type": "object"}, {"type": "object", "properties": {"a": {"type": "string"}}}),
    ({"type": "number"}, {"type": "integer"}),
    ({"type": "string"}, {"type": "string", "enum": ["a"]}),
    ({"properties": {"a": {"enum": ["x", "y"]}}}, {"properties": {"a": {"enum": ["x"]}}}),
    ({"minLength": 1}, {"minLength": 2}),
    ({"required": ["a"]}, {"required": ["a", "b"]}),
    (  # a closed object where the CRD's is closed too (pruned fields are refused)
        {"type": "object", "properties": {"a": {}}, "additionalProperties": False},
        {"type": "object", "properties": {"a": {}}},
    ),
    ({"type": "integer"}, {"type": ["integer", "null"]}),  # nulls are pruned first
]


@pytest.mark.parametrize(("ours", "theirs"), LOOSER)
def test_walker_accepts_looser_or_equal(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert stricter_points("K", ours, theirs, {}) == []


# Core kinds: gitopsgen checks them with kubernetes-validate's strict schemas, adding nothing.


def test_core_kinds_have_no_schema_of_ours() -> None:
    for api_version in OWN_SCHEMA_FILES:
        for kind in (_own_defs(api_version) or {"$defs": {}})["$defs"]:
            if kind[:1].isupper():
                assert kube.kube_validator(kube.DEFAULT_KUBE_VERSION, api_version, kind) is None


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [("apps/v1", "Deployment"), ("v1", "Service"), ("networking.k8s.io/v1", "Ingress")],
)
def test_core_kind_schema_is_kubernetes_validates_as_shipped(api_version: str, kind: str) -> None:
    version = kube.resolve_version(kube.DEFAULT_KUBE_VERSION) or ""
    validator = kube.kube_validator(version, api_version, kind)
    assert validator is not None
    shipped = json.loads(
        kube._schema_dir(version).joinpath(kube.schema_file_name(api_version, kind)).read_text()
    )
    ours = {k: v for k, v in validator.schema.items() if k != "$id"}
    assert ours == {k: v for k, v in shipped.items() if k != "$id"}


def test_own_metadata_is_compared_with_object_meta() -> None:
    assert OBJECT_META in _kube_defs()


# Examples with known API-server verdicts: the upstream CRD accepts every valid example, and so
# does gitopsgen, with the CRDs and with its own schemas alone.


def _valid_documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}#{index}", doc)
        for path in sorted((EXAMPLES / "valid").glob("*.yaml"))
        for index, doc in enumerate(yaml.safe_load_all(path.read_text()))
        if isinstance(doc, dict)
    ]


@pytest.mark.parametrize(("name", "doc"), _valid_documents())
def test_valid_example_is_accepted_by_its_crd(
    name: str, doc: dict[str, Any], crds: dict[tuple[str, str], CrdSchema]
) -> None:
    from gitopsgen.validate.crds import prepare_document

    crd = crds.get((doc["apiVersion"], doc["kind"]))
    if crd is None:
        pytest.skip(f"{name}: no upstream CRD for {doc['apiVersion']} {doc['kind']}")
    errors = [e.message for e in _crd_validator(crd).iter_errors(prepare_document(doc, crd))]
    assert errors == [], name


def test_valid_examples_pass_with_own_schemas_alone(repo_root: Path, run_cli: Invoke) -> None:
    result = run_cli(
        "validate", "--format", "json", "--root", repo_root, EXAMPLES / "valid", expect=0
    )
    found = [f for f in json.loads(result.stdout) if "examples/valid" in f["file"]]
    assert [f for f in found if f["severity"] != "skipped"] == []  # the live spec's are not ours


@pytest.mark.parametrize(
    "name", ["ipaddresspool-no-addresses.yaml", "application-without-source.yaml"]
)
def test_deliberate_difference_is_a_policy_not_a_schema_error(
    name: str, repo_root: Path, shared_crds: Path, run_cli: Invoke
) -> None:
    result = run_cli(
        "validate",
        "--format",
        "json",
        "--root",
        repo_root,
        "--crd-dir",
        shared_crds,
        EXAMPLES / "invalid" / name,
        expect=1,
    )
    ids = {f["id"] for f in json.loads(result.stdout)}
    assert ids and all(re.fullmatch(r"GG12\d", i) for i in ids), ids  # the CRD accepts it
