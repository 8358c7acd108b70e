"""srcprov's own state in the common git directory (`<git common dir>/srcprov/`), named in one place.

The shell shims (`hooks/srcprov-hook`) write three of these without Python — `queue/<commit>.<trigger>`,
`precommit/<tree>` and read `keycheck`/`keycheck.until` — so their names are a protocol: change them
there too. Everything here is a cache or a queue: deleting the directory loses no record that was
written, only records still queued.
"""

from __future__ import annotations

from pathlib import Path

DIR = "srcprov"


def root(common_dir: Path) -> Path:
    """The state directory (not created)."""
    return common_dir / DIR


def queue(common_dir: Path) -> Path:
    """One file per queued record, `<commit>.<trigger>` (written by the post-* shims)."""
    return root(common_dir) / "queue"


def precommit(common_dir: Path) -> Path:
    """What pre-commit saw, one JSON file per staged tree (written by the pre-commit shim or hook)."""
    return root(common_dir) / "precommit"


def keycheck(common_dir: Path) -> tuple[Path, Path]:
    """(identity of the key last found usable, the file whose mtime says until when the shim trusts it)."""
    d = root(common_dir)
    return d / "keycheck", d / "keycheck.until"


def worker_lock(common_dir: Path) -> Path:
    """Held by the one worker that drains the queue."""
    return root(common_dir) / "worker.lock"


def worker_busy(common_dir: Path) -> Path:
    """Present while a drain holds the worker lock (made after taking it, removed before letting it go): the
    post-commit shim asks flock(1) about the lock only when it is there (a protocol with hooks/srcprov-hook)."""
    return root(common_dir) / "worker.busy"


def worker_beat(common_dir: Path) -> Path:
    """Touched by the worker after each signature (readers wait on it only while it beats)."""
    return root(common_dir) / "worker.beat"


def worker_log(common_dir: Path) -> Path:
    """The detached worker's log (kept short)."""
    return root(common_dir) / "worker.log"


def notes_lock(common_dir: Path) -> Path:
    """Held while srcprov writes the notes ref."""
    return root(common_dir) / "notes.lock"


def cache(common_dir: Path) -> Path:
    """Verification verdicts and report attribution, keyed so that a stale entry is never read."""
    return root(common_dir) / "cache"


def host_key(common_dir: Path) -> Path:
    """The host-name key when the user's config directory cannot hold it."""
    return root(common_dir) / "host-key"
