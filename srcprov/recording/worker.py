"""The worker: drains the queue under one lock, signing each record with the key its entry names."""

from __future__ import annotations

import fcntl
import os
import time
from typing import TYPE_CHECKING, Any, cast

from srcprov import state
from srcprov.errors import SrcprovError
from srcprov.recording.queue import Entry, pending
from srcprov.recording.signer import make_signer, signing_config
from srcprov.recording.writer import Outcome, record_commits

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.signing import Signer



def _worker_lock(repo: Repo, wait: bool, timeout: float = 300.0, stall: float | None = None) -> int | None:
    """The worker lock's fd, or None when another process holds it and WAIT is false, TIMEOUT passed,
    or (with STALL) the holder has not signed anything for STALL seconds (waiting on a passphrase)."""
    repo.state_dir()
    fd = os.open(state.worker_lock(repo.common_dir), os.O_RDWR | os.O_CREAT, 0o644)
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
                    last = max(began, state.worker_beat(repo.common_dir).stat().st_mtime)
                except OSError:
                    last = began
                if time.time() - last > stall:
                    os.close(fd)
                    return None
            time.sleep(0.05)


def _beat(repo: Repo) -> None:
    """Say that the lock holder is making progress (readers wait for it only while it does)."""
    try:
        state.worker_beat(repo.common_dir).touch()
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
    repo.state_dir()
    path = state.worker_log(repo.common_dir)
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


def await_evidence(repo: Repo, entries: list[Entry], limit: float, since: float | None = None) -> None:
    """Give git-ai's own post-commit hook (which may run after ours) up to LIMIT seconds to write its
    authorship log for each of ENTRIES, when git-ai is in use here (its notes ref exists or `git-ai` is installed).
    Each commit's LIMIT counts from when it was queued, or from SINCE (when the worker began) if that is later:
    an entry queued while the worker waited or signed gets its own time, one that already had it is not waited
    for again. Only the detached worker waits: the commit has already returned."""
    import shutil

    from srcprov.recording.evidence import GIT_AI_REF, has_note

    if limit <= 0 or not entries:
        return
    if GIT_AI_REF not in repo.pg.references and shutil.which("git-ai") is None:
        return
    start = time.time() if since is None else since

    def queued_at(e: Entry) -> float:
        times = []
        for p in e.files:
            try:
                times.append(p.stat().st_mtime)
            except OSError:
                pass
        return min(times, default=start)

    todo = {e.commit: max(queued_at(e), start) + limit for e in entries}
    while todo:
        now = time.time()
        todo = {c: d for c, d in todo.items() if d > now and not has_note(repo, GIT_AI_REF, c)}
        if todo:
            time.sleep(0.1)


def drain(repo: Repo, *, wait: bool = False, stall: float | None = None, sign_timeout: float | None = None,
          evidence_wait: float = 0.0) -> Outcome | None:
    """Write every queued record, each signed with the key its entry names; None when another
    worker holds the lock (and WAIT is false, or with STALL it stopped making progress).

    SIGN_TIMEOUT caps each signature's time (a reader must not wait on a passphrase). Loops until
    the queue is empty, and checks once more after releasing the lock, so an entry added while a
    worker was finishing is never stranded.
    """
    total = Outcome()
    tried: set[str] = set()  # commits that failed here: left queued for later
    started = time.time()  # the evidence wait of an entry queued before this counts from here
    while True:
        fd = _worker_lock(repo, wait, stall=stall)
        if fd is None:
            return None if not total.written and not total.failed else total
        busy = state.worker_busy(repo.common_dir)
        try:
            busy.touch()
        except OSError:
            pass  # the shims then start a worker for every commit, as without it
        try:
            while True:
                entries = [e for e in pending(repo) if e.commit not in tried]
                if not entries:
                    break
                await_evidence(repo, entries, evidence_wait, started)
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
                    total.warnings += res.warnings
                    total.written += res.written
                    total.skipped += res.skipped
                    total.failed += res.failed
                    tried |= {c for c, _ in res.failed}
        finally:
            try:
                busy.unlink()
            except OSError:
                pass
            os.close(fd)
        _clean_precommit(repo)
        # After letting the lock go, look again: a shim that found it held did not start a worker for what
        # it queued (see worker_running in hooks/srcprov-hook).
        if not [e for e in pending(repo) if e.commit not in tried]:
            return total
        wait = False


def _clean_precommit(repo: Repo) -> None:
    d = state.precommit(repo.common_dir)
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


def flush_queued(repo: Repo) -> str | None:
    """Write what is queued before reading records, without waiting on a passphrase: what cannot be
    signed within a second (or sits behind a worker that has stopped making progress) stays queued.
    Returns the warning to show when something stayed queued, else None."""
    queued = pending(repo)
    if not queued:
        return None
    hint = "`srcprov record --pending --wait` from a terminal writes them"
    try:
        res = drain(repo, wait=True, stall=READ_SIGN_TIMEOUT, sign_timeout=READ_SIGN_TIMEOUT)
    except (SrcprovError, OSError) as e:
        return f"{len(queued)} queued record(s) not written: {e}"
    if res is None:
        left = len(pending(repo))
        return f"{left} record(s) still queued: a worker is waiting on gpg (a passphrase?); {hint}" if left else None
    if res.failed:
        return f"{len(res.failed)} record(s) still queued: {res.failed[0][1]}"
    return None


def run_worker(repo: Repo) -> int:
    """The detached worker: drain the queue, log what failed. Always exits 0."""
    from srcprov.model.timefmt import parse_duration

    try:
        limit = parse_duration(repo.config("srcprov.evidenceWait") or "3s", "srcprov.evidenceWait")
    except SrcprovError:
        limit = 3.0
    try:
        res = drain(repo, evidence_wait=limit)
    except Exception as e:  # a worker must never die noisily; the entry stays queued
        log(repo, f"error: {e}")
        return 0
    if res:
        if res.written:
            log(repo, f"wrote {len(res.written)} record(s)")
        for warning in res.warnings[:3]:
            log(repo, f"warning: {warning}")
        for commit, why in res.failed[:3]:
            log(repo, f"queued {commit[:12]}: {why}")
    return 0
