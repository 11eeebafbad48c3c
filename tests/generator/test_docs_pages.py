"""The examples of the docs pages of issue 26 (docs/helm-values.md, docs/limits.md) come from
the tool: each test runs the example and compares with the page's block, byte for byte
(listed in test_docs_examples.TESTED_ELSEWHERE)."""

from __future__ import annotations

from pathlib import Path

from tests.docs_support import example
from tests.support import SPEC, Invoke

PROD_POOL = "    metallb: {pool: prod-pool, addresses: [10.10.100.10-10.10.100.30]}\n"
REFUSED_FRAGMENT = (
    "    helmValues:\n"
    "      replicaCount: 0\n"
    "      ingress:\n"
    "        annotations:\n"
    "          nginx.ingress.kubernetes.io/whitelist-source-range: 0.0.0.0/0\n"
    "          nginx.ingress.kubernetes.io/proxy-body-size: 8m\n"
)


def test_helm_values_example_is_the_tools_output(tmp_repo: Path, run_cli: Invoke) -> None:
    assert example("helm-values-fragment") == REFUSED_FRAGMENT  # docs/helm-values.md
    spec = tmp_repo / SPEC
    spec.write_text(spec.read_text().replace(PROD_POOL, PROD_POOL + REFUSED_FRAGMENT))
    result = run_cli("render", "--root", tmp_repo, expect=1)
    assert result.stderr == example("helm-values-refused")
