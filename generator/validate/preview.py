"""Expand an ApplicationSet into the Applications Argo CD will create.

Python has no Go template engine, and an imitation would drift, so the template's string fields
are rendered by the Go text/template (with Sprig) inside Helm. Two differences from Argo CD are
handled here: Helm renders a missing key as empty where `missingkey=error` fails, and Argo CD
removes a few Sprig functions (env, expandenv, getHostByName).
"""

from __future__ import annotations

import copy
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitopsgen.findings import Finding, build_finding
from gitopsgen.spec.load import deep_merge
from gitopsgen.yamlsource import FastLoader, PathPart

_MARK = "@@gitopsgen-leaf-{}@@"
_MARK_RE = re.compile(r"@@gitopsgen-leaf-(\d+)@@")
# A file rendered on its own starts with this, so Helm never drops an empty one.
_LEAD = "|"
_ACTION = re.compile(r"{{(.*?)}}", re.S)
_FIELD = re.compile(r"(?<![\w)\]$])\.([A-Za-z_]\w*)")
_REMOVED_FUNCTIONS = ("env", "expandenv", "getHostByName")


@dataclass
class Preview:
    applications: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _string_leaves(
    value: Any, path: tuple[PathPart, ...] = ()
) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _string_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_leaves(item, (*path, index))
    elif isinstance(value, str):
        yield path, value


def _set(target: Any, path: tuple[PathPart, ...], value: str) -> None:
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def _missing_keys(text: str, element: dict[str, Any]) -> list[str]:
    missing = []
    for action in _ACTION.findall(text):
        for name in _FIELD.findall(action):
            if name not in element and name not in missing:
                missing.append(name)
    return missing


def _removed_functions(text: str) -> list[str]:
    return [
        fn
        for fn in _REMOVED_FUNCTIONS
        for action in _ACTION.findall(text)
        if re.search(rf"(?<![.\w]){fn}\b", action)
    ]


def render_go_templates(
    templates: list[list[str]], elements: list[dict[str, Any]]
) -> list[list[str]]:
    """templates[i][j] rendered with elements[i] as `.`, all in one Helm render.

    An element's strings are joined in one template file by numbered markers and split apart
    after rendering. A value (or a template) could print a marker itself, so each split is
    checked: unless exactly the markers 0..n-1 came back, in order, that element's strings are
    rendered again one file each, where nothing joins them (slower, always right)."""
    files = {
        f"e{i}.txt": _with_element(
            i, "".join(_MARK.format(j) + leaf for j, leaf in enumerate(leaves))
        )
        for i, leaves in enumerate(templates)
    }
    rendered = _render_files(files, elements)
    out: list[list[str]] = []
    for i, leaves in enumerate(templates):
        parts = _MARK_RE.split(rendered[f"e{i}.txt"])
        if parts[1::2] == [str(j) for j in range(len(leaves))] and parts[0] == "":
            out.append(parts[2::2])
            continue
        single = {f"e{i}-{j}.txt": _LEAD + _with_element(i, leaf) for j, leaf in enumerate(leaves)}
        again = _render_files(single, elements)
        out.append([again[f"e{i}-{j}.txt"][len(_LEAD) :] for j in range(len(leaves))])
    return out


def _with_element(index: int, body: str) -> str:
    return f"{{{{- with index .Values.elements {index} }}}}{body}{{{{ end }}}}"


def _render_files(files: dict[str, str], elements: list[dict[str, Any]]) -> dict[str, str]:
    """Template files rendered by Helm's Go text/template with Sprig; name -> text."""
    import helm_python as helm  # heavy: loads the Helm shared library, on first use

    with tempfile.TemporaryDirectory(prefix="gitopsgen-preview-") as tmp:
        chart_dir = Path(tmp)
        (chart_dir / "templates").mkdir()
        (chart_dir / "Chart.yaml").write_text("apiVersion: v2\nname: preview\nversion: 0.0.0\n")
        for name, text in files.items():
            (chart_dir / "templates" / name).write_text(text)
        rendered = helm.Chart.load(chart_dir).render({"elements": elements})
    return {name: rendered[f"preview/templates/{name}"] for name in files}


def preview_applicationset(appset: dict[str, Any], file: str) -> Preview:
    """Applications of a list-generator ApplicationSet, or findings that say why not."""
    import helm_python as helm  # heavy: loads the Helm shared library, on first use

    result = Preview()
    spec = appset.get("spec") or {}
    template = spec.get("template") or {}
    patch = spec.get("templatePatch")
    elements = [
        e for g in spec.get("generators", []) for e in (g.get("list") or {}).get("elements", [])
    ]
    leaves = list(_string_leaves(template))
    texts = [text for _, text in leaves] + ([patch] if isinstance(patch, str) else [])
    for index, element in enumerate(elements):
        result.findings.extend(_template_problems(texts, element, index, file))
    if any(f.is_error for f in result.findings):
        return result
    try:
        rendered = render_go_templates([texts] * len(elements), elements)
    except helm.HelmError as exc:
        result.findings.append(_finding(file, "spec.template", f"Go template error: {exc}"))
        return result
    for element_texts in rendered:
        app = copy.deepcopy(template)
        for (path, _), text in zip(leaves, element_texts, strict=False):
            _set(app, path, text)
        if isinstance(patch, str):
            try:
                patch_doc = yaml.load(element_texts[-1], Loader=FastLoader) or {}
            except yaml.YAMLError as exc:
                result.findings.append(
                    _finding(
                        file, "spec.templatePatch", f"templatePatch renders invalid YAML: {exc}"
                    )
                )
                continue
            app = deep_merge(app, patch_doc)
        result.applications.append(
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **app}
        )
    return result


def _template_problems(
    texts: list[str], element: dict[str, Any], index: int, file: str
) -> Iterator[Finding]:
    for text in texts:
        for name in _missing_keys(text, element):
            yield _finding(
                file,
                f"spec.generators.list.elements[{index}]",
                f"the template uses .{name}, which element {index} does not define "
                "(missingkey=error fails the ApplicationSet)",
            )
        for fn in _removed_functions(text):
            yield _finding(file, "spec.template", f"Argo CD removes the template function {fn!r}")


def _finding(file: str, path: str, message: str) -> Finding:
    return build_finding("GG306", file, 1, 0, path, message, "fix the ApplicationSet template")


def check_paths(
    app: dict[str, Any], root: Path, file: str, rendered: set[str] | None = None
) -> Iterator[Finding]:
    """The chart path and value files of a previewed Application exist inside the repository
    (or are among the `rendered` paths, relative to the root, that a render writes)."""
    name = (app.get("metadata") or {}).get("name", "?")
    source = (app.get("spec") or {}).get("source") or {}
    path = source.get("path")
    labels = (app.get("metadata") or {}).get("labels") or {}
    if not isinstance(path, str) or labels.get("gitopsgen.io/delivery") == "hydrated":
        return  # a hydrated Application's folder is on its branch: `hydrate --check` checks it
    base = (root / path).resolve()
    folder = f"{path.strip('/')}/"
    present = base.is_dir() or any(r.startswith(folder) for r in rendered or set())
    if not _inside(base, root) or not present:
        yield _path_finding(
            file, name, "spec.source.path", f"{path!r} is not a folder of the repository"
        )
        return
    for index, value_file in enumerate((source.get("helm") or {}).get("valueFiles", [])):
        target = (base / value_file).resolve()
        if not _inside(target, root):
            yield _path_finding(
                file,
                name,
                f"spec.source.helm.valueFiles[{index}]",
                f"{value_file!r} points outside the repository",
            )
        elif not target.is_file() and not _is_rendered(target, root, rendered or set()):
            yield _path_finding(
                file,
                name,
                f"spec.source.helm.valueFiles[{index}]",
                f"{value_file!r} does not exist (resolved against {path})",
            )


def _is_rendered(target: Path, root: Path, rendered: set[str]) -> bool:
    return target.relative_to(root.resolve()).as_posix() in rendered


def _inside(path: Path, root: Path) -> bool:
    return path == root.resolve() or root.resolve() in path.parents


def _path_finding(file: str, app: str, path: str, message: str) -> Finding:
    return build_finding(
        "GG307",
        file,
        1,
        0,
        f"{app}: {path}",
        message,
        "render the missing file or fix the path in the ApplicationSet",
    )


__all__ = ["Preview", "check_paths", "preview_applicationset"]


def preview_files(
    files: dict[str, str], environment: str | None = None, service: str | None = None
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """The Applications every rendered ApplicationSet expands to (of one environment, and of
    one service in the services form, when given), and the findings of the expansion."""
    apps: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for path, text in files.items():
        for doc in yaml.load_all(text, Loader=FastLoader):
            if isinstance(doc, dict) and doc.get("kind") == "ApplicationSet":
                expanded = preview_applicationset(doc, path)
                findings.extend(expanded.findings)
                apps.extend(expanded.applications)
    if environment is not None:
        apps = [
            a
            for a in apps
            if a["metadata"].get("labels", {}).get("gitopsgen.io/environment") == environment
        ]
    if service is not None:
        apps = [
            a
            for a in apps
            if a["metadata"].get("labels", {}).get("gitopsgen.io/service") == service
        ]
    return apps, findings
