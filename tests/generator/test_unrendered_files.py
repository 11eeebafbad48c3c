"""Files in rendered folders that gitopsgen did not render are findings, and every document in
them is validated (issue 12, item 12)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import Invoke

TEAM_PROJECT = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: mlops-serving, namespace: argocd}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
  clusterResourceWhitelist: [{group: "*", kind: "*"}]
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: team}
spec:
  generators: []
  template: {metadata: {name: x}, spec: {project: p, destination: {}, sourceRepos: 1}}
  unexpected: true
---
apiVersion: v1
kind: ConfigMap
metadata: {name: hooks}
data: {url: "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"}
"""


def findings(run_cli: Invoke, root: Path) -> list[dict[str, object]]:
    result = run_cli("validate", "--root", root, "--format", "json", expect=None)
    loaded: list[dict[str, object]] = json.loads(result.stdout)
    return loaded


def test_a_hand_added_appproject_is_found_and_validated(tmp_repo: Path, run_cli: Invoke) -> None:
    (tmp_repo / "applicationsets/zz-team.yaml").write_text(TEAM_PROJECT)
    found = findings(run_cli, tmp_repo)
    by_id = {(f["id"], f["file"]) for f in found}
    assert ("GG204", "applicationsets/zz-team.yaml") in by_id
    assert ("GG301", "applicationsets/zz-team.yaml") in by_id  # the broken ApplicationSet
    assert ("GG112", "applicationsets/zz-team.yaml") in by_id  # the webhook in the ConfigMap
    unknown = [f for f in found if f["id"] == "GG301" and "unexpected" in str(f["message"])]
    assert unknown and unknown[0]["line"] == 15


def test_any_file_in_any_rendered_folder_is_a_finding(tmp_repo: Path, run_cli: Invoke) -> None:
    strays = ["metallb/dev/notes.md", "apps/fastapi/values/extra.yaml", "bootstrap/x.json"]
    for rel in strays:
        (tmp_repo / rel).write_text("{}\n")
    found = findings(run_cli, tmp_repo)
    assert sorted(str(f["file"]) for f in found if f["id"] == "GG204") == sorted(strays)
    assert all(f["severity"] == "error" for f in found if f["id"] == "GG204")


def test_a_clean_tree_has_no_stray_findings(tmp_repo: Path, run_cli: Invoke) -> None:
    assert not [f for f in findings(run_cli, tmp_repo) if f["id"] == "GG204"]
