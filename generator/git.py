"""Git at the edge: a thin wrapper over the `git` command, errors as GitError."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from gitopsgen.errors import GitError


@dataclass(frozen=True)
class Repo:
    root: Path

    def run(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        try:
            result = subprocess.run(
                ["git", *args],
                cwd=self.root,
                capture_output=True,
                text=True,
                check=False,
                input=stdin,
            )
        except FileNotFoundError as exc:
            raise GitError("git is not installed") from exc
        if check and result.returncode != 0:
            raise GitError(
                f"git {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}"
            )
        return result

    def out(self, *args: str, stdin: str | None = None) -> str:
        return self.run(*args, stdin=stdin).stdout.strip()

    @classmethod
    def at(cls, root: Path) -> Repo:
        repo = cls(root)
        result = repo.run("rev-parse", "--show-toplevel", check=False)
        if result.returncode != 0:
            raise GitError(f"{root} is not a git repository")
        return repo

    def status(self) -> str:
        return self.out("status", "--porcelain", "--untracked-files=all")

    def require_clean(self) -> None:
        dirty = self.status()
        if dirty:
            listed = "\n  ".join(dirty.splitlines()[:10])
            raise GitError(
                f"the working tree has uncommitted changes; commit or stash them first:\n  {listed}"
            )

    def current_branch(self) -> str:
        result = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        if result.returncode != 0:
            raise GitError("HEAD is detached; check out a branch first")
        return result.stdout.strip()

    def branch_exists(self, name: str) -> bool:
        return (
            self.run(
                "rev-parse", "--verify", "--quiet", f"refs/heads/{name}", check=False
            ).returncode
            == 0
        )

    def head(self) -> str:
        return self.out("rev-parse", "HEAD")

    def show(self, rev: str, path: str) -> str | None:
        result = self.run("show", f"{rev}:{path}", check=False)
        return result.stdout if result.returncode == 0 else None

    def commits_touching(self, path: str) -> list[str]:
        return self.out("log", "--format=%H", "--", path).split()

    def stage(self, paths: list[str], intent_only: bool = False) -> None:
        args = ["add", "--intent-to-add"] if intent_only else ["add", "--all"]
        result = self.run(*args, "--", *paths, check=False)
        if result.returncode != 0:
            raise GitError(f"git add failed: {_reason(result)}")

    def commit(self, message: str, only: list[str] | None = None) -> str:
        """Commit with the repository's hooks. `only`: exactly these paths, as they are in the
        working tree, leaving whatever else is staged staged (`git commit --only`)."""
        args = ["commit", "--quiet", "-m", message]
        if only is not None:
            args += ["--only", "--", *only]
        result = self.run(*args, check=False)
        if result.returncode != 0:
            raise GitError(f"git commit failed: {_reason(result)}")
        return self.head()

    def push(self, remote: str, branch: str) -> None:
        result = self.run(
            "push", "--porcelain", remote, f"refs/heads/{branch}:refs/heads/{branch}", check=False
        )  # never --force
        if result.returncode != 0:
            raise GitError(
                f"push of {branch} to {remote} was rejected: "
                f"{(result.stderr or result.stdout).strip()}"
            )

    def default_revision(self, target_revision: str) -> str:
        """The commit Argo CD will sync next: `origin/<target>` where it is known, else HEAD."""
        remote = self.run(
            "rev-parse", "--verify", "--quiet", f"origin/{target_revision}", check=False
        )
        return remote.stdout.strip() if remote.returncode == 0 else self.head()


def _reason(result: subprocess.CompletedProcess[str]) -> str:
    """Git's own words, with what a hook printed; a held index.lock said plainly."""
    text = " | ".join(
        line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()
    )
    if "index.lock" in text:
        return f"another git process holds the index lock (index.lock): {text}"
    return text or f"exit status {result.returncode}"
