"""The CRD's `x-kubernetes-validations` CEL rules, evaluated offline as the API server would.

A rule sits at a schema node and runs with `self` bound to the value there: for every element
of an array and every value of an `additionalProperties` map, and not at all where an optional
field is absent. Rules are compiled once per rule text, lazily, for the kinds a run meets.
Transition rules (`oldSelf`) compare with the stored object: they do not apply on create and
are not run. A rule needing a function the library lacks is skipped (GG311), never passed.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitopsgen.validate.cel.budget import (
    DocumentBudget,
    RuleShape,
    estimated_cost,
    largest_collection,
    shape_of,
)
from gitopsgen.validate.cel.functions import EXTENSIONS, unsupported
from gitopsgen.validate.cel.names import Renames, apply_renames, parse_field_path, renames_for
from gitopsgen.validate.crds import CrdSchema
from gitopsgen.yamlsource import PathPart

if TYPE_CHECKING:
    import cel  # heavy: see runtime(); only for the type checker or the fallback

# The library logs each failing Python function as a warning; its error reaches us anyway.
logging.getLogger("cel").addHandler(logging.NullHandler())


@cache
def runtime() -> Any:
    """The CEL library's native module, loaded on first use. `import cel` also imports the
    package's command line (typer, rich, prompt_toolkit: about 1 s); the native module alone
    loads in about 50 ms. Falls back to the package where its layout differs."""
    if "cel" in sys.modules:
        return sys.modules["cel"]
    spec = importlib.util.find_spec("cel")
    folder = Path(next(iter(spec.submodule_search_locations or []), "")) if spec else None
    native = next(folder.glob("cel.*.so"), None) if folder else None
    native_spec = importlib.util.spec_from_file_location("cel.cel", native) if native else None
    if native_spec is None or native_spec.loader is None:
        import cel  # heavy: see runtime(); only for the type checker or the fallback

        return cel
    module = importlib.util.module_from_spec(native_spec)
    native_spec.loader.exec_module(module)
    return module


REASONS = {  # the API server's wording of each field error type
    "FieldValueInvalid": "Invalid value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
}


@dataclass(frozen=True)
class CompiledRule:
    text: str
    program: Any = None  # cel.Program; None where the rule cannot run
    skip: str = ""  # why it is not evaluated (GG311), empty when it runs
    transition: bool = False  # uses oldSelf: not applicable on create
    shape: RuleShape = RuleShape(0, 0, 0)


@dataclass(frozen=True)
class Rule:
    """One `x-kubernetes-validations` entry."""

    compiled: CompiledRule
    message: str
    message_expression: CompiledRule | None
    field_path: tuple[PathPart, ...]
    reason: str


@dataclass
class RuleNode:
    """A schema node holding rules, or leading to one; children without rules are left out."""

    rules: list[Rule] = field(default_factory=list)
    renames: Renames | None = None  # property names as CEL sees them, under this node
    properties: dict[str, RuleNode] = field(default_factory=dict)
    items: RuleNode | None = None
    values: RuleNode | None = None  # additionalProperties

    def empty(self) -> bool:
        return not (self.rules or self.properties or self.items or self.values)


@dataclass(frozen=True)
class RuleResult:
    """A failed (GG310) or skipped (GG311) rule at a path of the document."""

    id: str
    path: tuple[PathPart, ...]
    message: str
    hint: str


COMPILES: dict[str, int] = {"count": 0}  # compilations so far, for tests and benchmarks


@cache
def compile_rule(text: str) -> CompiledRule:
    shape = shape_of(text)
    refusal = shape.refusal(len(text))
    if refusal:
        return CompiledRule(_abridged(text), skip=refusal, shape=shape)
    COMPILES["count"] += 1
    try:
        program = runtime().compile(text)
    except (ValueError, RuntimeError) as exc:
        return CompiledRule(text, skip=f"cannot compile: {str(exc)[:300]}", shape=shape)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # the library's PanicException derives from BaseException
        return CompiledRule(text, skip=f"the CEL library failed on it ({type(exc).__name__})")
    if "oldSelf" in program.variables():
        return CompiledRule(text, transition=True)
    missing = unsupported(program.functions())
    if missing:
        why = f"uses {', '.join(missing)}, not in gitopsgen's CEL library"
        return CompiledRule(text, skip=why, shape=shape)
    return CompiledRule(text, program, shape=shape)


def _abridged(text: str) -> str:
    """A refused rule as messages show it: its start only."""
    return text if len(text) <= 200 else f"{text[:200]}... ({len(text):,} characters)"


@cache
def rule_tree(crd: CrdSchema) -> RuleNode | None:
    """The CRD's rules by place, built (and compiled) on first use of the kind."""
    if not crd.cel_rules:
        return None
    node = _build(crd.openapi, {})
    return None if node.empty() else node


def _build(schema: Any, memo: dict[int, Renames | None]) -> RuleNode:
    node = RuleNode()
    if not isinstance(schema, dict):
        return node
    node.rules = [_rule(entry) for entry in schema.get("x-kubernetes-validations") or []]
    if node.rules:
        node.renames = renames_for(schema, memo)
    for name, sub in (schema.get("properties") or {}).items():
        child = _build(sub, memo)
        if not child.empty():
            node.properties[name] = child
    for key in ("items", "additionalProperties"):
        child = _build(schema.get(key), memo)
        if not child.empty():
            setattr(node, "items" if key == "items" else "values", child)
    return node


def _rule(entry: dict[str, Any]) -> Rule:
    expression = entry.get("messageExpression")
    return Rule(
        compiled=compile_rule(str(entry.get("rule", ""))),
        message=str(entry.get("message") or ""),
        message_expression=compile_rule(str(expression)) if expression else None,
        field_path=parse_field_path(str(entry.get("fieldPath") or "")),
        reason=str(entry.get("reason") or "FieldValueInvalid"),
    )


def check_rules(crd: CrdSchema, data: Any) -> list[RuleResult]:
    """Every rule of the CRD on a prepared document (nulls pruned, defaults applied)."""
    tree = rule_tree(crd)
    budget = DocumentBudget(time.monotonic())
    return [] if tree is None else list(_walk(tree, data, (), budget))


def _walk(
    node: RuleNode, value: Any, path: tuple[PathPart, ...], budget: DocumentBudget
) -> Iterator[RuleResult]:
    if node.rules:  # `self` converted to CEL once per node, for all of its rules
        context = bind_self(apply_renames(value, node.renames))
        sizes: dict[bool, int] = {}  # the largest collection in `self`, measured when needed
    for rule in node.rules:
        shape = rule.compiled.shape
        if shape.comprehensions and shape.splits not in sizes:
            sizes[shape.splits] = largest_collection(value, shape.splits)
        cost = estimated_cost(shape, sizes.get(shape.splits, 1))
        result = _evaluate(rule, context, path, budget.refusal(cost, time.monotonic()))
        if result is not None:
            yield result
    if isinstance(value, dict):
        for name, child in node.properties.items():
            if name in value:
                yield from _walk(child, value[name], (*path, name), budget)
        if node.values is not None:
            for key in [k for k in value if k not in node.properties]:
                yield from _walk(node.values, value[key], (*path, key), budget)
    elif isinstance(value, list) and node.items is not None:
        for index, item in enumerate(value):
            yield from _walk(node.items, item, (*path, index), budget)


def _evaluate(
    rule: Rule, context: cel.Context, path: tuple[PathPart, ...], over_budget: str
) -> RuleResult | None:
    compiled = rule.compiled
    if compiled.transition:
        return None
    if compiled.skip:
        return _skipped(path, compiled.skip, compiled.text)
    if over_budget:
        return _skipped(path, over_budget, compiled.text)
    try:
        outcome = compiled.program.execute(context)
    except RuntimeError as exc:
        if "Undefined variable or function" in str(exc):
            return _skipped(path, str(exc), compiled.text)
        return _error(rule, path, exc)
    except (KeyError, TypeError, ValueError, ArithmeticError, IndexError) as exc:
        return _error(rule, path, exc)
    if outcome is True:
        return None
    target = (*path, *rule.field_path)
    return RuleResult("GG310", target, _with_reason(rule, _message(rule, context)), compiled.text)


def _skipped(path: tuple[PathPart, ...], why: str, text: str) -> RuleResult:
    """Not evaluated: the rule's text is in the message (text reports show no hint for skips)."""
    return RuleResult("GG311", path, f"CEL rule not evaluated ({why}): {text}", text)


def _error(rule: Rule, path: tuple[PathPart, ...], exc: Exception) -> RuleResult:
    detail = f"no such key: {exc.args[0]}" if isinstance(exc, KeyError) else str(exc)
    text = f"{detail} evaluating rule: {rule.message or rule.compiled.text}"
    return RuleResult("GG310", path, _with_reason(rule, text), rule.compiled.text)


def _message(rule: Rule, context: cel.Context) -> str:
    expression = rule.message_expression
    if expression is not None and expression.program is not None:
        try:
            text = expression.program.execute(context)
        except (RuntimeError, KeyError, TypeError, ValueError, ArithmeticError, IndexError):
            text = None
        if isinstance(text, str) and text.strip():
            return text
    return rule.message or f"failed rule: {rule.compiled.text}"


def _with_reason(rule: Rule, message: str) -> str:
    wording = REASONS.get(rule.reason, REASONS["FieldValueInvalid"])
    return message if wording == REASONS["FieldValueInvalid"] else f"{wording}: {message}"


def bind_self(value: Any) -> cel.Context:
    """`self` and the extension functions, for the rules of one schema node."""
    context: cel.Context = runtime().Context(variables={"self": value}, functions=EXTENSIONS)
    return context


def evaluate_expression(text: str, value: Any = None) -> Any:
    """One expression with `self` bound, through the same library and extensions as the rules."""
    compiled = compile_rule(text)
    if compiled.program is None:
        raise ValueError(compiled.skip or "transition rules need oldSelf")
    return compiled.program.execute(bind_self(value))
