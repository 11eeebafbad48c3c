"""Limits on crafted CEL rules, checked before the CEL library sees them.

The Rust library answers some inputs with a panic, not an error (100,000 nested parentheses:
a PanicException with a Rust backtrace on stderr, where its parser fails to format its own
message past column 65,535), and it has neither a cost limit nor a deadline (it holds the
GIL while it runs, so no thread can stop it: a triple `all` over 400 items took 44 s). So:

- size and nesting are bounded before compiling: MAX_RULE_CHARS (12x the longest rule of the
  pinned CRDs, 800) and MAX_NESTING brackets (the pinned CRDs nest 6; the library's own parser
  gives up near 100);
- each evaluation's cost is estimated before it runs, the way the API server estimates a rule
  against the schema's maxItems, here against the value itself: the rule's tokens times the
  largest collection or string in `self` to the power of the nesting of comprehension macros.
  Over PER_CALL_COST (the API server's per-call limit, 1,000,000) the rule is not run; a
  document's rules share DOCUMENT_COST (the API server's runtime budget, 10,000,000);
- a document's rules also share a wall-clock deadline, DOCUMENT_SECONDS, as a last resort.

Measured on this machine: 100^3 iterations of `all` (15 tokens, cost 15,000,000) ran 2.0 s;
1,000,000 cost units run in about 0.15 s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_RULE_CHARS = 10_000
MAX_NESTING = 32
PER_CALL_COST = 1_000_000
DOCUMENT_COST = 10_000_000
DOCUMENT_SECONDS = 10.0
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_TOKEN = re.compile(r"\w+|[^\w\s]")
_OPEN, _CLOSE = "([{", ")]}"


@dataclass(frozen=True)
class RuleShape:
    tokens: int
    nesting: int  # brackets open at once, at most
    comprehensions: int  # comprehension macros open at once, at most
    splits: bool = False  # calls split or findAll: a string's length counts as a list's

    def refusal(self, chars: int) -> str:
        """Why the rule is not compiled, or ""."""
        if chars > MAX_RULE_CHARS:
            return f"the rule is {chars:,} characters long, over gitopsgen's {MAX_RULE_CHARS:,}"
        if self.nesting > MAX_NESTING:
            return f"the rule nests {self.nesting} brackets deep, over gitopsgen's {MAX_NESTING}"
        return ""


def shape_of(text: str) -> RuleShape:
    """Tokens and nesting of a rule's text, string literals skipped (one pass, no recursion)."""
    depth = deepest = open_macros = most_macros = 0
    macro_at: list[bool] = []  # per open bracket: whether it opened a macro call
    i, quote = 0, ""
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif text.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
        elif char in "'\"":
            quote = char * 3 if text.startswith(char * 3, i) else char
            i += len(quote) - 1
        elif char in _OPEN:
            is_macro = char == "(" and _macro_before(text, i)
            macro_at.append(is_macro)
            depth += 1
            open_macros += is_macro
            deepest, most_macros = max(deepest, depth), max(most_macros, open_macros)
        elif char in _CLOSE and macro_at:
            open_macros -= macro_at.pop()
            depth -= 1
        i += 1
    tokens = _TOKEN.findall(text)
    splits = "split" in tokens or "findAll" in tokens
    return RuleShape(len(tokens), deepest, most_macros, splits)


def _macro_before(text: str, paren: int) -> bool:
    """True when `.all(`, `.exists(`, ... opens at `paren`."""
    start = paren
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return text[start:paren] in MACROS and start > 0 and text[start - 1] == "."


def largest_collection(value: Any, strings: bool) -> int:
    """The length of the largest list or map anywhere in `value`, and of the largest string
    where `strings` (a rule that can make lists of them, by split or findAll); iterative."""
    largest, stack = 1, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            largest = max(largest, len(item))
            stack.extend(item.values())
        elif isinstance(item, list):
            largest = max(largest, len(item))
            stack.extend(item)
        elif strings and isinstance(item, str | bytes):
            largest = max(largest, len(item))
    return largest


def estimated_cost(shape: RuleShape, largest: int) -> int:
    return int(shape.tokens * largest**shape.comprehensions)


class DocumentBudget:
    """What the rules of one document may still spend: estimated cost and wall-clock time."""

    def __init__(self, now: float) -> None:
        self.cost = DOCUMENT_COST
        self.deadline = now + DOCUMENT_SECONDS

    def refusal(self, cost: int, now: float) -> str:
        """Why a rule of this estimated cost is not run now, or "" (and the cost is spent)."""
        if cost > PER_CALL_COST:
            return f"estimated cost {cost:,}, over the per-call limit of {PER_CALL_COST:,}"
        if cost > self.cost:
            return f"the document's CEL cost budget of {DOCUMENT_COST:,} is spent"
        if now > self.deadline:
            return f"the document's CEL time budget of {DOCUMENT_SECONDS:g} s is spent"
        self.cost -= cost
        return ""
