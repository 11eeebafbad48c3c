"""The chart rendered for real (Helm v4, embedded by helm-python-sdk) with each environment's
values, as Argo CD would: chart defaults, then <values folder>/<env>.yaml (the chart and its
values folder are where the spec's app.chart puts them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitopsgen.findings import Finding, build_finding
from gitopsgen.render.registry import output_of
from gitopsgen.render.values import values_path
from gitopsgen.spec.model import Environment, Spec
from gitopsgen.validate.documents import DocumentRef, SchemaSet, check_documents, check_text
from gitopsgen.validate.project import Project, find_project, refusals
from gitopsgen.validate.values_schema import values_schema_findings
from gitopsgen.yamlsource import FastLoader, SourceDocument, load_document, load_documents

_SCHEMA_ERROR_PATH = re.compile(r"at '(/[^']*)'")


@dataclass(frozen=True)
class ChartRender:
    env: str
    manifests: dict[str, str]  # template path inside the chart -> rendered text
    findings: list[Finding]
    values_refused: bool = False  # values.schema.json refused the values


def load_chart(root: Path, chart_path: str) -> Any:
    """The chart at `chart_path` (the spec's app.chart), loaded once per run (Helm parses every
    template file on load)."""
    import helm_python as helm  # heavy: loads the Helm shared library

    try:
        return helm.Chart.load(root / chart_path)
    except helm.HelmError as exc:
        return build_finding(
            "GG303",
            f"{chart_path}/Chart.yaml",
            1,
            0,
            "",
            f"Helm cannot load the chart: {_first_lines(str(exc))}",
            "run `helm lint` on the chart",
        )


def render_chart(
    chart: Any, spec: Spec, env: Environment, values_text: str, namespace: str
) -> ChartRender:
    """Render the chart with the environment's values, as the release `spec.release_name`;
    Helm's own errors become findings."""
    import helm_python as helm  # heavy: loads the Helm shared library, on first use

    values_file = values_path(spec, env.name)
    release = spec.release_name
    values = yaml.load(values_text, Loader=FastLoader) or {}
    try:
        rendered = chart.render(values, name=release, namespace=namespace, is_install=True)
    except helm.HelmValuesError as exc:
        finding = _values_finding(values_file, values_text, str(exc))
        return ChartRender(env.name, {}, [finding], values_refused=True)
    except helm.HelmError as exc:
        return ChartRender(
            env.name,
            {},
            [
                build_finding(
                    "GG303",
                    f"{spec.chart_path}/Chart.yaml",
                    1,
                    0,
                    env.name,
                    f"Helm could not render the chart with {values_file}: {_first_lines(str(exc))}",
                    "run `helm template` on the chart to see the template error",
                )
            ],
        )
    manifests = {
        name.split("/", 1)[1] if "/" in name else name: text
        for name, text in sorted(rendered.items())
        if not name.endswith("NOTES.txt")
    }
    return ChartRender(env.name, manifests, [])


def _first_lines(text: str, count: int = 6) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[:count])


def _values_finding(values_file: str, values_text: str, message: str) -> Finding:
    """A values.schema.json failure, pointed at the value in the values file when it is there."""
    doc, _ = load_document(values_text)
    line, path = 1, ""
    match = _SCHEMA_ERROR_PATH.search(message)
    if match:
        parts = [p for p in match.group(1).split("/") if p]
        path = ".".join(parts)
        parsed: list[str | int] = [int(p) if p.isdigit() else p for p in parts]
        line = doc.position_of(parsed).line
    return build_finding(
        "GG303",
        values_file,
        line,
        0,
        path,
        f"the chart's values.schema.json rejects the values: {_first_lines(message)}",
        "fix the field in the spec (helmValues or the field it comes from)",
    )


def check_chart(
    root: Path,
    spec: Spec,
    files: dict[str, str],
    schemas: SchemaSet,
    spec_doc: SourceDocument | None = None,
) -> list[Finding]:
    """Render per environment and check every manifest strictly against the Kubernetes schemas;
    values the chart's schema refuses are reported where they are written (spec_doc: the spec,
    for what helmValues sets)."""
    chart = load_chart(root, spec.chart_path)
    if isinstance(chart, Finding):
        return [chart]
    project = find_project(_rendered_documents(files, spec), spec.project)
    findings: list[Finding] = []
    for env in spec.environments:
        values_text = files[values_path(spec, env.name)]
        # the release is named as the ApplicationSet's releaseName: app.name
        result = render_chart(chart, spec, env, values_text, env.namespace)
        findings.extend(
            _placed(root, spec, env, values_text, spec_doc) or result.findings
            if result.values_refused
            else result.findings
        )
        parsed: list[dict[str, Any]] = []
        for template, text in result.manifests.items():
            ref = DocumentRef(f"{spec.chart_path}/{template}", label=f"{env.name}")
            docs, problems = load_documents(text)  # parsed once, for every check below
            findings.extend(
                check_text(text, ref, schemas) if problems else check_documents(docs, ref, schemas)
            )
            if project is not None:
                findings.extend(_project_findings(project, env, docs, ref))
            parsed.extend(d.data for d in docs if isinstance(d.data, dict))
        findings.extend(_replicas_with_rwo(env, parsed, values_path(spec, env.name)))
    return findings


def _placed(
    root: Path, spec: Spec, env: Environment, values_text: str, spec_doc: SourceDocument | None
) -> list[Finding]:
    """What values.schema.json refused, at the places it is written (empty: Helm's own words
    stand)."""
    values_file = values_path(spec, env.name)
    return values_schema_findings(
        root, spec.chart_path, env, values_file, values_text, spec_doc, spec.source
    )


def _rendered_documents(files: dict[str, str], spec: Spec) -> list[dict[str, Any]]:
    """The Kubernetes objects gitopsgen rendered (the AppProject among them)."""
    out: list[dict[str, Any]] = []
    for path, text in files.items():
        output = output_of(path, spec)
        if output is not None and output.kubernetes_objects:
            out.extend(d.data for d in load_documents(text)[0] if isinstance(d.data, dict))
    return out


def _project_findings(
    project: Project, env: Environment, docs: list[SourceDocument], ref: DocumentRef
) -> Iterator[Finding]:
    """GG308: what Argo CD would refuse to sync, though every schema accepts it."""
    for doc in docs:
        if not isinstance(doc.data, dict):
            continue
        for reason in refusals(project, env, doc.data):
            pos = doc.position_of(("kind",))
            yield build_finding(
                "GG308",
                ref.file,
                pos.line,
                pos.column,
                f"{ref.label}: kind",
                f"Argo CD refuses the sync: {reason}",
                "render only kinds the AppProject allows (the values renderer's `deploys`), "
                "or declare the new kind there so the AppProject lists it",
            )


def _replicas_with_rwo(
    env: Environment, docs: list[dict[str, Any]], values_file: str
) -> Iterator[Finding]:
    replicas = max(
        (d.get("spec", {}).get("replicas") or 1 for d in docs if d.get("kind") == "Deployment"),
        default=1,
    )
    rwo = any(
        "ReadWriteOnce" in (d.get("spec", {}).get("accessModes") or [])
        for d in docs
        if d.get("kind") == "PersistentVolumeClaim"
    )
    if replicas > 1 and rwo:
        yield build_finding(
            "GG113",
            values_file,
            1,
            0,
            f"{env.name}: persistence",
            f"{replicas} replicas share a ReadWriteOnce log volume: pods on other nodes "
            "cannot mount it",
            "use ReadWriteMany, or one replica, or turn persistence off",
        )
