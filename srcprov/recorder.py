"""Writing commit-provenance records: the durable queue, the worker, and `record`."""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srcprov.errors import SrcprovError
from srcprov.notes import OVERSIZE, list_notes, load_note, note_bytes, notes_lock, write_notes
from srcprov.records import (
    RecordInput,
    predicate_of,
    provenance_lines,
    provenance_statement,
    record_digest,
    sign_statement,
)
from srcprov.timefmt import parse_duration, rfc3339

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.signing.gnupg import KeySigner

HOOK_TRIGGERS = ("post-commit", "post-merge", "post-rewrite")
# How long before the commit a pre-commit run still counts as this commit's (an editor open on the message).
PRECOMMIT_WINDOW = 3600


def make_signer(repo: Repo) -> KeySigner:
    """The configured signer: `srcprov.signingKey`, else `user.signingkey`, else the committer's email."""
    from srcprov.signing.gnupg import KeySigner, gpg_binary

    key = repo.config("srcprov.signingKey") or repo.config("user.signingkey") or repo.config("user.email")
    if not key:
        raise SrcprovError("no signing key: set `git config srcprov.signingKey <fingerprint>`")
    timeout = parse_duration(repo.config("srcprov.signTimeout") or "15s", "srcprov.signTimeout")
    return KeySigner(key, gpg_binary(repo.config("gpg.program")), timeout)


# --- the queue ------------------------------------------------------------------------------
# One file per entry in <common git dir>/srcprov/queue/, named <commit>.<trigger>: the shell shims
# can add one without Python, and the worker removes exactly the entries it wrote (no lost appends).


@dataclass
class Entry:
    commit: str
    trigger: str
    olds: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    order: int = 0


def queue_dir(repo: Repo) -> Path:
    """The queue directory, created on demand."""
    d = repo.state_dir() / "queue"
    d.mkdir(exist_ok=True)
    return d


def enqueue(repo: Repo, commit: str, trigger: str, olds: Iterable[str] = ()) -> None:
    """Add a durable queue entry for COMMIT (olds: the commits a rewrite replaced)."""
    path = queue_dir(repo) / f"{commit}.{trigger}"
    data = "".join(f"{o}\n" for o in olds).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def pending(repo: Repo) -> list[Entry]:
    """Queued entries merged per commit, oldest first; a rewrite entry carries its old commits."""
    qdir = repo.common_dir / "srcprov" / "queue"
    if not qdir.is_dir():
        return []
    files = []
    for p in qdir.iterdir():
        commit, _, trigger = p.name.partition(".")
        if trigger not in HOOK_TRIGGERS or len(commit) not in (40, 64):
            continue
        try:
            files.append((p.stat().st_mtime_ns, p.name, commit, trigger, p))
        except FileNotFoundError:
            continue
    files.sort()
    entries: dict[str, Entry] = {}
    for i, (_, _, commit, trigger, p) in enumerate(files):
        e = entries.setdefault(commit, Entry(commit, trigger, order=i))
        e.files.append(p)
        if trigger == "post-rewrite":
            e.trigger = "post-rewrite"
            try:
                olds = p.read_text().split()
            except FileNotFoundError:
                olds = []
            e.olds.extend(o for o in olds if o not in e.olds)
    return sorted(entries.values(), key=lambda e: e.order)


@dataclass
class Outcome:
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def precommit_for(repo: Repo, tree: str, commit_time: int) -> dict[str, Any] | None:
    """What pre-commit noted for this staged tree, if it ran shortly before the commit."""
    path = repo.common_dir / "srcprov" / "precommit" / tree
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
        inp = RecordInput(e.trigger, claims, pre, tuple(rewritten))
        st = provenance_statement(repo, commit, inp, signer.version)
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


# --- the worker -----------------------------------------------------------------------------


def _worker_lock(repo: Repo, wait: bool, timeout: float = 300.0) -> int | None:
    fd = os.open(repo.state_dir() / "worker.lock", os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if not wait or time.monotonic() > deadline:
                os.close(fd)
                return None
            time.sleep(0.05)


def log(repo: Repo, message: str) -> None:
    """Append one line to the worker log (kept short)."""
    path = repo.state_dir() / "worker.log"
    try:
        if path.exists() and path.stat().st_size > 256_000:
            path.replace(path.with_suffix(".log.old"))
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n")
    except OSError:
        pass


def drain(repo: Repo, *, wait: bool = False, signer: KeySigner | None = None) -> Outcome | None:
    """Write every queued record; None when another worker holds the lock (and WAIT is false).

    Loops until the queue is empty, and checks once more after releasing the lock, so an entry
    added while a worker was finishing is never stranded.
    """
    total = Outcome()
    while True:
        fd = _worker_lock(repo, wait)
        if fd is None:
            return None if not total.written and not total.failed else total
        try:
            while True:
                entries = pending(repo)
                if not entries:
                    break
                if signer is None:
                    signer = make_signer(repo)
                res = record_commits(repo, entries, signer)
                done = set(res.written) | set(res.skipped) | {c for c, why in res.failed if why.startswith("no such")}
                for e in entries:
                    if e.commit in done:
                        for p in e.files:
                            try:
                                p.unlink()
                            except FileNotFoundError:
                                pass
                total.written += res.written
                total.skipped += res.skipped
                total.failed += res.failed
                if res.failed and not (set(res.written) | set(res.skipped)):
                    break  # nothing moved: leave the rest queued for later
                if any(not why.startswith("no such") for _, why in res.failed):
                    break
        finally:
            os.close(fd)
        _clean_precommit(repo)
        if total.failed or not pending(repo):
            return total
        wait = False


def _clean_precommit(repo: Repo) -> None:
    d = repo.common_dir / "srcprov" / "precommit"
    if not d.is_dir():
        return
    cutoff = time.time() - 86400
    for p in d.iterdir():
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            pass


def flush_quietly(repo: Repo) -> None:
    """Write what is queued before reading records; a failure leaves it queued and warns once."""
    if not pending(repo):
        return
    try:
        res = drain(repo, wait=True)
    except SrcprovError as e:
        print(f"srcprov: warning: queued records not written: {e}", file=sys.stderr)
        return
    if res and res.failed:
        print(f"srcprov: warning: {len(res.failed)} queued record(s) not written: {res.failed[0][1]}", file=sys.stderr)


def run_worker(repo: Repo) -> int:
    """The detached worker: drain the queue, log what failed. Always exits 0."""
    try:
        res = drain(repo)
    except Exception as e:  # a worker must never die noisily; the entry stays queued
        log(repo, f"error: {e}")
        return 0
    if res:
        if res.written:
            log(repo, f"wrote {len(res.written)} record(s)")
        for commit, why in res.failed[:3]:
            log(repo, f"queued {commit[:12]}: {why}")
    return 0
