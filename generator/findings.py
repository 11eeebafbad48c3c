"""Findings: what a check says about a place in a file. Shared by every stage.

`REGISTRY` is the one list of finding ids, with their severity and what each checks; the tables of
docs/validation.md are tested against it. `build_finding` is the one way to make a finding."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    SKIPPED = "skipped"


@dataclass(frozen=True, order=True)
class Finding:
    """One problem (or skip) at one place. `file` is relative to the repository root."""

    file: str
    line: int
    column: int
    id: str
    severity: Severity
    path: str
    message: str
    hint: str = ""
    cause: str = ""  # a check not run: the error it waits for, e.g. `GG102 at spec.yaml:36`

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def location(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}:{self.column}" if self.column else where

    def one_line(self) -> str:
        field = f" {self.path}:" if self.path else ""
        return f"{self.location()}:{field} {self.message}"

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.id,
            "severity": self.severity.value,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }
        if self.cause:
            out["cause"] = self.cause
        return out


@dataclass(frozen=True)
class Check:
    """A finding id: its default severity and the rule it reports."""

    id: str
    severity: Severity
    summary: str


_E, _W, _S = Severity.ERROR, Severity.WARNING, Severity.SKIPPED

REGISTRY: dict[str, Check] = {
    c.id: c
    for c in (
        # the spec: YAML and its JSON Schema
        Check("GG001", _E, "the spec is valid YAML of plain data"),
        Check("GG002", _E, "no key appears twice in a mapping"),
        Check("GG003", _E, "no unknown field"),
        Check("GG004", _E, "required fields are present"),
        Check("GG005", _E, "values have the right type"),
        Check("GG006", _E, "numbers, lengths and counts are within range"),
        Check("GG007", _E, "values are one of the allowed ones"),
        Check("GG008", _E, "values match their pattern"),
        Check("GG009", _E, "any other schema rule"),
        Check("GG010", _E, "aliases and nesting stay within limits (no 'billion laughs')"),
        Check("GG011", _S, "a check not run because of an error it would only echo"),
        # policies
        Check("GG101", _E, "production-like environments need a non-empty ingress allow-list"),
        Check("GG102", _E, "0.0.0.0/0 or ::/0 in an allow-list needs ingress.allowPublic: true"),
        Check("GG103", _E, "every allow-list entry is a CIDR without host bits set"),
        Check("GG104", _E, "every MetalLB address is a CIDR or a first-last range of one family"),
        Check("GG105", _E, "MetalLB pools of environments sharing a cluster do not overlap"),
        Check("GG106", _E, "namespaces are unique per cluster"),
        Check("GG107", _E, "ingress hosts are unique"),
        Check("GG108", _E, "every L2Advertisement names pools that exist"),
        Check("GG109", _E, "MetalLB annotations use metallb.io/, not metallb.universe.tf/"),
        Check("GG110", _E, "the MLflow tracking URI is an http(s) URL"),
        Check("GG111", _E, "the image tag is pinned; a warning outside production-like ones"),
        Check("GG112", _E, "no secret values in the spec or rendered files"),
        Check("GG113", _W, "several replicas with a ReadWriteOnce log volume"),
        Check("GG114", _E, "the AppProject is not `default`"),
        Check("GG115", _E, "app.chart is a folder of the repository holding a Chart.yaml"),
        # GG12x: where our own schemas (GG301) are deliberately stricter than the API
        # server; strictness.DELIBERATE maps each such place to one of these
        Check("GG120", _E, "an IPAddressPool has at least one non-empty address"),
        Check("GG121", _E, "an Application has a source (source, sources or sourceHydrator)"),
        Check("GG122", _E, "an Application's destination names a server or a name"),
        Check(
            "GG123",
            _E,
            "ApplicationSet goTemplateOptions are missingkey=error|zero|default|invalid",
        ),
        # GG130-GG132: the client address reaches whatever enforces the allow-list
        Check("GG130", _E, "with clientAddress direct, the enforcer's Service is Local"),
        Check("GG131", _E, "with clientAddress xForwardedFor, trustedHops is set"),
        Check("GG132", _E, "an environment that creates its Gateway names no shared one"),
        Check(
            "GG140", _E, "helmValues.env does not set a name the chart, the spec or the Secret owns"
        ),
        Check("GG141", _E, "spec values Argo CD evaluates as Go templates hold no `{{` or `}}`"),
        Check("GG142", _E, "helmValues does not set what gitopsgen renders from the spec"),
        # asked only with `validate --tracking-uri`: the registry is not offline
        Check("GG150", _E, "a pinned model version (model.versions) exists in the registry"),
        # GG152-GG153: several services in one repository (the services form)
        Check("GG152", _E, "two services' Argo CD Applications do not share a name"),
        Check("GG153", _E, "two services do not render one Kubernetes object on one cluster"),
        Check("GG160", _W, "a canary does not send requests without x-client-id to its candidate"),
        # GG170-GG174: GitOps Promoter's documented rules it does not enforce (delivery hydrated)
        Check("GG170", _E, "activePath is set on all applications of a branch or on none"),
        Check("GG171", _E, "the hydrated paths of one branch are sibling-disjoint"),
        Check("GG172", _E, "each hydrated Application is gated by exactly one commit-status key"),
        Check("GG173", _E, "a PromotionStrategy's activePath is the path an Application syncs"),
        Check("GG174", _E, "no two Applications sync the same path of one branch"),
        # GG180-GG183: blue-green of the serving image (rollout.strategy blueGreen)
        Check("GG180", _E, "each colour's image tag is pinned; a warning outside production-like"),
        Check("GG181", _E, "the two colours differ in image tag or alias"),
        Check("GG182", _W, "a production-like idle colour is not at 0 replicas"),
        Check("GG183", _E, "ingress.previewHost needs blueGreen and is not a live host"),
        # drift
        Check("GG201", _E, "a rendered file is stale"),
        Check("GG202", _E, "a rendered file is missing"),
        Check("GG203", _E, "a file is no longer rendered from the spec"),
        Check("GG204", _E, "a file in a rendered folder is not rendered by gitopsgen"),
        Check("GG205", _E, "a symlink or special file sits where rendered files live"),
        # rendered documents, Helm, preview, extra paths
        Check("GG301", _E, "Argo CD and MetalLB documents match our strict schemas"),
        Check("GG302", _E, "documents match the upstream CRD's openAPIV3Schema"),
        Check("GG303", _E, "Helm loads and renders the chart; values pass values.schema.json"),
        Check("GG304", _E, "the chart's manifests match the Kubernetes schemas"),
        Check("GG305", _S, "a document whose kind has no schema: not checked"),
        Check("GG306", _E, "ApplicationSet templates expand as Argo CD expands them"),
        Check("GG307", _E, "previewed Applications' chart path and value files exist"),
        Check("GG308", _E, "the AppProject permits every manifest's kind and namespace"),
        Check("GG309", _E, "a file to validate is readable, valid YAML"),
        Check("GG310", _E, "a CEL rule of the CRD (x-kubernetes-validations) holds"),
        Check("GG311", _S, "a CEL rule gitopsgen could not evaluate: not checked"),
    )
}


def build_finding(
    check_id: str,
    file: str,
    line: int,
    column: int,
    path: str,
    message: str,
    hint: str = "",
    *,
    severity: Severity | None = None,
    cause: str = "",
) -> Finding:
    """A finding of a registered check; its severity is the registry's unless given."""
    check = REGISTRY[check_id]
    return Finding(
        file, line, column, check.id, severity or check.severity, path, message, hint, cause
    )
