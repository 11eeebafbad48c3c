"""The verify workflow: manual and scheduled, off until a repository variable turns it on, and it
runs verify with the rollback on failure."""

from __future__ import annotations

import yaml

from tests.support import REPO

WORKFLOW = REPO / ".github/workflows/verify.yaml"


def test_verify_workflow_is_off_by_default_and_rolls_back_on_failure() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    on = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(on) == {"workflow_dispatch", "schedule"}
    job = workflow["jobs"]["verify"]
    assert job["if"] == "vars.GITOPSGEN_VERIFY_ENABLED == 'true'"
    script = job["steps"][-1]["run"]
    assert 'gitopsgen verify "${args[@]}"' in script
    assert "--rollback-on-failure --push --open-pr" in script
    assert '"$RUNNER_TEMP/verify.md"' in script  # never in the tree the rollback commits from
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}


def test_drift_workflow_is_off_by_default_and_opens_the_pinning_pr() -> None:
    workflow = yaml.safe_load((REPO / ".github/workflows/drift.yaml").read_text())
    assert set(workflow[True]) == {"workflow_dispatch", "schedule"}
    job = workflow["jobs"]["drift"]
    assert job["if"] == "vars.GITOPSGEN_DRIFT_ENABLED == 'true'"
    script = job["steps"][-1]["run"]
    assert 'gitopsgen drift "${args[@]}"' in script
    assert "--fix git --push --open-pr" in script
    assert '"$RUNNER_TEMP/drift.md"' in script
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}


def test_hydrate_workflow_is_off_by_default_and_pushes_after_a_merge() -> None:
    workflow = yaml.safe_load((REPO / ".github/workflows/hydrate.yaml").read_text())
    assert set(workflow[True]) == {"push", "workflow_dispatch"}
    assert workflow[True]["push"] == {"branches": ["main"]}
    job = workflow["jobs"]["hydrate"]
    assert job["if"] == "vars.GITOPSGEN_HYDRATE_ENABLED == 'true'"
    assert "gitopsgen hydrate --push" in job["steps"][-1]["run"]
    assert workflow["permissions"] == {"contents": "write"}
