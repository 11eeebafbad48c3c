"""The docs against the code: the README stays short and points into docs/, every page is in
the index, every link and anchor resolves, every path named exists, the CLI reference names
every command and option, and the layout names every package. (The exit codes, the finding
ids and the example outputs have their own tests: test_cli, test_policies, test_docs_examples.)"""

from __future__ import annotations

import re
from pathlib import Path

import click

from gitopsgen.cli import cli
from tests.docs_support import DOC_PAGES
from tests.support import REPO

DOCS = REPO / "docs"
CLI_REFERENCE = DOCS / "cli.md"
# Paths the docs name on purpose although they do not exist: an attacker's file.
HYPOTHETICAL = {"applicationsets/zz-team.yaml"}
PATH_ROOTS = (
    "generator/",
    "tests/",
    "apps/",
    "docs/",
    "bench/",
    ".github/",
    "environments/",
    "bootstrap/",
    "applicationsets/",
    "metallb/",
)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_CODE = re.compile(r"`([^`\s]+)`")


def _prose(page: Path) -> list[str]:
    """The page's lines outside fenced blocks (a PR body shown in a fence has its own headings)."""
    lines, fence = [], ""
    for line in page.read_text().splitlines():
        stripped = line.strip()
        opening = re.match(r"^(`{3,}|~{3,})", stripped)
        if fence:
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = ""
        elif opening:
            fence = opening[1]
        else:
            lines.append(line)
    return lines


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for line in _prose(page):
        heading = re.match(r"^#{1,6} (.+)$", line)
        if heading:
            slug = _slug(heading[1])
            count = sum(1 for a in found if a == slug or re.fullmatch(rf"{re.escape(slug)}-\d+", a))
            found.add(f"{slug}-{count}" if count else slug)
    return found


def test_the_readme_is_short_and_points_into_the_docs() -> None:
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    assert "make render" in readme and "make test" in readme
    assert "](docs/README.md)" in readme


def test_every_docs_page_is_in_the_index() -> None:
    index = (DOCS / "README.md").read_text()
    pages = sorted(p.name for p in DOCS.glob("*.md") if p.name != "README.md")
    assert [p for p in pages if f"]({p})" not in index] == [], "add a row to docs/README.md"


def test_every_link_and_anchor_resolves() -> None:
    broken = []
    for page in DOC_PAGES:
        for line in _prose(page):
            for target in _LINK.findall(line):
                if re.match(r"^[a-z]+:", target):
                    continue  # http(s), mailto: not checked offline
                file_part, _, anchor = target.partition("#")
                linked = (page.parent / file_part).resolve() if file_part else page
                if not linked.exists():
                    broken.append(f"{page.relative_to(REPO)}: {target} (no such file)")
                elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                    broken.append(f"{page.relative_to(REPO)}: {target} (no such heading)")
    assert broken == []


def test_every_path_the_docs_name_exists() -> None:
    missing = []
    for page in DOC_PAGES:
        for line in _prose(page):
            for token in _CODE.findall(line):
                path = token.rstrip(".,:;")
                if not path.startswith(PATH_ROOTS) or re.search(r"[<>{}*]|\.\.\.", path):
                    continue
                if path not in HYPOTHETICAL and not (REPO / path).exists():
                    missing.append(f"{page.relative_to(REPO)}: {path}")
    assert missing == []


def _commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(_commands(command, f"{prefix}{name} "))
        else:
            found[f"{prefix}{name}"] = command
    return found


def _rows(first_cell_prefix: str) -> list[str]:
    return [
        line
        for line in CLI_REFERENCE.read_text().splitlines()
        if line.startswith(f"| `{first_cell_prefix}")
    ]


def test_the_cli_reference_names_every_command_and_option() -> None:
    """docs/cli.md has a row per command naming each of its options (the shared ones are in
    their own tables), and no row for a command that does not exist."""
    shared = " ".join(_rows("--"))
    commands = _commands(cli)
    missing = []
    for name, command in commands.items():
        own = re.compile(rf"^\| `gitopsgen {re.escape(name)}[ `]")
        rows = " ".join(r for r in _rows(f"gitopsgen {name}") if own.match(r))
        if not rows:
            missing.append(f"gitopsgen {name}: no row")
            continue
        for param in command.params:
            if not isinstance(param, click.Option) or param.name == "help":
                continue
            flag = next((o for o in param.opts if o.startswith("--")), param.opts[0])
            if f"`{flag} " not in shared and f"`{flag}`" not in shared and flag not in rows:
                missing.append(f"gitopsgen {name} {flag}")
    assert missing == [], "add them to docs/cli.md"
    documented = {
        m for row in _rows("gitopsgen ") for m in re.findall(r"^\| `gitopsgen ([a-z ]+?)[ `]", row)
    }
    assert documented <= set(commands) | {c.split()[0] for c in commands}
    assert "--version" in CLI_REFERENCE.read_text()


def test_the_layout_names_every_module_and_package() -> None:
    layout = (DOCS / "contributing.md").read_text().split("## The layout", 1)[1]
    layout = layout.split("\n## ", 1)[0]
    named = {cell for row in re.findall(r"^\| (.+?) \|", layout, re.M) for cell in row.split(", ")}
    package = REPO / "generator"
    parts = {f"`{p.name}`" for p in package.glob("*.py") if not p.name.startswith("__")}
    parts |= {f"`{p.parent.name}/`" for p in package.glob("*/__init__.py")}
    assert sorted(parts - named) == [], "add them to the layout table of docs/contributing.md"
