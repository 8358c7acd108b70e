"""Writing commit-provenance records: build, sign and add them to the notes in one notes commit."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from srcprov import state
from srcprov.errors import SrcprovError
from srcprov.model.timefmt import rfc3339
from srcprov.notes import OVERSIZE, list_notes, load_note, note_bytes, notes_lock, write_notes
from srcprov.recording.statements import (
    RecordInput,
    predicate_of,
    provenance_lines,
    provenance_statement,
    record_digest,
    sign_statement,
)

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.recording.queue import Entry
    from srcprov.signing.gnupg import KeySigner

# How long before the commit a pre-commit run still counts as this commit's (an editor open on the message).
PRECOMMIT_WINDOW = 3600


@dataclass
class Outcome:
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def precommit_for(repo: Repo, tree: str, commit_time: int) -> dict[str, Any] | None:
    """What pre-commit noted for this staged tree, if it ran shortly before the commit."""
    path = state.precommit(repo.common_dir) / tree
    try:
        st = path.stat()
        text = path.read_text()
    except (FileNotFoundError, OSError):
        return None
    started = int(st.st_mtime)
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if isinstance(data.get("startedAtEpoch"), int):
        started = data["startedAtEpoch"]
    if not (commit_time - PRECOMMIT_WINDOW <= started <= commit_time + 5):
        return None
    out: dict[str, Any] = {"stagedTree": tree, "startedAt": rfc3339(started).replace("+00:00", "Z")}
    out["checks"] = data.get("checks", []) if isinstance(data.get("checks"), list) else []
    return out


def _replaceable(line: bytes) -> bool:
    """A hook's first record of a commit that a rewrite record for the same commit supersedes."""
    _, pred = predicate_of(line)
    if not pred:
        return False
    rec = pred.get("recorder", {})
    return isinstance(rec, dict) and rec.get("trigger") in ("post-commit", "post-merge") and "rewrittenFrom" not in pred


def record_commits(
    repo: Repo,
    entries: list[Entry],
    signer: KeySigner,
    *,
    force: bool = False,
    claims: tuple[str, ...] = (),
    strict_existing: bool = False,
    trace: tuple[bytes, str] | None = None,
) -> Outcome:
    """Sign and write commit-provenance records for ENTRIES in one notes commit.

    A commit that already has one is skipped (or, with strict_existing, an error) unless FORCE; a rewrite
    record is written beside the plain hook record of the same commit (amend runs both hooks). Notes are
    append-only: a record is only ever added, never replaced.
    """
    import pygit2

    out = Outcome()
    # One walk of the notes tree for the whole batch: a lookup per commit is linear in a flat tree.
    notes = list_notes(repo)

    def note_of(cid: str) -> bytes | None:
        return note_bytes(load_note(repo, notes.get(cid)).lines) or None

    made: dict[str, bytes] = {}  # commit -> new line
    add: dict[str, bool] = {}  # write although the note holds a commit-provenance record
    for e in entries:
        try:
            commit = repo.pg[e.commit]
            if not isinstance(commit, pygit2.Commit):
                raise KeyError
        except (KeyError, ValueError):
            out.failed.append((e.commit, "no such commit (gone?)"))
            continue
        note = load_note(repo, notes.get(e.commit))
        if note.malformed == OVERSIZE:
            out.failed.append((e.commit, "its note is over 4 MiB (malformed): srcprov will not rewrite it"))
            continue
        existing = provenance_lines(note_bytes(note.lines))
        supersede = e.trigger == "post-rewrite" and existing and all(_replaceable(x) for x in existing)
        if existing and not force and not supersede:
            if strict_existing:
                raise SrcprovError(f"{e.commit[:12]} already has a commit-provenance record (--force adds another)")
            out.skipped.append(e.commit)
            continue
        rewritten = []
        for old in e.olds:
            item: dict[str, Any] = {"commit": old}
            old_lines = [made[old]] if old in made else provenance_lines(note_of(old))
            if old_lines:
                item["record"] = {"sha256": record_digest(sorted(old_lines)[0])}
            rewritten.append(item)
        pre = precommit_for(repo, str(commit.tree_id), commit.committer.time)
        if pre is None and supersede:
            pre = next((p.get("precommit") for p in (predicate_of(x)[1] for x in existing) if p and p.get("precommit")), None)
        inp = RecordInput(e.trigger, claims, pre, tuple(rewritten), *(trace or (None, "")))
        st = provenance_statement(repo, commit, inp, signer.version, out.warnings)
        try:
            line = sign_statement(st, signer)
        except SrcprovError as err:
            out.failed.append((e.commit, str(err)))
            # gpg is broken for every commit alike: don't wait out one timeout per commit.
            for rest in entries[entries.index(e) + 1:]:
                out.failed.append((rest.commit, "not tried: signing failed"))
            break
        made[e.commit] = line
        add[e.commit] = bool(force or supersede)
    if made:
        with notes_lock(repo):
            notes = list_notes(repo)  # what is there now, under the lock
            changes: dict[str, bytes] = {}
            for cid, line in made.items():
                if provenance_lines(note_of(cid)) and not add[cid]:
                    out.skipped.append(cid)  # someone else recorded it meanwhile
                    continue
                changes[cid] = line + b"\n"  # write_notes adds it to what the note holds
                out.written.append(cid)
            write_notes(repo, changes, f"srcprov: record {len(changes)} commit(s)")
    return out


