"""The chart rendered for real (Helm v4, embedded by helm-python-sdk) with each environment's
values, as Argo CD would: chart defaults, then <values folder>/<env>.yaml (the chart and its
values folder are where the spec's app.chart puts them)."""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
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


@dataclass(frozen=True)
class LoadedChart:
    """Helm's chart and the digest of its files, which its cached renders are keyed by."""

    chart: Any
    digest: str

    def render(self, values: dict[str, Any], **options: Any) -> dict[str, str]:
        rendered: dict[str, str] = self.chart.render(values, **options)
        return rendered


def load_chart(root: Path, chart_path: str) -> Any:
    """The chart at `chart_path` (the spec's app.chart), loaded once per run (Helm parses every
    template file on load)."""
    import helm_python as helm  # heavy: loads the Helm shared library

    try:
        return LoadedChart(helm.Chart.load(root / chart_path), chart_digest(root / chart_path))
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


# Helm renders dominate a validation (some 15 ms each): each distinct (chart, values,
# namespace, release) is rendered once per process, so a promotion's object diff reuses the
# renders its validation made. Bounded: a render's manifests are some 30 KB.
_RENDERS: OrderedDict[str, dict[str, str]] = OrderedDict()
_RENDERS_KEPT = 2048


def _render_key(chart: Any, values_text: str, namespace: str, release: str) -> str:
    identity = chart.digest if isinstance(chart, LoadedChart) else str(id(chart))
    parts = (identity, values_text, namespace, release)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _cached_render(chart: Any, values_text: str, namespace: str, release: str) -> dict[str, str]:
    key = _render_key(chart, values_text, namespace, release)
    if key in _RENDERS:
        _RENDERS.move_to_end(key)
        return _RENDERS[key]
    values = yaml.load(values_text, Loader=FastLoader) or {}
    rendered: dict[str, str] = chart.render(
        values, name=release, namespace=namespace, is_install=True
    )
    _RENDERS[key] = rendered
    while len(_RENDERS) > _RENDERS_KEPT:
        _RENDERS.popitem(last=False)
    return rendered


def chart_digest(folder: Path) -> str:
    """A digest of every file of the chart: what its renders are cached under."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def render_chart(
    chart: Any, spec: Spec, env: Environment, values_text: str, namespace: str
) -> ChartRender:
    """Render the chart with the environment's values, as the release `env.release` (the
    ApplicationSet's releaseName: app.name, or the service); Helm's own errors become findings."""
    import helm_python as helm  # heavy: loads the Helm shared library, on first use

    values_file = values_path(spec, env)
    release = env.release
    try:
        rendered = _cached_render(chart, values_text, namespace, release)
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
    owners: dict[tuple[str, str, str, str], Environment] = {}
    for env in spec.environments:
        values_text = files[values_path(spec, env)]
        # the release is named as the ApplicationSet's releaseName: app.name, or the service
        result = render_chart(chart, spec, env, values_text, env.namespace)
        findings.extend(
            _placed(root, spec, env, values_text, spec_doc) or result.findings
            if result.values_refused
            else result.findings
        )
        parsed: list[dict[str, Any]] = []
        for template, text in result.manifests.items():
            ref = DocumentRef(f"{spec.chart_path}/{template}", label=env.title)
            docs, problems = load_documents(text)  # parsed once, for every check below
            findings.extend(
                check_text(text, ref, schemas) if problems else check_documents(docs, ref, schemas)
            )
            if project is not None:
                findings.extend(_project_findings(project, env, docs, ref))
            parsed.extend(d.data for d in docs if isinstance(d.data, dict))
        findings.extend(_replicas_with_rwo(env, parsed, values_path(spec, env)))
        findings.extend(_shared_objects(spec, env, parsed, owners))
    return findings


def _placed(
    root: Path, spec: Spec, env: Environment, values_text: str, spec_doc: SourceDocument | None
) -> list[Finding]:
    """What values.schema.json refused, at the places it is written (empty: Helm's own words
    stand)."""
    values_file = values_path(spec, env)
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


def _shared_objects(
    spec: Spec,
    env: Environment,
    docs: list[dict[str, Any]],
    owners: dict[tuple[str, str, str, str], Environment],
) -> Iterator[Finding]:
    """GG153: two targets whose charts render one object (same cluster, namespace, kind and
    name), e.g. releases `a` and `a-fastapi` in one namespace (the chart's names derive from
    the release): Argo CD would hand it back and forth between two Applications."""
    for doc in docs:
        meta = doc.get("metadata") or {}
        key = (env.cluster.server, env.namespace, str(doc.get("kind")), str(meta.get("name")))
        first = owners.setdefault(key, env)
        if first is not env and first.target != env.target:
            yield build_finding(
                "GG153",
                values_path(spec, env),
                1,
                0,
                f"{env.title}: {key[2]} {key[3]}",
                f"{key[2]} {env.namespace}/{key[3]} is rendered by both {first.title} and "
                f"{env.title} on cluster {env.cluster.name}",
                "give one of the services its own namespace, or rename it",
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
