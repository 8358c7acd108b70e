"""Reading line-level origin evidence for a commit at record time, and the `attribution` it becomes.

The evidence stays where its tool wrote it (git-ai's `refs/notes/ai`, an Agent Trace record); the record
carries its format, where it was read, the sha256 of its bytes and its line counts, so the signed digest
binds exactly those bytes and the report uses their ranges only while they still hash to it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from srcprov.errors import SrcprovError
from srcprov.model.evidence import (
    AGENT_TRACE,
    GIT_AI,
    MAX_EVIDENCE_BYTES,
    Evidence,
    EvidenceError,
    parse_agent_trace,
    parse_git_ai,
)

if TYPE_CHECKING:
    import pygit2

    from srcprov.git import Repo

GIT_AI_REF = "refs/notes/ai"
AGENT_TRACE_REF = "refs/notes/agent-trace"


@dataclass
class Found:
    """Evidence for one commit: its bytes, where they were read, and what they say (None: malformed)."""

    data: bytes
    source: str
    evidence: Evidence | None
    error: str = ""


def note_blob(repo: Repo, ref: str, commit_id: str) -> bytes | None:
    """The bytes of COMMIT_ID's note in notes ref REF (flat or fanned-out), or None (also when REF is not a
    notes commit). EvidenceError for a note over MAX_EVIDENCE_BYTES, whose bytes are never read."""
    import pygit2

    from srcprov.notes import blob_size

    try:
        tip = repo.pg.references[ref].resolve().peel()
    except (KeyError, ValueError, pygit2.GitError):
        return None
    if not isinstance(tip, pygit2.Commit):
        return None  # a pushed ref naming a blob or tree holds no notes
    tree = tip.tree
    found = []
    for path in (commit_id, f"{commit_id[:2]}/{commit_id[2:]}", f"{commit_id[:2]}/{commit_id[2:4]}/{commit_id[4:]}"):
        try:
            obj = tree[path]
        except KeyError:
            continue
        if obj.type_str == "blob":
            found.append(obj)
    if len(found) > 1:
        # Two notes for one commit (a flat and a fanned-out path): which one a tool reads is its own choice,
        # so neither is this commit's evidence (as srcprov's own notes: "ambiguous note").
        raise EvidenceError("ambiguous note: the commit has notes at more than one path")
    if not found:
        return None
    if blob_size(repo, str(found[0].id)) > MAX_EVIDENCE_BYTES:
        raise EvidenceError("evidence over 4 MiB")
    return bytes(found[0].data)


def find_evidence(repo: Repo, commit_id: str, trace: bytes | None = None, trace_name: str = "") -> Found | None:
    """The evidence for COMMIT_ID: TRACE (an Agent Trace record given with --trace), else a git-ai authorship
    log on refs/notes/ai, else an Agent Trace record on refs/notes/agent-trace; None when there is none."""
    # A trace on refs/notes/agent-trace must name the commit: git copies notes onto a rewritten commit when
    # notes.rewriteRef says so, and a copy of a trace that names no revision would pass for the new one's.
    candidates: list[tuple[bytes | None, str, Any]] = [
        (trace, trace_name or "a file", lambda d: parse_agent_trace(d, commit_id)),
        (None, GIT_AI_REF, parse_git_ai),
        (None, AGENT_TRACE_REF, lambda d: parse_agent_trace(d, commit_id, require_revision=True)),
    ]
    for data, source, parse in candidates:
        try:
            if data is None and source in (GIT_AI_REF, AGENT_TRACE_REF):
                data = note_blob(repo, source, commit_id)
            if data is None:
                continue
            ev = parse(data)
        except EvidenceError as e:
            return Found(data or b"", source, None, str(e))
        return Found(data, source, ev)
    return None


def _line_counts(commit: pygit2.Commit, paths: list[str]) -> dict[str, int]:
    """Lines of each of PATHS as COMMIT has it (0 when it has no such file)."""
    out = {}
    for p in paths:
        try:
            obj = commit.tree[p]
        except KeyError:
            out[p] = 0
            continue
        data = bytes(obj.data) if obj.type_str == "blob" else b""
        out[p] = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return out


def attribution(found: Found, commit: pygit2.Commit, insertions: int) -> dict[str, Any]:
    """The record's `attribution` for well-formed evidence: lines past a file's end are not counted, and lines
    the commit added that the evidence does not cover count as `unknown`."""
    assert found.evidence is not None
    ev = found.evidence
    counts = ev.counts(_line_counts(commit, list(ev.lines)))
    covered = counts["ai"] + counts["human"] + counts["mixed"]
    counts["unknown"] += max(0, insertions - covered - counts["unknown"])
    return {"format": ev.format, "source": found.source, "sha256": hashlib.sha256(found.data).hexdigest(),
            "lines": counts}


# Format -> (the notes ref its tool keeps it on, its parser given (bytes, the commit it is for)).
PARSERS: dict[str, tuple[str, Any]] = {GIT_AI: (GIT_AI_REF, lambda data, _commit: parse_git_ai(data)),
                                       AGENT_TRACE: (AGENT_TRACE_REF, parse_agent_trace)}


def signed_evidence(repo: Repo, commit_id: str, fmt: str, sha256: str) -> Evidence | str:
    """The evidence a verified record's `attribution` binds: the commit's note on the ref where FMT's tool
    keeps it (`record --trace` keeps its file there too), parsed only when its bytes hash to SHA256.
    A reason (`absent`, `changed`, `malformed`) when it cannot be used."""
    try:
        ref, parse = PARSERS[fmt]
    except KeyError:
        return "malformed"
    try:
        data = note_blob(repo, ref, commit_id)
    except EvidenceError:
        return "changed"  # over 4 MiB: never what a record signed
    if data is None:
        return "absent"
    if hashlib.sha256(data).hexdigest() != sha256:
        return "changed"
    try:
        return parse(data, commit_id)  # type: ignore[no-any-return]
    except EvidenceError:
        return "malformed"  # signed as well-formed by an older parser: nothing half-read is used


def keep_trace(repo: Repo, commit_id: str, data: bytes) -> str | None:
    """Keep an Agent Trace record given with `record --trace FILE` as COMMIT_ID's note on refs/notes/agent-trace
    (byte for byte), so the report can find the evidence the record's digest binds. A note already there
    with other bytes is never replaced: then a warning."""
    try:
        parse_agent_trace(data, commit_id)
    except EvidenceError:
        return None  # not recorded as evidence (the record said why): nothing to keep
    try:
        held = note_blob(repo, AGENT_TRACE_REF, commit_id)
    except EvidenceError:
        held = b""  # an oversized note: another trace
    if held == data:
        return None
    if held is not None:
        return (f"{commit_id[:12]}: {AGENT_TRACE_REF} already holds another trace for this commit; "
                "the report cannot use the given one")
    try:
        blob = repo.git("hash-object", "-w", "--stdin", input=data).stdout.decode().strip()
        repo.git("notes", "--ref", AGENT_TRACE_REF, "add", "-C", blob, commit_id)
    except SrcprovError as e:
        return f"{commit_id[:12]}: could not keep the trace on {AGENT_TRACE_REF} ({e}); the report cannot use it"
    return None


def has_note(repo: Repo, ref: str, commit_id: str) -> bool:
    """Whether COMMIT_ID has a note in notes ref REF (an oversized one too)."""
    try:
        return note_blob(repo, ref, commit_id) is not None
    except EvidenceError:
        return True
