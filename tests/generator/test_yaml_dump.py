"""Rendered values are dumped by libyaml's emitter (7x faster than PyYAML's own on 1,000 values
files): its bytes must be those of PyYAML's pure-Python emitter, which rendered them before."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gitopsgen.render.jinja import to_yaml
from tests.support import REPO

TRICKY = [
    "", "yes", "no", "null", "~", "1.0", "012", "0x1f", "1e3", ".inf", "a: b", "- x", "#c",
    "x #c", "'q'", '"d"', "multi\nline", "trail ", " lead", "tab\there", "é ünï", "\u2028sep",
    "\x85nel", "a" * 1500, "{{ .env }}", "*alias", "&anchor", "!tag", "%dir", "@at", "`bt",
    "-", "?", ":", "a\r\nb",
]  # fmt: skip


class _PurePython(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # noqa: ARG002 - as the renderer's dumper
        return True


def _pure(value: Any) -> str:
    text = yaml.dump(
        value, Dumper=_PurePython, default_flow_style=False, sort_keys=False, width=1000
    )
    return text.rstrip("\n")


def _golden_values() -> list[Any]:
    files = sorted(
        (REPO / "tests/generator/golden").glob("*/expected/apps/fastapi/values/**/*.yaml")
    )
    assert len(files) >= 10
    return [{k: v} for f in files for k, v in yaml.safe_load(f.read_text()).items()]


@pytest.mark.parametrize("value", TRICKY, ids=range(len(TRICKY)))
def test_a_tricky_string_dumps_as_the_pure_python_emitter_does(value: str) -> None:
    for document in ({"env": {"KEY": value}}, {"list": [value, {"name": value}]}):
        assert to_yaml(document) == _pure(document)


def test_every_golden_values_block_dumps_as_before() -> None:
    for block in _golden_values():
        assert to_yaml(block) == _pure(block)
