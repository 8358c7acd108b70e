"""srcprov's notes ref: one JSON Lines note per commit, read with pygit2, written in batches."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from srcprov.errors import SrcprovError

if TYPE_CHECKING:
    import pygit2

    from srcprov.git import Repo


def note_lines(data: bytes) -> list[bytes]:
    """The record lines of a note (blank lines dropped)."""
    return [line for line in data.split(b"\n") if line.strip()]


def note_bytes(lines: list[bytes]) -> bytes:
    """A note's bytes: lines sorted and unique, one newline after each (what cat_sort_uniq keeps)."""
    return b"".join(line + b"\n" for line in sorted(set(lines)))


def notes_tip(repo: Repo) -> str | None:
    """The notes ref's commit id, or None when it does not exist yet."""
    try:
        return str(repo.pg.references[repo.notes_ref].resolve().target)
    except (KeyError, ValueError):
        return None


def read_all_notes(repo: Repo) -> dict[str, str]:
    """commit id -> note blob id, for every note on the notes ref."""
    tip = notes_tip(repo)
    if tip is None:
        return {}
    return notes_in_tree(repo, repo.pg[tip].tree)


def notes_in_tree(repo: Repo, tree: object, prefix: str = "") -> dict[str, str]:
    """commit id -> note blob id in a notes tree, fanout or flat, as git reads it."""
    out: dict[str, str] = {}
    for entry in tree:  # type: ignore[attr-defined]
        name = prefix + entry.name
        if entry.type_str == "tree" and len(name) < 40 and all(c in "0123456789abcdef" for c in entry.name):
            out.update(notes_in_tree(repo, repo.pg[entry.id], name))
        elif entry.type_str == "blob" and len(name) in (40, 64):
            out[name] = str(entry.id)
    return out


def read_note(repo: Repo, commit_id: str) -> bytes | None:
    """The bytes of COMMIT_ID's note, or None."""
    try:
        note = repo.pg.lookup_note(commit_id, repo.notes_ref)
    except KeyError:
        return None
    return repo.blob_data(note.id)


@contextmanager
def notes_lock(repo: Repo, timeout: float = 60.0) -> Iterator[None]:
    """Serialise srcprov's writers of the notes ref (all worktrees share the common git dir)."""
    path = repo.state_dir() / "notes.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SrcprovError(f"another srcprov process holds {path} (waited {timeout:g}s)") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)


def write_notes(repo: Repo, changes: Mapping[str, bytes | None], message: str = "srcprov: records") -> None:
    """Set (or, with None, remove) the notes of several commits in one notes commit.

    The caller holds notes_lock. The ref moves by compare-and-swap (`git update-ref NEW OLD`) so a
    writer outside srcprov (a fetch into the ref, `git notes`) is never overwritten silently.
    """
    import pygit2

    if not changes:
        return
    pg = repo.pg
    for _attempt in range(3):
        old = notes_tip(repo)
        current = notes_in_tree(repo, pg[old].tree) if old else {}
        for commit_id, data in changes.items():
            if data is None:
                current.pop(commit_id, None)
            else:
                current[commit_id] = str(pg.create_blob(data))
        tree = write_notes_tree(pg, current)
        sig = _notes_signature(repo)
        new = pg.create_commit(None, sig, sig, message + "\n", tree, [pygit2.Oid(hex=old)] if old else [])
        zero = "0" * len(str(new))
        proc = repo.git("update-ref", "-m", message, repo.notes_ref, str(new), old or zero, check=False)
        if proc.returncode == 0:
            return
    raise SrcprovError(f"could not update {repo.notes_ref}: it kept moving under us")


FANOUT_AT = 256  # like git notes: past this many notes, one level of two-hex-digit directories


def write_notes_tree(pg: pygit2.Repository, notes: dict[str, str]) -> pygit2.Oid:
    """Write a notes tree: flat while small, `ab/cdef...` fanout beyond FANOUT_AT notes."""
    import pygit2

    blob = pygit2.enums.FileMode.BLOB
    top = pg.TreeBuilder()
    if len(notes) <= FANOUT_AT:
        for name in sorted(notes):
            top.insert(name, pygit2.Oid(hex=notes[name]), blob)
        return top.write()
    groups: dict[str, list[str]] = {}
    for name in notes:
        groups.setdefault(name[:2], []).append(name)
    for prefix in sorted(groups):
        sub = pg.TreeBuilder()
        for name in sorted(groups[prefix]):
            sub.insert(name[2:], pygit2.Oid(hex=notes[name]), blob)
        top.insert(prefix, sub.write(), pygit2.enums.FileMode.TREE)
    return top.write()


def _notes_signature(repo: Repo) -> pygit2.Signature:
    import pygit2

    try:
        return repo.pg.default_signature
    except (KeyError, pygit2.GitError):
        return pygit2.Signature("srcprov", "srcprov@localhost")
