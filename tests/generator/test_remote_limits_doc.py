"""docs/remote-limits.md states the code's own limits: each number in its tables is the
constant it names."""

from __future__ import annotations

from gitopsgen import remote
from gitopsgen.analysis import prometheus
from gitopsgen.live import api
from gitopsgen.validate import crd_fetch, crds
from gitopsgen.validate.cel import budget
from tests.support import REPO

DOC = (REPO / "docs/remote-limits.md").read_text()


def row(words: str) -> str:
    (line,) = [ln for ln in DOC.splitlines() if ln.startswith(f"| {words}")]
    return line


def test_the_tables_state_the_constants() -> None:
    assert f"{prometheus.QUERY_TIMEOUT:g} s in total" in row("one Prometheus query")
    assert f"{prometheus.MAX_ANSWER_BYTES:,} bytes" in row("one Prometheus answer")
    assert f"{api.MAX_ANSWER_BYTES:,} bytes" in row("one Kubernetes API answer")
    download = row("one CRD download")
    assert f"{crd_fetch.FETCH_TIMEOUT:g} s in total, {crds.MAX_CRD_BYTES:,} bytes" in download
    assert f"{remote.MAX_REDIRECTS}, on the same origin" in row("redirects")
    assert f"{crds.MAX_CRD_BYTES:,} bytes" in row("a CRD file read by")
    assert f"{crds.MAX_SCHEMA_DEPTH} levels" in row("nesting of an")
    assert f"{budget.MAX_RULE_CHARS:,} characters" in row("a rule's length")
    assert f"| {budget.MAX_NESTING} (" in row("a rule's bracket nesting")
    assert f"{budget.PER_CALL_COST:,} (" in row("one evaluation's estimated cost")
    everything = row("all rules of one document")
    assert f"cost {budget.DOCUMENT_COST:,}" in everything
    assert f"{budget.DOCUMENT_SECONDS:g} s" in everything


def test_the_readme_links_the_page() -> None:
    assert "(docs/remote-limits.md)" in (REPO / "README.md").read_text()
