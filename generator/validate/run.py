"""`gitopsgen validate`: every stage, every finding, one sorted list."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitopsgen.findings import Finding, Severity, build_finding
from gitopsgen.render.output import Catalog
from gitopsgen.render.registry import catalog, render_all
from gitopsgen.safepaths import UnsafePath, find_unsafe, read_input
from gitopsgen.spec.model import Spec
from gitopsgen.sync.writer import Action, FileChange, plan_changes
from gitopsgen.validate.checked_render import CheckedSpec, check_spec
from gitopsgen.validate.crds import CrdCatalog, cache_dir, crd_dirs_from_env, read_crd_dirs
from gitopsgen.validate.documents import (
    DocumentRef,
    SchemaSet,
    check_document,
    check_documents,
    check_text,
)
from gitopsgen.validate.helm import check_chart
from gitopsgen.validate.kube import DEFAULT_KUBE_VERSION, resolve_version
from gitopsgen.validate.pins import check_pins_exist
from gitopsgen.validate.policies.chart import check_chart_path
from gitopsgen.validate.policies.rendered import (
    LoadedFile,
    check_annotations_and_secrets,
    check_rendered_policies,
)
from gitopsgen.validate.preview import Preview, check_paths, preview_applicationset
from gitopsgen.validate.report import NOT_RUN_SEPARATOR
from gitopsgen.yamlsource import SourceDocument, load_documents

NOT_RUN_ID = "GG011"
DRIFT_IDS = {Action.UPDATE: "GG201", Action.CREATE: "GG202", Action.DELETE: "GG203"}


@dataclass
class ValidateOptions:
    root: Path
    spec_path: Path
    kube_version: str = DEFAULT_KUBE_VERSION
    crd_dirs: list[Path] = field(default_factory=list)
    extra_paths: list[Path] = field(default_factory=list)
    tracking_uri: str | None = None  # ask this MLflow registry whether the pins exist (GG150)


def default_crd_dirs(given: list[Path]) -> list[Path]:
    """--crd-dir, else GITOPSGEN_CRD_DIR, else the cache `schemas fetch` fills (when present)."""
    if given:
        return given
    from_env = crd_dirs_from_env()
    if from_env:
        return from_env
    return [cache_dir()] if cache_dir().is_dir() else []


def build_schema_set(kube_version: str, crds: CrdCatalog) -> SchemaSet:
    resolved = resolve_version(kube_version)
    if resolved is None:
        raise ValueError(f"no Kubernetes schemas for {kube_version}")
    return SchemaSet(resolved, crds.schemas)


def crd_file_findings(crds: CrdCatalog) -> Iterator[Finding]:
    """A file of a CRD folder that is no usable CRD: named, and validate goes on without it."""
    for problem in crds.problems:
        yield build_finding(
            "GG309",
            problem.path,
            1,
            0,
            "",
            f"CRD file {problem.message}",
            "replace it (`gitopsgen schemas fetch` rewrites the cache) or remove it",
        )


def validate_repository(options: ValidateOptions) -> list[Finding]:
    """Every finding that is a cause. Where the spec has errors, the checks they would only echo
    (drift, and the Helm render and preview of the environments they break) are not run; a
    GG011 note at the error says which checks, so the summary can count them."""
    crds = read_crd_dirs(options.crd_dirs)
    schemas = build_schema_set(options.kube_version, crds)
    checked = check_spec(options.spec_path, options.root)
    findings: list[Finding] = [*checked.findings, *crd_file_findings(crds)]
    subset = checked.renderable()
    chart = _chart_findings(checked, options.root)
    findings.extend(chart)
    findings.extend(
        _not_run(f, "Helm render (GG303/GG304) of the chart", "app.chart") for f in chart
    )
    helm = not chart
    if not checked.errors and subset is not None:
        findings.extend(_check_rendered(subset, options.root, schemas, checked, True, helm))
    else:
        findings.extend(not_run_notes(checked))
        if subset is not None:
            findings.extend(_check_rendered(subset, options.root, schemas, checked, False, helm))
    findings.extend(check_paths_given(options.extra_paths, options.root, schemas))
    spec = checked.reading.spec
    if options.tracking_uri and spec is not None and checked.reading.document is not None:
        findings.extend(check_pins_exist(spec, checked.reading.document, options.tracking_uri))
    if not options.crd_dirs and subset is not None:
        findings.extend(crd_check_skipped(render_all(subset), catalog(subset)))
    return sorted(set(findings))


def _chart_findings(checked: CheckedSpec, root: Path) -> list[Finding]:
    """GG115 when the spec is readable and its app.chart names no chart of the repository."""
    spec = checked.reading.spec
    if spec is None or checked.reading.global_error is not None:
        return []
    return check_chart_path(spec, checked.reading.document, root)


def not_run_notes(checked: CheckedSpec) -> Iterator[Finding]:
    """One GG011 note per error that keeps checks from running, listing every such check: an
    error is one cause, however many checks it holds back."""
    first = checked.errors[0] if checked.errors else None
    if first is None:
        return
    held: dict[Finding, list[str]] = {first: ["drift check of the rendered files (GG201-GG203)"]}
    cause = checked.reading.global_error
    if cause is not None:
        held.setdefault(cause, []).append("Helm render and preview of every environment")
    else:
        for name, error in sorted(checked.broken.items()):
            held.setdefault(error, []).append(
                f"Helm render (GG303/GG304) and preview (GG306/GG307) of {name}"
            )
    for error, checks in held.items():
        yield _not_run(error, NOT_RUN_SEPARATOR.join(checks))


def _not_run(cause: Finding, what: str, where: str = "the spec") -> Finding:
    return build_finding(
        NOT_RUN_ID,
        cause.file,
        cause.line,
        cause.column,
        cause.path,
        f"{what} not run: {where} has an error ({cause.id} at line {cause.line}); "
        "their findings would follow from it",
        "fix the error; the checks run again then",
        cause=f"{cause.id} at {cause.location()}",
    )


def crd_check_skipped(files: dict[str, str], outputs: Catalog) -> Iterator[Finding]:
    """Without CRDs the upstream check (GG302) does not run: a skip, counted as one, at the
    first rendered file it would have checked."""
    checked = sorted(
        p for p in files if (o := outputs.output_of(p)) and any(k.crd for k in o.kinds)
    )
    if checked:
        yield build_finding(
            "GG302",
            checked[0],
            1,
            0,
            "",
            f"the upstream CRD check did not run on {len(checked)} rendered file(s): no CRDs "
            "found (gitopsgen's own schemas, GG301, did)",
            "run `gitopsgen schemas fetch` or pass --crd-dir DIR",
            severity=Severity.SKIPPED,
        )


def _check_rendered(
    spec: Spec, root: Path, schemas: SchemaSet, checked: CheckedSpec, drift: bool, helm: bool
) -> Iterator[Finding]:
    files = render_all(spec)
    outputs = catalog(spec)
    unsafe = find_unsafe(root, outputs.folders)
    yield from unsafe_findings(unsafe)
    if not unsafe:  # drift reads the tree, which is not read through a symlink
        changes = plan_changes(root, files, outputs.folders)
        if drift:
            yield from drift_findings(changes)
        strays = unrendered_files(root, set(files) | {c.path for c in changes}, outputs)
        yield from stray_findings(strays)
        objects = [root / s for s in strays if _holds_objects(s, outputs)]
        yield from check_paths_given(objects, root, schemas)
    loaded: list[LoadedFile] = []
    for path, text in files.items():
        output = outputs.output_of(path)
        if output is None or not output.kubernetes_objects:
            # e.g. Helm values: the chart's schema checks them; secrets are looked for everywhere
            yield from check_annotations_and_secrets([(path, load_documents(text)[0])])
            continue
        docs, _ = load_documents(text)  # render_all proved it parses
        yield from check_documents(docs, DocumentRef(path), schemas)
        loaded.append((path, docs))
    yield from check_rendered_policies(loaded)
    if helm:
        yield from check_chart(root, spec, files, schemas, checked.reading.document)
    for path, docs in loaded:
        for doc in docs:
            if isinstance(doc.data, dict) and doc.data.get("kind") == "ApplicationSet":
                preview = preview_applicationset(doc.data, path)
                if not helm:  # GG115 said the chart is missing; its paths would only echo it
                    preview.applications = [
                        a for a in preview.applications if _source_path(a) != spec.chart_path
                    ]
                yield from check_preview(preview, root, path, schemas, set(files))


def _source_path(app: dict[str, Any]) -> object:
    return ((app.get("spec") or {}).get("source") or {}).get("path")


def check_preview(
    preview: Preview,
    root: Path,
    file: str,
    schemas: SchemaSet,
    rendered: set[str] | None = None,
) -> Iterator[Finding]:
    """The previewed Applications; a value file the render produces counts as present (if it
    is not on disk yet, that is drift, reported once as GG202)."""
    yield from preview.findings
    for app in preview.applications:
        name = app["metadata"].get("name", "?")
        ref = DocumentRef(file, label=f"preview {name}")
        yield from check_document(SourceDocument(app, None), ref, schemas)
        yield from check_paths(app, root, file, rendered or set())


def unrendered_files(root: Path, known: set[str], outputs: Catalog) -> list[str]:
    """Files in the rendered folders that the spec does not render (nor rendered earlier)."""
    found = []
    for folder in outputs.folders:
        for current, _dirs, names in os.walk(root / folder, followlinks=False):
            for name in names:
                rel = (Path(current) / name).relative_to(root).as_posix()
                if rel not in known:
                    found.append(rel)
    return sorted(found)


def _holds_objects(path: str, outputs: Catalog) -> bool:
    output = outputs.output_of(path)
    return output is not None and output.kubernetes_objects and path.endswith((".yaml", ".yml"))


def stray_findings(paths: list[str]) -> Iterator[Finding]:
    for path in paths:
        yield build_finding(
            "GG204",
            path,
            1,
            0,
            "",
            f"{path} is in a rendered folder but gitopsgen does not render it "
            "(Argo CD may apply it all the same)",
            "delete it, or express it in the spec; rendered folders hold only rendered files",
        )


def unsafe_findings(found: list[UnsafePath]) -> Iterator[Finding]:
    for item in found:
        yield build_finding(
            "GG205",
            item.path,
            1,
            0,
            "",
            item.describe(),
            "remove it: rendered folders hold regular files that gitopsgen writes",
        )


def drift_findings(changes: list[FileChange]) -> Iterator[Finding]:
    for change in changes:
        if change.action is Action.IDENTICAL:
            continue
        message = {
            Action.UPDATE: "is stale: the spec renders it differently",
            Action.CREATE: "is missing: the spec renders it",
            Action.DELETE: "is no longer rendered from the spec",
        }[change.action]
        yield build_finding(
            DRIFT_IDS[change.action],
            change.path,
            1,
            0,
            "",
            f"{change.path} {message}",
            "run `gitopsgen render` and commit the result",
        )


def yaml_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
            )
        else:
            yield path


def check_paths_given(paths: list[Path], root: Path, schemas: SchemaSet) -> Iterator[Finding]:
    """Extra files or folders of YAML, checked like kubeconform does."""
    loaded: list[LoadedFile] = []
    for path in yaml_files(paths):
        display = _relative(path, root)
        try:
            text = read_input(path)
        except OSError as exc:
            yield build_finding("GG309", display, 1, 0, "", f"cannot read: {exc.strerror}")
            continue
        except UnicodeDecodeError:
            yield build_finding("GG309", display, 1, 0, "", "cannot read: not UTF-8 text")
            continue
        docs, problems = load_documents(text)
        yield from (
            check_text(text, DocumentRef(display), schemas)
            if problems
            else check_documents(docs, DocumentRef(display), schemas)
        )
        loaded.append((display, docs))
    yield from check_rendered_policies(loaded)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
