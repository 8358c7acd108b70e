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
from typing import TYPE_CHECKING, Any, cast

from srcprov.errors import SrcprovError
from srcprov.model.timefmt import parse_duration, rfc3339
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
    from srcprov.signing import Signer

HOOK_TRIGGERS = ("post-commit", "post-merge", "post-rewrite")
# How long before the commit a pre-commit run still counts as this commit's (an editor open on the message).
PRECOMMIT_WINDOW = 3600


def signing_config(repo: Repo) -> tuple[str, str | None]:
    """The configured signing format and key, resolved as the hook shims resolve them.

    Format: `srcprov.signingFormat`, else `gpg.format`, else openpgp. Key: `srcprov.signingKey`, else
    `user.signingkey`, else (OpenPGP only: gpg finds a key by email) the committer's email; None when there is none.
    """
    fmt = repo.config("srcprov.signingFormat") or repo.config("gpg.format") or "openpgp"
    key = repo.config("srcprov.signingKey") or repo.config("user.signingkey")
    if not key and fmt in ("openpgp", "gpg"):
        key = repo.config("user.email")
    return fmt, key or None


SIGNING_FORMATS = ("openpgp", "ssh", "pem")


def make_signer(repo: Repo, key: str | None = None, fmt: str | None = None, timeout: float | None = None) -> Signer:
    """A signer for KEY in FMT (default: as configured now); TIMEOUT caps `srcprov.signTimeout`."""
    cfg_fmt, cfg_key = signing_config(repo)
    fmt = fmt or cfg_fmt
    if fmt == "gpg":
        fmt = "openpgp"
    if fmt == "x509":
        raise SrcprovError("gpg.format=x509 (S/MIME certificates through gpgsm) is not supported: set "
                           "`git config srcprov.signingFormat` to openpgp, ssh or pem for srcprov's records")
    if fmt not in SIGNING_FORMATS:
        raise SrcprovError(f"unknown signing format {fmt!r} (srcprov.signingFormat, or gpg.format): "
                           f"{', '.join(SIGNING_FORMATS)}")
    key = key or cfg_key
    if not key:
        what = {"openpgp": "<fingerprint>", "ssh": "<SSH key file, or key::<public key line>>",
                "pem": "<PEM private key file>"}[fmt]
        raise SrcprovError(f"no signing key: set `git config srcprov.signingKey {what}`")
    limit = parse_duration(repo.config("srcprov.signTimeout") or "15s", "srcprov.signTimeout")
    if timeout is not None:
        limit = min(limit, timeout)
    if fmt == "ssh":
        from srcprov.signing.ssh import SshSigner

        return SshSigner(key, limit)
    if fmt == "pem":
        from srcprov.signing.pem import PemSigner

        return PemSigner(key, repo.config("srcprov.pemPassphraseEnv") or None)
    from srcprov.signing.gnupg import KeySigner, gpg_binary

    return KeySigner(key, gpg_binary(repo.config("gpg.program")), limit)


# --- the queue ------------------------------------------------------------------------------
# One file per entry in <common git dir>/srcprov/queue/, named <commit>.<trigger>: the shell shims
# can add one without Python, and the worker removes exactly the entries it wrote (no lost appends).
# Its lines: `format=<signing format>` and `key=<signing key>` (what was configured when the commit
# was made: the record is signed with that key, whoever drains the queue), and for post-rewrite the
# old commits, one per line.


@dataclass
class Entry:
    commit: str
    trigger: str
    olds: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    order: int = 0
    key: str | None = None  # the signing key named by the queue entry (None: as configured now)
    fmt: str | None = None


def queue_dir(repo: Repo) -> Path:
    """The queue directory, created on demand."""
    d = repo.state_dir() / "queue"
    d.mkdir(exist_ok=True)
    return d


def enqueue(repo: Repo, commit: str, trigger: str, olds: Iterable[str] = ()) -> None:
    """Add a durable queue entry for COMMIT naming the signing key configured now (olds: what a rewrite replaced)."""
    fmt, key = signing_config(repo)
    path = queue_dir(repo) / f"{commit}.{trigger}"
    lines = [f"format={fmt}"] + ([f"key={key}"] if key and "\n" not in key else []) + list(olds)
    data = "".join(f"{x}\n" for x in lines).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_entry(path: Path) -> tuple[list[str], dict[str, str]]:
    """A queue file's old commits and its settings (`format=`, `key=`)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return [], {}
    olds: list[str] = []
    attrs: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            attrs[name] = value
        elif line.strip():
            olds.append(line.strip())
    return olds, attrs


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
        olds, attrs = _read_entry(p)
        if attrs.get("key"):
            e.key, e.fmt = attrs["key"], attrs.get("format") or None
        if trigger == "post-rewrite":
            e.trigger = "post-rewrite"
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
    signer: Signer,
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


def _worker_lock(repo: Repo, wait: bool, timeout: float = 300.0, stall: float | None = None) -> int | None:
    """The worker lock's fd, or None when another process holds it and WAIT is false, TIMEOUT passed,
    or (with STALL) the holder has not signed anything for STALL seconds (waiting on a passphrase)."""
    fd = os.open(repo.state_dir() / "worker.lock", os.O_RDWR | os.O_CREAT, 0o644)
    start, began = time.monotonic(), time.time()
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _beat(repo)
            return fd
        except BlockingIOError:
            if not wait or time.monotonic() - start > timeout:
                os.close(fd)
                return None
            if stall is not None:
                try:
                    last = max(began, (repo.common_dir / "srcprov" / "worker.beat").stat().st_mtime)
                except OSError:
                    last = began
                if time.time() - last > stall:
                    os.close(fd)
                    return None
            time.sleep(0.05)


def _beat(repo: Repo) -> None:
    """Say that the lock holder is making progress (readers wait for it only while it does)."""
    try:
        (repo.common_dir / "srcprov" / "worker.beat").touch()
    except OSError:
        pass


class _BeatingSigner:
    """A signer that marks progress after each signature (see _worker_lock's STALL)."""

    def __init__(self, repo: Repo, signer: Signer) -> None:
        self._repo = repo
        self._signer = signer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._signer, name)

    def sign(self, data: bytes) -> Any:
        out = self._signer.sign(data)
        _beat(self._repo)
        return out


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


def _by_key(repo: Repo, entries: list[Entry]) -> dict[tuple[str, str | None], list[Entry]]:
    """ENTRIES grouped by the key each is to be signed with (an entry naming none: the key configured now)."""
    groups: dict[tuple[str, str | None], list[Entry]] = {}
    now: tuple[str, str | None] | None = None
    for e in entries:
        if e.key:
            k: tuple[str, str | None] = (e.fmt or "openpgp", e.key)
        else:
            now = now or signing_config(repo)
            k = now
        groups.setdefault(k, []).append(e)
    return groups


def drain(repo: Repo, *, wait: bool = False, stall: float | None = None, sign_timeout: float | None = None) -> Outcome | None:
    """Write every queued record, each signed with the key its entry names; None when another
    worker holds the lock (and WAIT is false, or with STALL it stopped making progress).

    SIGN_TIMEOUT caps each signature's time (a reader must not wait on a passphrase). Loops until
    the queue is empty, and checks once more after releasing the lock, so an entry added while a
    worker was finishing is never stranded.
    """
    total = Outcome()
    tried: set[str] = set()  # commits that failed here: left queued for later
    while True:
        fd = _worker_lock(repo, wait, stall=stall)
        if fd is None:
            return None if not total.written and not total.failed else total
        try:
            while True:
                entries = [e for e in pending(repo) if e.commit not in tried]
                if not entries:
                    break
                for (fmt, key), group in _by_key(repo, entries).items():
                    try:
                        signer = make_signer(repo, key, fmt, sign_timeout)
                        res = record_commits(repo, group, cast("Signer", _BeatingSigner(repo, signer)))
                    except SrcprovError as err:
                        res = Outcome(failed=[(e.commit, str(err)) for e in group])
                    gone = {c for c, why in res.failed if why.startswith("no such")}
                    done = set(res.written) | set(res.skipped) | gone
                    for e in group:
                        if e.commit in done:
                            for p in e.files:
                                try:
                                    p.unlink()
                                except FileNotFoundError:
                                    pass
                    total.written += res.written
                    total.skipped += res.skipped
                    total.failed += res.failed
                    tried |= {c for c, _ in res.failed}
        finally:
            os.close(fd)
        _clean_precommit(repo)
        if total.failed or not [e for e in pending(repo) if e.commit not in tried]:
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


READ_SIGN_TIMEOUT = 1.0  # what a command that reads records waits for one queued signature


def flush_quietly(repo: Repo) -> None:
    """Write what is queued before reading records, without waiting on a passphrase: what cannot be
    signed within a second (or sits behind a worker that has stopped making progress) stays queued,
    and one warning says so."""
    queued = pending(repo)
    if not queued:
        return
    hint = "`srcprov record --pending --wait` from a terminal writes them"
    try:
        res = drain(repo, wait=True, stall=READ_SIGN_TIMEOUT, sign_timeout=READ_SIGN_TIMEOUT)
    except (SrcprovError, OSError) as e:
        print(f"srcprov: warning: {len(queued)} queued record(s) not written: {e}", file=sys.stderr)
        return
    if res is None:
        left = len(pending(repo))
        if left:
            print(f"srcprov: warning: {left} record(s) still queued: a worker is waiting on gpg (a passphrase?); {hint}",
                  file=sys.stderr)
        return
    if res.failed:
        print(f"srcprov: warning: {len(res.failed)} record(s) still queued: {res.failed[0][1]}", file=sys.stderr)


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
