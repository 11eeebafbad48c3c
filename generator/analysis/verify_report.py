"""How a verification is shown: a text table with the PromQL, stable JSON, GitHub annotations,
and the markdown table pull-request bodies carry."""

from __future__ import annotations

import json
import math

from gitopsgen.analysis.verify import CheckResult, CheckVerdict, Verdict, Verification

SCHEMA_VERSION = 1


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "+Inf" if value > 0 else "-Inf"
    if unit == "share":
        return f"{value * 100:.2f}%"
    if unit == "seconds":
        return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.1f} ms"
    return f"{value:.2f}"


def _row(result: CheckResult) -> tuple[str, str, str, str, str]:
    check = result.check
    samples = "-" if result.samples is None else str(round(result.samples))
    return (
        check.title,
        format_value(result.value, check.unit),
        f"{check.comparison} {format_value(check.threshold, check.unit)}",
        samples,
        result.verdict,
    )


def headline(v: Verification) -> str:
    t = v.target
    via = " (measured on its shadow comparisons)" if t.via_shadow else ""
    return (
        f"verify {t.command}: candidate {t.candidate}{via} against live {t.live}, "
        f"mode {t.mode}, window {t.window}, minSamples {t.min_samples}, "
        f"selector {{{t.selector}}}, Prometheus {v.prometheus}"
    )


def report_text(v: Verification) -> str:
    header = ("check", "value", "threshold", "samples", "verdict")
    rows = [header, *(_row(r) for r in v.results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [headline(v), ""]
    lines += [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines += ["", "queries:"]
    for r in v.results:
        lines.append(f"  {r.check.title}: {r.check.query}")
        lines += [f"    samples: {q}" for q in r.check.sample_queries]
        if r.verdict is not CheckVerdict.PASSED:
            lines.append(f"    {r.verdict}: {r.reason}")
    lines += ["", f"Verdict: {v.verdict}"]
    return "\n".join(lines) + "\n"


def report_markdown(v: Verification) -> str:
    """The table a pull-request body carries."""
    lines = [
        f"`gitopsgen verify {v.target.command}`: **{v.verdict}** — candidate "
        f"{v.target.candidate} against live {v.target.live} over {v.target.window}.",
        "",
        "| check | value | threshold | samples | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += ["| " + " | ".join(_row(r)) + " |" for r in v.results]
    return "\n".join(lines) + "\n"


def report_json(v: Verification) -> str:
    return json.dumps({"schemaVersion": SCHEMA_VERSION, **v.to_json()}, indent=2) + "\n"


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def report_github(v: Verification) -> str:
    level = {CheckVerdict.FAILED: "error", CheckVerdict.INCONCLUSIVE: "warning"}
    summary_level = {Verdict.FAILED: "error", Verdict.INCONCLUSIVE: "warning"}
    env = v.target.command
    lines = []
    for r in v.results:
        title, value, threshold, samples, verdict = _row(r)
        lines.append(
            f"::{level.get(r.verdict, 'notice')} title=verify {env}: {title}::"
            + _escape(f"{verdict}: {value} (threshold {threshold}, {samples} samples); {r.reason}")
        )
    summary = summary_level.get(v.verdict, "notice")
    lines.append(f"::{summary} title=verify {env}::{_escape(headline(v))}: {v.verdict}")
    return "\n".join(lines) + "\n" + report_markdown(v)


REPORTERS = {"text": report_text, "json": report_json, "github": report_github}
