"""The durable queue of records to write: one file per entry, shared with the shell shims."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from srcprov import state
from srcprov.recording.signer import signing_config

if TYPE_CHECKING:
    from srcprov.git import Repo

HOOK_TRIGGERS = ("post-commit", "post-merge", "post-rewrite")

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
    repo.state_dir()
    d = state.queue(repo.common_dir)
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
    qdir = state.queue(repo.common_dir)
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
