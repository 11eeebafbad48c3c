"""Judge a candidate alias on real traffic: PromQL over the serving app's own metrics, one check
per threshold, and an overall verdict. Pure apart from the `query` function it is given."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gitopsgen.errors import ExitCode
from gitopsgen.spec.model import Environment

Query = Callable[[str], float | None]


class Verdict(StrEnum):
    """The overall verdict; its value is what JSON, PR bodies and Argo Rollouts' wording show."""

    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"

    @property
    def exit_code(self) -> ExitCode:
        return {
            Verdict.SUCCESSFUL: ExitCode.OK,
            Verdict.FAILED: ExitCode.FINDING,
            Verdict.INCONCLUSIVE: ExitCode.INCONCLUSIVE,
        }[self]


class CheckVerdict(StrEnum):
    """One check's verdict."""

    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Target:
    """Who is judged against whom, and how each one's traffic is measured."""

    environment: str
    mode: str
    candidate: str
    live: str  # the baseline the latency ratio compares with
    via_shadow: bool  # the candidate serves nothing: judged on its shadow predictions
    baseline_via_shadow: bool
    shadow: str | None  # the shadow alias when it compares the candidate with the baseline
    selector: str
    window: str
    min_samples: int
    service: str | None = None  # the services form: whose series the selector picks

    @property
    def command(self) -> str:
        """The arguments that name it on the command line: `prod`, `prod --service fraud`."""
        return self.environment + (f" --service {self.service}" if self.service else "")


def other(alias: str) -> str:
    return "B" if alias == "A" else "A"


def target_of(env: Environment, window: str | None = None, candidate: str | None = None) -> Target:
    """By default the candidate is the alias not serving all traffic: B in canary and ab_test
    (it takes the canary or the smaller share); in blue_green the shadow alias, or else the other
    alias. `candidate` names it instead, e.g. the live alias of blue_green right after a switch,
    judged against the alias it replaced."""
    serving = env.serving
    shadow = serving.shadow_alias
    if serving.mode != "blue_green":
        chosen, baseline = candidate or "B", "A"
        if chosen == "A":
            baseline = "B"
    else:
        live = serving.default_alias
        default = shadow if shadow not in (None, live) else other(live)
        chosen = candidate or str(default)
        baseline = live if chosen != live else other(live)
    bg = serving.mode == "blue_green"
    return Target(
        environment=env.name,
        mode=serving.mode,
        candidate=chosen,
        live=baseline,
        via_shadow=bg and chosen != serving.default_alias and shadow == chosen,
        baseline_via_shadow=bg and baseline != serving.default_alias and shadow == baseline,
        shadow=shadow if shadow in (chosen, baseline) else None,
        selector=env.analysis.selector,
        window=window or env.analysis.window,
        min_samples=env.analysis.min_samples,
        service=env.service,
    )


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    threshold: float
    comparison: str  # "<=" or ">="
    unit: str  # "share", "seconds" or "ratio"
    query: str
    sample_queries: tuple[str, ...]  # the check's samples are the least of these


@dataclass(frozen=True)
class CheckResult:
    check: Check
    value: float | None
    samples: float | None
    verdict: CheckVerdict
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.check.name,
            "title": self.check.title,
            "value": json_number(self.value),
            "comparison": self.check.comparison,
            "threshold": self.check.threshold,
            "unit": self.check.unit,
            "samples": None if self.samples is None else round(self.samples),
            "verdict": self.verdict,
            "reason": self.reason,
            "query": self.check.query,
            "sampleQueries": list(self.check.sample_queries),
        }


def json_number(value: float | None) -> float | str | None:
    if value is None:
        return None
    return value if math.isfinite(value) else ("+Inf" if value > 0 else "-Inf")


def _sum_increase(metric: str, selector: str, window: str) -> str:
    return f"sum(increase({metric}{{{selector}}}[{window}]))"


def _p99(metric: str, selector: str, window: str) -> str:
    return f"histogram_quantile(0.99, sum by (le) (rate({metric}_bucket{{{selector}}}[{window}])))"


def _share(metric: str, part: str, whole: str, window: str) -> str:
    return (
        f"(sum(increase({metric}{{{part}}}[{window}])) or vector(0)) / "
        f"sum(increase({metric}{{{whole}}}[{window}]))"
    )


def _measured(alias: str, via_shadow: bool, selector: str) -> tuple[str, str, str, str]:
    """(requests metric, its selector, the error selector, latency metric) of one alias."""
    if via_shadow:
        sel = f'{selector},shadow="{alias}"'
        return (
            "model_shadow_requests_total",
            sel,
            f'{sel},agreement="error"',
            ("model_shadow_latency_seconds"),
        )
    sel = f'{selector},variant="{alias}"'
    return "model_requests_total", sel, f'{sel},status=~"5.."', "model_request_latency_seconds"


def build_checks(target: Target, analysis: Any) -> list[Check]:
    """The PromQL of each check, over the app's metrics (see apps/fastapi/README.md)."""
    s, w, c, live = target.selector, target.window, target.candidate, target.live
    requests, sel, errors, latency = _measured(c, target.via_shadow, s)
    _, live_sel, _, live_latency = _measured(live, target.baseline_via_shadow, s)
    shadow = target.shadow or c
    served = other(shadow)
    compared = f'{s},shadow="{shadow}",served="{served}",agreement=~"true|false"'
    agreed = f'{s},shadow="{shadow}",served="{served}",agreement="true"'
    return [
        Check(
            "errorRate",
            "error rate",
            analysis.max_error_rate,
            "<=",
            "share",
            _share(requests, errors, sel, w),
            (_sum_increase(requests, sel, w),),
        ),
        Check(
            "p99",
            "p99 latency",
            analysis.max_p99_seconds,
            "<=",
            "seconds",
            _p99(latency, sel, w),
            (_sum_increase(f"{latency}_count", sel, w),),
        ),
        Check(
            "latencyRatio",
            f"p99 {c} / p99 {live}",
            analysis.max_latency_ratio,
            "<=",
            "ratio",
            f"{_p99(latency, sel, w)} / {_p99(live_latency, live_sel, w)}",
            (
                _sum_increase(f"{latency}_count", sel, w),
                _sum_increase(f"{live_latency}_count", live_sel, w),
            ),
        ),
        Check(
            "shadowAgreement",
            "shadow agreement",
            analysis.min_shadow_agreement,
            ">=",
            "share",
            _share("model_shadow_requests_total", agreed, compared, w),
            (_sum_increase("model_shadow_requests_total", compared, w),),
        ),
    ]


# What each unit can be. A share is a part of a whole; a latency or a ratio of latencies is never
# negative. p99 +Inf is real (the quantile lies in the +Inf bucket: beyond every threshold), so
# is a ratio of +Inf; -Inf, negatives and shares past 1 come only from a wrong query or broken
# metrics (a counter reset mid-window, a hand-made series), and decide nothing.
POSSIBLE = {"share": (0.0, 1.0), "seconds": (0.0, math.inf), "ratio": (0.0, math.inf)}


def impossible(value: float, unit: str) -> bool:
    low, high = POSSIBLE[unit]
    return not low <= value <= high


def judge(check: Check, value: float | None, samples: float | None, minimum: int) -> CheckResult:
    """A check's verdict. An impossible value or sample count is Inconclusive, naming the
    query, never passed: a canary must not step forward on it."""
    if samples is not None and (math.isinf(samples) or samples < 0):
        shown = json_number(samples)
        return CheckResult(
            check,
            value,
            None,
            CheckVerdict.INCONCLUSIVE,
            f"an impossible sample count ({shown}) from {' / '.join(check.sample_queries)}",
        )
    if samples is None or samples < minimum:
        seen = 0 if samples is None else round(samples)
        return CheckResult(
            check,
            value,
            samples,
            CheckVerdict.INCONCLUSIVE,
            f"{seen} samples, fewer than {minimum}",
        )
    if value is None:
        return CheckResult(
            check, value, samples, CheckVerdict.INCONCLUSIVE, "no data in the window"
        )
    if impossible(value, check.unit):
        low, high = POSSIBLE[check.unit]
        return CheckResult(
            check,
            value,
            samples,
            CheckVerdict.INCONCLUSIVE,
            f"an impossible {check.unit} ({json_number(value)}; possible: {low:g} to "
            f"{high:g}) from {check.query}",
        )
    ok = value <= check.threshold if check.comparison == "<=" else value >= check.threshold
    return CheckResult(
        check,
        value,
        samples,
        CheckVerdict.PASSED if ok else CheckVerdict.FAILED,
        "within the threshold" if ok else "beyond the threshold",
    )


@dataclass(frozen=True)
class Verification:
    target: Target
    prometheus: str
    results: tuple[CheckResult, ...]

    @property
    def verdict(self) -> Verdict:
        verdicts = {r.verdict for r in self.results}
        if CheckVerdict.FAILED in verdicts:
            return Verdict.FAILED
        if CheckVerdict.INCONCLUSIVE in verdicts or CheckVerdict.PASSED not in verdicts:
            return Verdict.INCONCLUSIVE
        return Verdict.SUCCESSFUL

    @property
    def exit_code(self) -> ExitCode:
        return self.verdict.exit_code

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.verdict == CheckVerdict.FAILED]

    def to_json(self) -> dict[str, Any]:
        t = self.target
        service = {"service": t.service} if t.service else {}  # fields are only ever added
        return {
            "environment": t.environment,
            **service,
            "verdict": self.verdict,
            "mode": t.mode,
            "candidate": t.candidate,
            "live": t.live,
            "shadow": t.shadow,
            "measuredVia": "shadow" if t.via_shadow else "requests",
            "prometheus": self.prometheus,
            "selector": t.selector,
            "window": t.window,
            "minSamples": t.min_samples,
            "checks": [r.to_json() for r in self.results],
        }


def verify(
    env: Environment,
    prometheus: str,
    query: Query,
    window: str | None = None,
    candidate: str | None = None,
) -> Verification:
    """Run every check of `env`'s candidate through `query`; the result carries the verdict."""
    target = target_of(env, window, candidate)
    results = []
    for check in build_checks(target, env.analysis):
        if check.name == "shadowAgreement" and target.shadow is None:
            reason = f"no shadow comparison: serving.shadowAlias is neither {target.candidate} nor {target.live}"
            results.append(CheckResult(check, None, None, CheckVerdict.SKIPPED, reason))
            continue
        # no series: nothing was counted in the window
        samples = min(query(q) or 0.0 for q in check.sample_queries)
        results.append(judge(check, query(check.query), samples, target.min_samples))
    return Verification(target, prometheus, tuple(results))
