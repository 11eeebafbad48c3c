"""The fenced blocks of the docs and the markers before them, for the tests that keep every
example output in the docs equal to what the tool prints.

A block shown as the tool's output is marked by an HTML comment on the line just above its
fence, `<!-- example: ID -->`; the test that produces it names the same ID. A spec shown as
input is marked `<!-- input: spec -->` (a whole spec) or `<!-- input: spec fragment -->` /
`<!-- input: environment ENV -->` (keys merged into the spec, or into one environment, of the
frozen copy); the tests load it. Only `sh` blocks (commands to type) may go unmarked."""

from __future__ import annotations

import fcntl
import re
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO

# The pages whose fenced blocks the tests check: README, docs/, the serving app's README.
DOC_PAGES = (
    REPO / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
    REPO / "apps/fastapi/README.md",
)
UNMARKED_LANGUAGES = frozenset({"sh"})

_OPEN = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[\w-]*)\s*$")
_MARKER = re.compile(r"^<!-- (?P<kind>example|input): (?P<name>[^>]+?) -->$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    info: str  # the fence's language, "" when none
    indent: str  # the fence's indentation (inside a list item), taken off the body's lines
    body: str  # the text between the fences, each line ending in a newline
    kind: str | None  # "example" or "input" when marked
    name: str | None  # the marker's ID (an example) or what it is (an input)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def fenced_blocks(page: Path) -> list[Block]:
    """Every fenced block of `page` (a fence closes on the same character, at least as long,
    so a ```` block may hold ``` fences) with the marker on the line above it, if any."""
    lines = page.read_text().splitlines(keepends=True)
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opened = _OPEN.match(lines[index].rstrip("\n"))
        if opened is None:
            index += 1
            continue
        fence = opened["fence"]
        end = index + 1
        indent = opened["indent"]
        while end < len(lines) and not _closes(lines[end], indent + fence):
            end += 1
        if end == len(lines):
            raise AssertionError(f"{page.relative_to(REPO)}:{index + 1}: a fence never closed")
        marker = _MARKER.match(lines[index - 1].strip()) if index else None
        blocks.append(
            Block(
                page=page,
                line=index + 1,
                info=opened["info"],
                indent=indent,
                body="".join(_dedent(line, indent) for line in lines[index + 1 : end]),
                kind=marker["kind"] if marker else None,
                name=marker["name"] if marker else None,
            )
        )
        index = end + 1
    return blocks


def _closes(line: str, fence: str) -> bool:
    text = line.rstrip("\n")
    return text.startswith(fence) and set(text.strip()) == {fence.strip()[0]}


def _dedent(line: str, indent: str) -> str:
    return line[len(indent) :] if line.startswith(indent) else line.lstrip(" ")


def all_blocks() -> list[Block]:
    return [block for page in DOC_PAGES for block in fenced_blocks(page)]


def examples() -> dict[str, Block]:
    """The marked example outputs of every page, by ID (an ID shown twice is an error)."""
    found: dict[str, Block] = {}
    for block in all_blocks():
        if block.kind != "example" or block.name is None:
            continue
        if block.name in found:
            raise AssertionError(
                f"example {block.name!r} is shown twice: {found[block.name].where}, {block.where}"
            )
        found[block.name] = block
    return found


def example(name: str) -> str:
    """The text of the example block `name`, as the docs show it."""
    return examples()[name].body


def replace_example(name: str, text: str) -> None:
    """Write `text` as the body of example `name` (refreshing the docs after an intended change
    of the output, as `make golden` does for golden files)."""
    page = examples()[name].page
    with page.open("r+") as held:  # the suite runs across processes: one writer at a time
        fcntl.flock(held, fcntl.LOCK_EX)
        block = next(b for b in fenced_blocks(page) if b.kind == "example" and b.name == name)
        lines = page.read_text().splitlines(keepends=True)
        shown = [block.indent + line if line.strip() else line for line in text.splitlines(True)]
        lines[block.line : block.line + block.body.count("\n")] = shown
        page.write_text("".join(lines))
