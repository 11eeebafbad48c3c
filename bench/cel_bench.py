"""Cost of the CRDs' CEL rules per document, and the two CEL libraries on the shipped rules.

`python -m bench.cel_bench` prints the section; `--compare` also runs the library comparison
(it needs `pip install cel-python` beside the default `common-expression-language`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from bench.measure import median
from gitopsgen.validate.cel import rules as celrules
from gitopsgen.validate.crds import CrdSchema, load_crd_dirs, prepare_document
from gitopsgen.validate.documents import DocumentRef, SchemaSet, check_document
from gitopsgen.yamlsource import load_documents

REPO = Path(__file__).resolve().parents[1]
CRDS = REPO.parent / "shared" / "crds"
EXAMPLES = REPO / "tests/generator/examples/valid"
CASES = (
    ("HTTPRoute", "httproute.yaml"),
    ("SecurityPolicy", "securitypolicy-allowlist.yaml"),
)


def per_call_ms(action: Callable[[], object], repeat: int = 200, rounds: int = 5) -> float:
    """Median over `rounds` of the mean time of `repeat` calls, in milliseconds."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(repeat):
            action()
        times.append((time.perf_counter() - started) / repeat * 1000)
    return median(times)


def all_rules(schema: Any) -> list[str]:
    if isinstance(schema, list):
        return [r for item in schema for r in all_rules(item)]
    if not isinstance(schema, dict):
        return []
    own = [str(v["rule"]) for v in schema.get("x-kubernetes-validations") or []]
    return own + [r for k, v in schema.items() if k != "default" for r in all_rules(v)]


def document_rows(crds: dict[tuple[str, str], CrdSchema]) -> list[str]:
    schemas = SchemaSet("1.33", crds)
    rows = []
    for kind, name in CASES:
        text = (EXAMPLES / name).read_text()
        data = yaml.safe_load(text)
        crd = crds[(data["apiVersion"], kind)]
        prepared = prepare_document(data, crd)
        started = time.perf_counter()
        celrules.check_rules(crd, prepared)  # the first document compiles the kind's rules
        first = (time.perf_counter() - started) * 1000
        cel = per_call_ms(partial(celrules.check_rules, crd, prepared))
        doc = load_documents(text)[0][0]
        whole = per_call_ms(partial(check_document, doc, DocumentRef(name), schemas))
        places = all_rules(crd.openapi)
        rows.append(
            f"| {kind} | {len(places)} ({len(set(places))}) | {first:.1f} | {cel:.3f} "
            f"| {whole:.3f} | {cel / whole:.0%} |"
        )
    return rows


def section() -> str:
    if not CRDS.is_dir():
        return f"## CEL rules\n\nSkipped: no upstream CRDs at {CRDS}.\n"
    crds = load_crd_dirs([CRDS])
    lines = [
        "## CEL rules of the CRDs",
        "",
        "`python -m bench.cel_bench` (also part of `make bench`): the valid examples of "
        "`tests/generator/examples/valid/`, in-process and warm; medians of 5 rounds of 200 "
        "documents. Rules are compiled on the first document of a kind and cached by their text.",
        "",
        "| kind | rules (distinct texts) | first document ms (compiles) | CEL ms per document "
        "| whole check ms per document (JSON Schema + CEL) | CEL share |",
        "| --- | --- | --- | --- | --- | --- |",
        *document_rows(crds),
        "",
        "- the CEL library's native module is loaded on the first document with rules; "
        "`import cel` would also import the package's command line (typer, rich): about 1 s",
        "",
    ]
    return "\n".join(lines)


def compare_libraries() -> str:
    """Both PyPI libraries on every distinct rule of the CRDs: parse, compile, evaluate."""
    import celpy  # cel-python
    from celpy.adapter import json_to_cel

    texts = sorted({r for p in sorted(CRDS.rglob("*.yaml")) for r in _file_rules(p)})
    rs = celrules.runtime()
    env = celpy.Environment()
    out = [f"{len(texts)} distinct rules in {CRDS}"]
    for label, build in (
        ("cel-python", lambda t: env.program(env.compile(t))),
        ("common-expression-language", rs.compile),
    ):
        ok, started = 0, time.perf_counter()
        for text in texts:
            try:
                build(text)
                ok += 1
            except Exception:  # noqa: BLE001 - counting what each library refuses
                continue
        ms = (time.perf_counter() - started) * 1000 / len(texts)
        out.append(f"{label}: compiles {ok}/{len(texts)}, {ms:.2f} ms per rule")
    crd = load_crd_dirs([CRDS])[("gateway.networking.k8s.io/v1", "HTTPRoute")]
    route = prepare_document(yaml.safe_load((EXAMPLES / "httproute.yaml").read_text()), crd)
    path_rules = sorted({r for r in all_rules(crd.openapi) if "self.value" in r})
    value = route["spec"]["rules"][0]["matches"][0]["path"]
    py_programs = [env.program(env.compile(r)) for r in path_rules]
    py_value = json_to_cel(value)
    rs_programs = [rs.compile(r) for r in path_rules]
    py = per_call_ms(lambda: [p.evaluate({"self": py_value}) for p in py_programs], 20)
    fast = per_call_ms(lambda: [p.execute({"self": value}) for p in rs_programs], 20)
    out.append(
        f"evaluation, an HTTPRoute path match's {len(path_rules)} rules: cel-python "
        f"{py / len(path_rules) * 1000:.0f} us per rule, common-expression-language "
        f"{fast / len(path_rules) * 1000:.0f} us per rule"
    )
    return "\n".join(out)


def _file_rules(path: Path) -> list[str]:
    docs = yaml.safe_load_all(path.read_text())
    return [
        rule
        for doc in docs
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
        for version in doc["spec"]["versions"]
        for rule in all_rules(version["schema"]["openAPIV3Schema"])
    ]


def run() -> str:
    return section()


if __name__ == "__main__":
    print(section())  # noqa: T201 - a benchmark's report
    if "--compare" in sys.argv:
        print(compare_libraries())  # noqa: T201
