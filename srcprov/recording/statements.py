"""Build a commit's records from facts (commit provenance, review), sign them into note lines."""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from srcprov import __version__
from srcprov.errors import SrcprovError
from srcprov.model.commit import commit_facts
from srcprov.model.dsse import (
    COMMIT_PROVENANCE,
    PAYLOAD_TYPE,
    REVIEW,
    SOURCE_PROVENANCE,
    Envelope,
    Malformed,
    Signature,
    parse_envelope,
    parse_statement,
    statement,
    statement_bytes,
)
from srcprov.model.timefmt import utc_now
from srcprov.model.urls import url_name
from srcprov.notes import note_lines
from srcprov.recording.claims import claims_from
from srcprov.recording.hostid import hostname_id

if TYPE_CHECKING:
    from pathlib import Path

    import pygit2

    from srcprov.git import Repo

@lru_cache(maxsize=1)
def _git_version() -> str:
    from srcprov.git import run_git

    try:
        out = run_git(["--version"]).stdout.decode().strip()
    except SrcprovError:
        return "unknown"
    return out.removeprefix("git version ")


def environment(gpg_version: str, common_dir: Path | None = None) -> dict[str, str]:
    """Where the record was made, from an allow-list: never environment variables or names in clear (the host
    name is keyed-hashed, see srcprov.recording.hostid; COMMON_DIR is where its key goes when the user's config cannot
    hold it)."""
    return {
        "os": platform.system().lower(),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "git": _git_version(),
        "gpg": gpg_version,
        "hostname": hostname_id(common_dir),
    }


def change_stats(repo: Repo, commit: pygit2.Commit) -> dict[str, int]:
    """Files, insertions and deletions against the first parent (the empty tree for a root)."""
    pg = repo.pg
    if commit.parents:
        diff = pg.diff(commit.parents[0], commit)
    else:
        diff = commit.tree.diff_to_tree(swap=True)
    diff.find_similar()
    st = diff.stats
    return {"files": st.files_changed, "insertions": st.insertions, "deletions": st.deletions}


def subject(repo: Repo, commit_id: str) -> list[dict[str, Any]]:
    """A statement's subject naming one commit of this repository."""
    return [{"name": repo_name(repo), "digest": {"gitCommit": commit_id}}]


def repo_name(repo: Repo) -> str:
    """The repository's name: the last part of its origin URL once credentials, query and fragment are
    stripped (a token in the URL never reaches a record), else its directory's."""
    url = repo.config("remote.origin.url")
    name = url_name(url) if url else ""
    if name:
        return name
    base = repo.workdir or repo.common_dir
    name = base.name
    return name.removesuffix(".git") if base == repo.common_dir else name


@dataclass(frozen=True)
class RecordInput:
    """Everything a commit-provenance record says beyond the commit itself."""

    trigger: str
    claims: tuple[str, ...] = ()
    precommit: dict[str, Any] | None = None
    rewritten_from: tuple[dict[str, Any], ...] = ()
    trace: bytes | None = None  # an Agent Trace record given with `record --trace FILE`
    trace_name: str = ""
    derived_from: tuple[dict[str, Any], ...] = ()  # a forge record's sources ({"commit", "record": {"sha256"}})
    how: str | None = None  # a forge record's: merge | squash | rebase


def provenance_statement(repo: Repo, commit: pygit2.Commit, inp: RecordInput, gpg_version: str,
                         warnings: list[str] | None = None) -> dict[str, Any]:
    """The commit-provenance statement for COMMIT; what could not be used (malformed evidence) goes to WARNINGS."""
    from srcprov.recording.evidence import attribution, find_evidence

    facts = commit_facts(commit)
    message = commit.raw_message.decode("utf-8", "replace")
    pred: dict[str, Any] = {
        "commit": facts,
        "recorder": {"tool": "srcprov", "version": __version__, "trigger": inp.trigger},
        "recordedAt": utc_now(),
        "environment": environment(gpg_version, repo.common_dir),
    }
    if inp.precommit is not None:
        pred["precommit"] = inp.precommit
    changes = change_stats(repo, commit)
    # A forge's commit had no developer's tool writing evidence for it: whatever the notes refs hold for it
    # came from whoever could push them, so the source key signs none (its reviews came from the PR's commits).
    found = None if inp.trigger == "forge" else find_evidence(repo, facts["id"], inp.trace, inp.trace_name)
    attrib = None
    if found is not None and found.evidence is None and warnings is not None:
        warnings.append(f"{facts['id'][:12]}: origin evidence in {found.source} is malformed ({found.error}): "
                        "recorded without attribution")
    elif found is not None:
        attrib = attribution(found, commit, changes["insertions"])
    ai_lines = attrib is not None and (attrib["lines"]["ai"] + attrib["lines"]["mixed"]) > 0
    pred["claims"] = claims_from(message, list(inp.claims), ai_lines=ai_lines)
    pred["changes"] = changes
    if attrib is not None:
        pred["attribution"] = attrib
    if inp.rewritten_from:
        pred["rewrittenFrom"] = list(inp.rewritten_from)
    if inp.how is not None:
        pred["derivedFrom"] = list(inp.derived_from)
        pred["how"] = inp.how
    return statement(subject(repo, facts["id"]), COMMIT_PROVENANCE, pred)


def branch_update_statement(repo: Repo, ref: str, before: str, after: str, actor: str | None,
                            controls: list[dict[str, str]], updated_at: str) -> dict[str, Any]:
    """The source-provenance statement of one update of REF from BEFORE to AFTER (its subject: AFTER)."""
    pred: dict[str, Any] = {"ref": ref, "before": before, "after": after}
    if actor:
        pred["actor"] = actor
    pred["controls"] = controls
    pred["updatedAt"] = updated_at
    return statement(subject(repo, after), SOURCE_PROVENANCE, pred)


def review_statement(
    repo: Repo, commit: pygit2.Commit, reviewer: dict[str, str], verdict: str, comment: str
) -> dict[str, Any]:
    """A review statement for COMMIT."""
    if verdict not in ("approved", "rejected"):
        raise SrcprovError(f"bad verdict {verdict!r}: approved or rejected")
    pred = {
        "commit": {"id": str(commit.id), "tree": str(commit.tree_id)},
        "reviewer": reviewer,
        "verdict": verdict,
        "comment": comment,
        "reviewedAt": utc_now(),
    }
    return statement(subject(repo, str(commit.id)), REVIEW, pred)


def sign_statement(st: dict[str, Any], signer: Any) -> bytes:
    """Sign a statement into one DSSE envelope line (signer: a srcprov.signing.Signer)."""
    payload = statement_bytes(st)
    env = Envelope(PAYLOAD_TYPE, payload, ())
    signed = signer.sign(env.pae())
    return Envelope(PAYLOAD_TYPE, payload, (Signature(signed.keyid, signed.sig),)).to_line()


def provenance_lines(note: bytes | None) -> list[bytes]:
    """The commit-provenance record lines of a note (reviews and unreadable lines left out)."""
    return [ln for ln in note_lines(note or b"") if predicate_of(ln)[0] == COMMIT_PROVENANCE]


def record_digest(line: bytes) -> str:
    """sha256 of a record line's bytes (as rewrittenFrom names an old record)."""
    return hashlib.sha256(line).hexdigest()


def predicate_of(line: bytes) -> tuple[str | None, dict[str, Any] | None]:
    """(predicateType, predicate) of a record line, without checking its signature; (None, None) if unreadable."""
    try:
        st = parse_statement(parse_envelope(line))
    except Malformed:
        return None, None
    return st["predicateType"], st["predicate"]


def dumps(obj: Any) -> str:
    """Pretty JSON for people."""
    return json.dumps(obj, indent=2, ensure_ascii=False)
