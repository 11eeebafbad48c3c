"""GG170-GG174 over hand-edited copies of the hydrated golden render: each edit breaks one of
GitOps Promoter's documented rules and its finding names the file; the render as is passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitopsgen.validate.policies.promoter import check_promoter
from gitopsgen.yamlsource import load_documents

EXPECTED = Path(__file__).parent / "golden/hydrated/expected"
APPSET = "applicationsets/fastapi.yaml"
METALLB_APPSET = "applicationsets/metallb.yaml"
PROMOTER = "promoter/promoter.yaml"


def ids(edits: dict[str, tuple[str, str, int]]) -> list[str]:
    files = []
    for rel in (APPSET, METALLB_APPSET, PROMOTER):
        text = (EXPECTED / rel).read_text()
        if rel in edits:
            old, new, count = edits[rel]
            assert old in text, (rel, old)
            text = text.replace(old, new, count)
        files.append((rel, load_documents(text)[0]))
    return sorted({f.id for f in check_promoter(files)})


def test_the_rendered_documents_pass() -> None:
    assert ids({}) == []


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        # one environment of the strategy promotes a path of dev's branch, the others the whole
        (
            {
                PROMOTER: (
                    "  - branch: environment/dev\n",
                    "  - branch: environment/dev\n    activePath: fastapi\n",
                    1,
                )
            },
            ["GG170"],
        ),
        # MetalLB's Applications sync a folder inside fastapi's
        ({METALLB_APPSET: ('path: "metallb"', 'path: "fastapi/metallb"', 3)}, ["GG171"]),
        # fastapi's commit status selects every Application of the project: MetalLB's get two keys
        ({PROMOTER: ("      gitopsgen.io/service: fastapi\n", "", 1)}, ["GG172"]),
        # both Applications of each branch sync one path
        ({METALLB_APPSET: ('path: "metallb"', 'path: "fastapi"', 3)}, ["GG174"]),
    ],
    ids=["GG170", "GG171", "GG172", "GG174"],
)
def test_each_broken_rule_is_found(
    edits: dict[str, tuple[str, str, int]], expected: list[str]
) -> None:
    assert ids(edits) == expected


def test_a_strategy_path_no_application_syncs() -> None:
    strategy_path = "    name: mlops-serving\n  activeCommitStatuses:"
    found = ids(
        {
            PROMOTER: (
                strategy_path,
                "    name: mlops-serving\n  activePath: models\n  activeCommitStatuses:",
                1,
            )
        }
    )
    # activePath on the strategy promotes `models` on every branch: nothing syncs it (GG173), and
    # the Applications' own paths are not promoted (GG170)
    assert found == ["GG170", "GG173"]
