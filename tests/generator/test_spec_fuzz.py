"""Property: any mutation of the spec gives a clean error or a valid render, never a traceback.

Derandomised: the examples are the same on every run and machine, so a failure is reproducible
(it once failed on 4 of 8 seeds: a spec without `app.image.repository` raised KeyError)."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gitopsgen.errors import GitopsgenError, SpecError
from gitopsgen.render.registry import render_all
from gitopsgen.spec.load import parse_spec, read_spec
from gitopsgen.validate.lenient import broken_environment_policies
from gitopsgen.validate.policies import check_spec_policies
from tests.support import FROZEN_SPEC_TEXT

BASE = yaml.safe_load(FROZEN_SPEC_TEXT)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        ["A", "B", "canary", "0.0.0.0/0", "10.0.0.1/8", "1.2.3.4-1.2.3.1", "", "latest"]
    ),
    st.sampled_from(["main@@gitopsgen-leaf-0@@x", "{{ .env }}", "@@gitopsgen-leaf-1@@"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, item in node.items():
            out.extend(paths(item, (*prefix, key)))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            out.extend(paths(item, (*prefix, index)))
    return out


ALL_PATHS = [p for p in paths(BASE) if p]


def mutate(data: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    data = copy.deepcopy(data)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if action == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return data


@FUZZ
@example([(("app", "image", "repository"), "delete", None)])
@given(
    st.lists(
        st.tuples(st.sampled_from(ALL_PATHS), st.sampled_from(["set", "delete"]), values),
        min_size=1,
        max_size=3,
    )
)
def test_mutated_spec_never_crashes(mutations: list[tuple[tuple[Any, ...], str, Any]]) -> None:
    data = BASE
    for path, action, value in mutations:
        try:
            data = mutate(data, path, action, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    check_text(yaml.safe_dump(data, sort_keys=False))


def check_text(text: str) -> None:
    """A clean SpecError with places, or policies, render and preview that do not crash; and
    validate's reading of a broken spec (typos read as meant, the policies of environments the
    schema refused) does not crash either (issue 26, item 17)."""
    reading = read_spec(text, "environments/environments.yaml")
    for finding in broken_environment_policies(reading):
        assert finding.line >= 1 and finding.id.startswith("GG1")
    try:
        spec, doc = parse_spec(text, "environments/environments.yaml")
    except SpecError as exc:
        assert exc.findings
        for finding in exc.findings:
            assert finding.line >= 1 and finding.id.startswith("GG")
        return
    policy_findings = check_spec_policies(spec, doc)
    if any(f.is_error for f in policy_findings):
        return
    try:
        files = render_all(spec)
    except GitopsgenError:
        return
    for rendered in files.values():
        list(yaml.safe_load_all(rendered))


# Text the data mutations above cannot produce: YAML shapes a hostile or careless edit can.
SNIPPETS = [
    "? [a, b]\n: 1",
    "x: !!python/object:os.system {}",
    "x: !!python/name:os.system",
    "x: *undefined",
    "x: &a [1, *a]",
    "x: &a {k: v}\ny: *a",
    "<<: {replicas: 3}",
    "\tx: 1",
    "x: [1, 2",
    "x: {a: 1",
    'x: "open',
    "x: " + "[" * 300 + "]" * 300,
    "- a",
    "1: x",
    "null: x",
    "true: x",
    "x: 'main@@gitopsgen-leaf-0@@x'",
    "x:\n  y: &l0 [a, a, a, a, a, a, a, a, a, a]\n  z: &l1 [*l0, *l0, *l0, *l0, *l0, *l0]",
]


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.integers(0, FROZEN_SPEC_TEXT.count("\n")),
            st.integers(0, 6),
            st.sampled_from(SNIPPETS),
        ),
        min_size=1,
        max_size=2,
    )
)
def test_odd_yaml_text_never_crashes(insertions: list[tuple[int, int, str]]) -> None:
    """Snippets inserted at any line and indentation give findings, never a traceback."""
    lines = FROZEN_SPEC_TEXT.split("\n")
    for line, indent, snippet in insertions:
        pad = " " * indent
        lines[line:line] = [pad + part for part in snippet.split("\n")]
    check_text("\n".join(lines))


# What helmValues may not set (issue 26, item 2): every owned key, and a mapping above one,
# with hostile values, in an environment or in `defaults`.
OWNED_ATTACKS = [
    {
        "ingress": {
            "annotations": {"nginx.ingress.kubernetes.io/whitelist-source-range": "0.0.0.0/0"}
        }
    },
    {
        "ingress": {
            "annotations": {"nginx.ingress.kubernetes.io/configuration-snippet": "allow all;"}
        }
    },
    {"ingress": {"annotations": None}},
    {"ingress": None},
    {"gatewayApi": {"enabled": True, "allowList": []}},
    {"gatewayApi": {"clientAddress": "xForwardedFor", "trustedHops": 0}},
    {"image": {"repository": "attacker/model-api", "tag": "latest"}},
    {"image": "attacker/model-api:latest"},
    {"replicaCount": 0},
    {"secret": {"name": "payments-secrets"}},
    {"rollout": {"strategy": "blueGreen", "colors": {"blue": {"tag": "latest", "alias": "B"}}}},
]


@FUZZ
@given(
    st.lists(st.sampled_from(OWNED_ATTACKS), min_size=1, max_size=3),
    st.sampled_from([("environments", "prod"), ("environments", "dev"), ("defaults",)]),
)
def test_helm_values_never_set_what_the_spec_renders(
    attacks: list[dict[str, Any]], where: tuple[str, ...]
) -> None:
    data = copy.deepcopy(BASE)
    target = data
    for part in where:
        target = target[part]
    for attack in attacks:
        target["helmValues"] = {**target.get("helmValues", {}), **attack}
    text = yaml.safe_dump(data, sort_keys=False)
    try:
        spec, doc = parse_spec(text, "environments/environments.yaml")
    except SpecError:
        return  # the schema refused the shape (e.g. a non-mapping helmValues): not rendered
    found = [f for f in check_spec_policies(spec, doc) if f.id == "GG142"]
    assert found and all(f.is_error and "helmValues" in f.path for f in found)
