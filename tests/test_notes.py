"""The notes ref as git sees it: flat while small, fanout past 256 notes, compare-and-swap updates."""

from __future__ import annotations

import hashlib

from srcprov.git import Repo
from srcprov.notes import note_bytes, notes_lock, read_all_notes, read_note, write_notes


def _ids(n: int) -> list[str]:
    return [hashlib.sha1(str(i).encode()).hexdigest() for i in range(n)]


def test_fanout_is_read_by_git(repo):
    repo.commit()
    r = Repo(repo.path)
    ids = _ids(300)
    with notes_lock(r):
        write_notes(r, {i: note_bytes([f"rec {i}".encode()]) for i in ids})
    listed = repo.git("notes", "--ref", "refs/notes/srcprov", "list").stdout.split("\n")
    assert len([ln for ln in listed if ln]) == 300 + 2  # plus the two commits the hooks recorded
    top = repo.git("ls-tree", "refs/notes/srcprov").stdout
    assert "\ttree " not in top and " tree " in top  # two-hex-digit directories
    assert repo.git("notes", "--ref", "refs/notes/srcprov", "show", ids[7]).stdout == f"rec {ids[7]}\n"
    with notes_lock(r):
        write_notes(r, {ids[7]: None, ids[8]: b"changed\n"})
    assert ids[7] not in read_all_notes(r)
    assert read_note(r, ids[8]) == b"changed\n"
    assert len(read_all_notes(r)) == 301


def test_note_bytes_sorted_unique():
    assert note_bytes([b"b", b"a", b"b"]) == b"a\nb\n"
