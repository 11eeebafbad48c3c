"""The metadata Argo CD's commit server writes beside hydrated manifests, as data.

Facts from the upstream code and docs (argo-cd commitserver/commit, util/hydrator, the Source
Hydrator user guide; gitops-promoter's custom-hydrator contract and CRDs):
- `hydrator.metadata` is JSON indented by two spaces with a final newline; fields in the order
  repoURL, drySha, commands, author, date, subject, body, references, empty ones left out. The
  branch root holds the dry commit's fields; each Application folder repoURL, drySha, commands.
- `date` is RFC 3339 (GitOps Promoter parses it as a metav1.Time, so anything else fails);
  `subject` is the first paragraph of the dry commit's message, `body` the rest minus the valid
  `Argocd-reference-commit-*` trailers, which become the one entry of `references`.
- GitOps Promoter's ChangeTransferPolicy accepts only http(s) URLs (`^(https?://.*)?$`) and full
  SHAs (40 or 64 hex): a short SHA or an SSH URL here would stop its status updates, so we refuse
  them before writing rather than let the controller fail later.
- The git note in `refs/notes/hydrator.metadata` is `{"drySha": "..."}`, compact."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from gitopsgen.errors import HydrateError

FULL_SHA = re.compile(r"^([0-9a-f]{40}|[0-9a-f]{64})$")
HTTP_URL = re.compile(r"^https?://\S+$")
REFERENCE_TRAILER = "Argocd-reference-commit-"
NOTES_REF = "refs/notes/hydrator.metadata"
GITATTRIBUTES_TEXT = (
    "**/README.md linguist-generated=true\n**/hydrator.metadata linguist-generated=true\n"
)


@dataclass(frozen=True)
class DryCommit:
    """The spec commit a render came from, as `git show -s` tells it."""

    sha: str
    author: str  # "Name <email>"
    date: str  # RFC 3339, the author date (%aI)
    message: str


def check_sha(sha: str, what: str) -> str:
    if not FULL_SHA.match(sha):
        raise HydrateError(f"{what} {sha!r} is not a full commit SHA (40 or 64 lowercase hex)")
    return sha


def check_repo_url(url: str, where: str) -> str:
    if not HTTP_URL.match(url):
        raise HydrateError(
            f"{where}: repo.url {url!r} is not an http(s) URL; GitOps Promoter's CRDs refuse "
            "SSH URLs: give the https:// form of the repository"
        )
    return url


def split_message(message: str) -> tuple[str, str]:
    """(subject, body): Argo CD cuts the message at its first blank line."""
    subject, _, body = message.strip().partition("\n\n")
    return subject, body


def references_of(body: str, commit: str) -> tuple[list[dict[str, Any]], str]:
    """The `Argocd-reference-commit-*` trailers as one reference, and the body without them.
    An invalid trailer stays in the body (as Argo CD keeps it), except a short SHA or a
    non-http(s) URL, which GitOps Promoter's CRDs would refuse: those are errors."""
    found: dict[str, Any] = {}
    kept: list[str] = []
    for line in body.splitlines():
        entry = _reference_field(line, commit)
        if entry is None:
            kept.append(line + "\n")
        else:
            found[entry[0]] = entry[1]
    order = ("author", "date", "subject", "body", "sha", "repoURL")
    reference = {key: found[key] for key in order if key in found}
    return ([{"commit": reference}] if reference else []), "".join(kept)


def _reference_field(line: str, commit: str) -> tuple[str, Any] | None:
    if not line.startswith(REFERENCE_TRAILER) or ": " not in line:
        return None
    key, value = line.split(": ", 1)
    name = key[len(REFERENCE_TRAILER) :]
    where = f"commit {commit[:12]}: trailer {key}"
    if name == "sha":
        return "sha", check_sha(value, where)
    if name == "repourl":
        if not HTTP_URL.match(value):
            raise HydrateError(
                f"{where}: {value!r} is not an http(s) URL (GitOps Promoter refuses it)"
            )
        return "repoURL", value
    if name == "author":
        real, address = parseaddr(value)
        return ("author", f"{real} <{address}>" if real else address) if "@" in address else None
    if name == "date":
        return ("date", value) if _is_rfc3339(value) else None
    if name == "subject":
        return "subject", value
    if name == "body":
        try:
            text = json.loads(value)
        except ValueError:
            return None
        return ("body", text) if isinstance(text, str) else None
    return None


def _is_rfc3339(value: str) -> bool:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value and parsed.tzinfo is not None


def commit_metadata(repo_url: str, dry: DryCommit) -> dict[str, Any]:
    """The branch root's hydrator.metadata: which dry commit, by whom, when, why."""
    subject, body = split_message(dry.message)
    references, rest = references_of(body, dry.sha)
    fields: dict[str, Any] = {
        "repoURL": repo_url,
        "drySha": dry.sha,
        "author": dry.author,
        "date": dry.date,
        "subject": subject,
        "body": rest,
        "references": references,
    }
    return {key: value for key, value in fields.items() if value}


def path_metadata(
    repo_url: str, dry: DryCommit, commands: tuple[str, ...], *, full: bool
) -> dict[str, Any]:
    """An Application folder's hydrator.metadata: repoURL, drySha, commands; with `full` (the
    shared-branch mode, where GitOps Promoter reads only `<activePath>/hydrator.metadata`) the
    dry commit's fields too."""
    own: dict[str, Any] = {"repoURL": repo_url, "drySha": dry.sha, "commands": list(commands)}
    if not full:
        return own
    rest = commit_metadata(repo_url, dry)
    return {**own, **{k: v for k, v in rest.items() if k not in own}}


def to_json(metadata: dict[str, Any]) -> str:
    """As Go's json.Encoder with SetIndent("", "  ") and SetEscapeHTML(false) writes it."""
    return json.dumps(metadata, indent=2, ensure_ascii=False) + "\n"


def note_text(dry_sha: str) -> str:
    return json.dumps({"drySha": dry_sha}, separators=(",", ":"))


def readme(metadata: dict[str, Any]) -> str:
    """How to reproduce this folder's manifest.yaml from the dry commit."""
    lines = [
        "# Manifest Hydration",
        "",
        "Rendered by gitopsgen hydrate. To render these manifests yourself:",
        "",
        "```shell",
        f"git clone {metadata['repoURL']}",
        "# cd into the cloned directory",
        f"git checkout {metadata['drySha']}",
        *metadata.get("commands", []),
        "```",
    ]
    for ref in metadata.get("references", []):
        commit = ref["commit"]
        lines += ["", "## References", ""]
        lines.append(
            f"* [{commit.get('sha', '')[:7]}]({commit.get('repoURL', '')}): "
            f"{commit.get('subject', '')} ({commit.get('author', '')})"
        )
    return "\n".join(lines) + "\n"
