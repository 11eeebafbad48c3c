"""The example outputs in the docs pages of issue 26 come from the tool: each test runs the
example and compares with the page's block, byte for byte."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import REPO, SPEC, Invoke

PROD_POOL = "    metallb: {pool: prod-pool, addresses: [10.10.100.10-10.10.100.30]}\n"


def fenced_blocks(page: str) -> list[str]:
    """The fenced code blocks of a docs page, in order, without their fences."""
    text = (REPO / "docs" / page).read_text()
    return re.findall(r"^```[a-z]*\n(.*?)^```$", text, re.M | re.S)


def test_helm_values_example_is_the_tools_output(tmp_repo: Path, run_cli: Invoke) -> None:
    values, output = fenced_blocks("helm-values.md")
    spec = tmp_repo / SPEC
    spec.write_text(spec.read_text().replace(PROD_POOL, PROD_POOL + values))
    result = run_cli("render", "--root", tmp_repo, expect=1)
    assert result.stderr == output
