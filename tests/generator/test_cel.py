"""The CRDs' CEL rules (`x-kubernetes-validations`), evaluated offline: a broken rule is GG310 with
the rule's own message at the field's line; a rule that cannot run is GG311, never passed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitopsgen.validate.cel import rules as celrules
from gitopsgen.validate.cel.functions import BUILTIN, EXTENSIONS
from gitopsgen.validate.cel.names import escape, parse_field_path
from gitopsgen.validate.crds import load_crd_dirs, prepare_document
from gitopsgen.validate.documents import DocumentRef, SchemaSet, _crd_validator, check_document
from gitopsgen.yamlsource import load_documents
from tests.support import Invoke

EXAMPLES = Path(__file__).parent / "examples"
# file -> (line, path, the rule's message), each from the upstream CRD
CEL_INVALID = {
    "httproute-redirect-and-rewrite.yaml": (
        14,
        "spec.rules[0].filters",
        "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, "
        "but not both",
    ),
    "httproute-path-dot-dot.yaml": (
        12,
        "spec.rules[0].matches[1].path",
        "must not contain '/../' when type one of ['Exact', 'PathPrefix']",
    ),
    "securitypolicy-empty-principal.yaml": (
        14,
        "spec.authorization.rules[0].principal",
        "at least one of clientCIDRs, jwt, headers, or clientIPGeoLocations must be specified",
    ),
    "clienttrafficpolicy-two-client-ip-sources.yaml": (
        10,
        "spec.clientIPDetection",
        "exactly one of xForwardedFor, customHeader, or directSourceIP must be set",
    ),
    "gateway-tls-on-http.yaml": (
        7,
        "spec.listeners",
        "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']",
    ),
    "traefik-middleware-relative-prefix.yaml": (
        7,
        "spec.addPrefix.prefix",
        "must start with a '/'",
    ),
}


def validate(run_cli: Invoke, root: Path, crds: Path, path: Path, expect: int) -> Any:
    """The findings of the document `path` only: the live spec's own (a canary's warning after
    a promotion, say) are not this test's."""
    result = run_cli(
        "validate", "--format", "json", "--root", root, "--crd-dir", crds, path, expect=expect
    )
    return [f for f in json.loads(result.stdout) if Path(f["file"]).name == path.name]


@pytest.mark.parametrize("name", sorted(CEL_INVALID))
def test_a_broken_cel_rule_is_gg310_with_its_message_at_the_field(
    name: str, repo_root: Path, shared_crds: Path, run_cli: Invoke
) -> None:
    line, path, message = CEL_INVALID[name]
    found = validate(run_cli, repo_root, shared_crds, EXAMPLES / "invalid" / name, expect=1)
    assert [(f["id"], f["severity"], f["line"], f["path"]) for f in found] == [
        ("GG310", "error", line, path)
    ]
    assert found[0]["message"].endswith(f": {message}")
    assert found[0]["hint"].startswith("CEL rule: ")  # the rule's text, to see what failed


def test_the_same_documents_pass_plain_json_schema(shared_crds: Path) -> None:
    """What the CEL rules add: every invalid example above is valid to the CRD's JSON Schema."""
    crds = load_crd_dirs([shared_crds])
    for name in CEL_INVALID:
        doc = yaml.safe_load((EXAMPLES / "invalid" / name).read_text())
        crd = crds[(doc["apiVersion"], doc["kind"])]
        assert _crd_validator(crd).is_valid(prepare_document(doc, crd)), name


def test_rules_run_on_valid_documents(shared_crds: Path) -> None:
    """The valid examples pass because their rules ran and held, not because none ran."""
    crds = load_crd_dirs([shared_crds])
    doc = yaml.safe_load((EXAMPLES / "valid/httproute.yaml").read_text())
    crd = crds[(doc["apiVersion"], doc["kind"])]
    assert celrules.check_rules(crd, prepare_document(doc, crd)) == []
    doc["spec"]["rules"][0]["timeouts"] = {"request": "5s", "backendRequest": "10s"}
    doc["spec"]["rules"][0]["matches"][0]["path"]["value"] = "api"
    messages = sorted(r.message for r in celrules.check_rules(crd, prepare_document(doc, crd)))
    assert messages == [
        "backendRequest timeout cannot be longer than request timeout",
        "value must be an absolute path and start with '/' when type one of "
        "['Exact', 'PathPrefix']",
    ]


def test_schema_errors_stop_the_cel_rules_as_on_the_api_server(
    tmp_path: Path, repo_root: Path, shared_crds: Path, run_cli: Invoke
) -> None:
    text = (EXAMPLES / "invalid/httproute-redirect-and-rewrite.yaml").read_text()
    broken = tmp_path / "route.yaml"
    broken.write_text(text.replace("statusCode: 301", "statusCode: moved"))
    found = validate(run_cli, repo_root, shared_crds, broken, expect=1)
    assert sorted((f["id"], f["severity"], f["line"]) for f in found) == [
        ("GG302", "error", 16),  # not an integer, and not one of the enum
        ("GG302", "error", 16),
        ("GG311", "skipped", 3),  # at the document, once, not at each rule
    ]
    skipped = next(f for f in found if f["id"] == "GG311")
    assert "CEL rules not evaluated" in skipped["message"]


WIDGET_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              x-kubernetes-validations:
                - rule: quantity(self.size).isLessThan(quantity('1Gi'))
                  message: size must stay below 1Gi
                - rule: self.replicas == oldSelf.replicas
                  message: replicas is immutable
                - rule: self.replicas <= self.limits.max
                  messageExpression: "'replicas ' + string(self.replicas) + ' over the limit'"
                  fieldPath: .limits['max']
                  reason: FieldValueForbidden
                - rule: self.labels.all(k, k.lowerAscii() == k)
                  message: label keys are lower case
              properties:
                size: {type: string}
                replicas: {type: integer}
                limits:
                  type: object
                  properties: {max: {type: integer}}
                labels:
                  type: object
                  additionalProperties:
                    type: object
                    properties:
                      namespace: {type: string}
                    x-kubernetes-validations:
                      - rule: "!has(self.__namespace__) || self.__namespace__ != 'kube-system'"
                        message: not in kube-system
"""

WIDGET = """\
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec:
  size: 10Mi
  replicas: 5
  limits:
    max: 3
  labels:
    team: {namespace: kube-system}
    Owner: {}
"""


@pytest.fixture
def widget_crds(tmp_path: Path) -> Path:
    folder = tmp_path / "crds"
    folder.mkdir()
    (folder / "widget.yaml").write_text(WIDGET_CRD)
    return folder


def test_rule_kinds_and_fields_are_honoured(
    widget_crds: Path, tmp_path: Path, repo_root: Path, run_cli: Invoke
) -> None:
    doc = tmp_path / "widget.yaml"
    doc.write_text(WIDGET)
    found = validate(run_cli, repo_root, widget_crds, doc, expect=1)
    got = [(f["id"], f["severity"], f["line"], f["path"], f["message"]) for f in found]
    assert got == [
        ("GG310", "error", 4, "spec", "Widget/w: label keys are lower case"),
        # a function the library lacks: skipped with the rule's text, never passed
        (
            "GG311",
            "skipped",
            4,
            "spec",
            "Widget/w: CEL rule not evaluated (uses isLessThan, quantity, not in gitopsgen's "
            "CEL library): quantity(self.size).isLessThan(quantity('1Gi'))",
        ),
        # fieldPath: at that field; messageExpression evaluated; reason worded as the server does
        ("GG310", "error", 8, "spec.limits.max", "Widget/w: Forbidden: replicas 5 over the limit"),
        # every value of an additionalProperties map; CEL keywords escaped (__namespace__)
        ("GG310", "error", 10, "spec.labels.team", "Widget/w: not in kube-system"),
    ]  # the transition rule (oldSelf) does not apply on create: not run, not reported
    assert found[1]["hint"] == "CEL rule: quantity(self.size).isLessThan(quantity('1Gi'))"
    text = run_cli("validate", "--root", repo_root, "--crd-dir", widget_crds, doc, expect=1)
    assert "3 error(s), 0 warning(s), 1 skipped" in text.stdout
    assert "isLessThan(quantity('1Gi'))" in text.stdout  # the rule's text, in text output too


def test_an_absent_optional_field_runs_no_rule(
    widget_crds: Path, tmp_path: Path, repo_root: Path, run_cli: Invoke
) -> None:
    doc = tmp_path / "widget.yaml"
    doc.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")
    assert validate(run_cli, repo_root, widget_crds, doc, expect=0) == []


def test_rules_are_compiled_once_and_only_for_kinds_met(shared_crds: Path) -> None:
    crds = load_crd_dirs([shared_crds])
    schemas = SchemaSet("1.33", crds)
    celrules.compile_rule.cache_clear()
    celrules.rule_tree.cache_clear()
    before = celrules.COMPILES["count"]
    docs, _ = load_documents((EXAMPLES / "valid/httproute.yaml").read_text())
    assert check_document(docs[0], DocumentRef("a.yaml"), schemas) == []
    first = celrules.COMPILES["count"] - before
    route = crds[("gateway.networking.k8s.io/v1", "HTTPRoute")]
    distinct = set(_rule_texts(route.openapi))
    assert first == len(distinct) > 40  # HTTPRoute's rules only, not SecurityPolicy's
    assert check_document(docs[0], DocumentRef("b.yaml"), schemas) == []
    assert celrules.COMPILES["count"] - before == first  # the second document compiles nothing


def _rule_texts(schema: Any) -> list[str]:
    if isinstance(schema, list):
        return [t for item in schema for t in _rule_texts(item)]
    if not isinstance(schema, dict):
        return []
    own = [str(v["rule"]) for v in schema.get("x-kubernetes-validations") or []]
    return own + [t for k, v in schema.items() if k != "default" for t in _rule_texts(v)]


# expression, self, expected: Kubernetes' CEL library semantics
EXTENSION_CASES: list[tuple[str, Any, Any]] = [
    ("self.lowerAscii()", "AbC-Ä", "abc-Ä"),
    ("self.upperAscii()", "post", "POST"),
    ("self.split('/')", "a/b/c", ["a", "b", "c"]),
    ("self.split('/', 2)", "a/b/c", ["a", "b/c"]),
    ("self.split('/', 0)", "a/b", []),
    ("self.split('')", "abc", ["a", "b", "c"]),
    ("self.join('-')", ["a", "b"], "a-b"),
    ("self.join()", ["a", "b"], "ab"),
    ("self.trim()", "  x \n", "x"),
    ("self.replace('a', 'o')", "banana", "bonono"),
    ("self.replace('a', 'o', 1)", "banana", "bonana"),
    ("self.charAt(1)", "abc", "b"),
    ("self.charAt(3)", "abc", ""),
    ("self.substring(1)", "abc", "bc"),
    ("self.substring(1, 2)", "abc", "b"),
    ("self.indexOf('c')", "abcabc", 2),
    ("self.indexOf('c', 3)", "abcabc", 5),
    ("self.indexOf('z')", "abc", -1),
    ("self.lastIndexOf('c')", "abcabc", 5),
    ("self.indexOf(2)", [1, 2, 2], 1),
    ("self.lastIndexOf(2)", [1, 2, 2], 2),
    ("self.isSorted()", [1, 2, 2], True),
    ("self.isSorted()", ["b", "a"], False),
    ("self.sum()", [1, 2, 3], 6),
    ("self.sum()", [], 0),
    ("self.min()", [3, 1], 1),
    ("self.max()", [3, 1], 3),
    ("self.find('[0-9]+')", "ab12cd34", "12"),
    ("self.find('x')", "abc", ""),
    ("self.findAll('[0-9]+')", "ab12cd34", ["12", "34"]),
    ("self.findAll('[0-9]+', 1)", "ab12cd34", ["12"]),
    ("isIP(self)", "10.0.0.1", True),
    ("isIP(self)", "fd00::1", True),
    ("isIP(self)", "010.0.0.1", False),
    ("isIP(self)", "::ffff:10.0.0.1", False),
    ("isIP(self)", "fe80::1%eth0", False),
    ("isIP(self)", "10.0.0.0/8", False),
    ("isCIDR(self)", "10.0.0.0/8", True),
    ("isCIDR(self)", "fd00::/64", True),
    ("isCIDR(self)", "10.0.0.0/33", False),
    ("isCIDR(self)", "10.0.0.0/08", False),
    ("isCIDR(self)", "10.0.0.0", False),
    ("isURL(self)", "https://example.com/a?b=c", True),
    ("isURL(self)", "/absolute/path", True),
    ("isURL(self)", "relative/path", False),
    ("isURL(self)", "https://exa mple.com", False),
]


@pytest.mark.parametrize(("expression", "value", "expected"), EXTENSION_CASES)
def test_extension_function(expression: str, value: Any, expected: Any) -> None:
    assert celrules.evaluate_expression(expression, value) == expected


@pytest.mark.parametrize(
    ("expression", "value"),
    [("self.substring(2, 1)", "abc"), ("self.charAt(9)", "abc"), ("self.min()", [])],
)
def test_extension_function_errors_like_the_api_server(expression: str, value: Any) -> None:
    with pytest.raises(RuntimeError, match="index out of range|empty list"):
        celrules.evaluate_expression(expression, value)


def test_every_extension_is_tested_and_every_builtin_runs() -> None:
    tested = {name for name in EXTENSIONS for case in EXTENSION_CASES if f"{name}(" in case[0]}
    assert tested == set(EXTENSIONS)
    samples = {
        "size": "size('ab') == 2 && [1].size() == 1",
        "contains": "'abc'.contains('b')",
        "startsWith": "'abc'.startsWith('a')",
        "endsWith": "'abc'.endsWith('c')",
        "matches": "'abc'.matches('^a.c$')",
        "duration": "duration('1h30m') > duration('90s')",
        "timestamp": "timestamp('2026-01-01T00:00:00Z') > timestamp('2025-01-01T00:00:00Z')",
        "int": "int('5') == 5",
        "uint": "uint(5) == 5u",
        "double": "double(1) == 1.0",
        "string": "string(5) == '5'",
        "bytes": "bytes('a') == b'a'",
        "type": "type(1) == int",
        "dyn": "dyn(1) == 1",
        "getFullYear": "timestamp('2026-01-01T00:00:00Z').getFullYear() == 2026",
        "getMonth": "timestamp('2026-02-01T00:00:00Z').getMonth() == 1",
        "getDate": "timestamp('2026-02-03T00:00:00Z').getDate() == 3",
        "getDayOfMonth": "timestamp('2026-02-03T00:00:00Z').getDayOfMonth() == 2",
        "getDayOfWeek": "timestamp('2026-02-01T00:00:00Z').getDayOfWeek() == 0",
        "getDayOfYear": "timestamp('2026-02-01T00:00:00Z').getDayOfYear() == 31",
        "getHours": "duration('2h').getHours() == 2",
        "getMinutes": "duration('2h').getMinutes() == 120",
        "getSeconds": "duration('1m').getSeconds() == 60",
        "getMilliseconds": "duration('1.5s').getMilliseconds() == 1500",
    }
    assert set(samples) == BUILTIN
    for name, expression in samples.items():
        assert celrules.evaluate_expression(expression) is True, name


@pytest.mark.parametrize(
    ("name", "escaped"),
    [("namespace", "__namespace__"), ("a-b", "a__dash__b"), ("x.y/z", "x__dot__y__slash__z")],
)
def test_property_names_as_cel_sees_them(name: str, escaped: str) -> None:
    assert escape(name) == escaped


def test_field_path() -> None:
    assert parse_field_path(".limits['max'].x") == ("limits", "max", "x")
    assert parse_field_path("") == ()
