"""Opening a promotion's pull request with the GitHub CLI, where it is installed."""

from __future__ import annotations

import shutil
import subprocess


def open_pull_request(branch: str, title: str, body: str, pushed: bool) -> str:
    """Open the pull request; return one line saying what happened (never raises)."""
    gh = shutil.which("gh")
    if gh is None:
        return "note: the GitHub CLI (gh) is not installed; open the pull request by hand"
    if not pushed:
        return "note: --open-pr needs --push; the pull request was not opened"
    result = subprocess.run(
        [gh, "pr", "create", "--head", branch, "--title", title, "--body", body],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return f"note: gh pr create failed: {(result.stderr or result.stdout).strip()}"
    return f"opened {result.stdout.strip()}"
