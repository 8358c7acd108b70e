"""The notes ref as git sees it, read one way: fanout, ambiguous entries, oversize notes, append-only writes."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import time

from srcprov.git import Repo
from srcprov.notes import (
    AMBIGUOUS,
    OVERSIZE,
    commit_note,
    list_notes,
    load_note,
    note_bytes,
    notes_lock,
    write_notes,
)
from testing.run import run_srcprov

REF = "refs/notes/srcprov"


def _ids(n: int) -> list[str]:
    return [hashlib.sha1(str(i).encode()).hexdigest() for i in range(n)]


def _blob(repo, data: bytes) -> str:
    return subprocess.run(["git", "hash-object", "-w", "--stdin"], input=data, cwd=repo.path, capture_output=True,
                          check=True).stdout.decode().strip()


def _add_entry(repo, path: str, blob: str) -> str:
    """Commit a notes tree that is the current one plus PATH -> BLOB (`ab/cdef...` makes a fan-out entry)."""
    tip = repo.git("rev-parse", REF).stdout.strip()
    top = repo.git("ls-tree", tip).stdout
    head, _, rest = path.partition("/")
    if rest:
        sub = repo.git("mktree", input=f"100644 blob {blob}\t{rest}\n").stdout.strip()
        top += f"040000 tree {sub}\t{head}\n"
    else:
        top += f"100644 blob {blob}\t{path}\n"
    tree = repo.git("mktree", input=top).stdout.strip()
    new = repo.git("commit-tree", tree, "-p", tip, "-m", f"add {path}").stdout.strip()
    repo.git("update-ref", REF, new, tip)
    return new


def _cp_line(repo, rev="HEAD") -> str:
    for ln in repo.note(rev).splitlines():
        st = json.loads(base64.b64decode(json.loads(ln)["payload"]))
        if st["predicateType"] == "urn:srcprov:commit-provenance:v1":
            return ln
    raise AssertionError("no commit-provenance record")


def test_fanout_is_read_by_git_and_writes_only_add(repo):
    repo.commit()
    r = Repo(repo.path)
    ids = _ids(300)
    with notes_lock(r):
        write_notes(r, {i: note_bytes([f"rec {i}".encode()]) for i in ids})
    listed = repo.git("notes", "--ref", REF, "list").stdout.split("\n")
    assert len([ln for ln in listed if ln]) == 300 + 2  # plus the two commits the hooks recorded
    top = repo.git("ls-tree", REF).stdout
    assert "\ttree " not in top and " tree " in top  # two-hex-digit directories
    assert repo.git("notes", "--ref", REF, "show", ids[7]).stdout == f"rec {ids[7]}\n"
    with notes_lock(r):
        write_notes(r, {ids[8]: b"changed\n"})
    # Append-only: the old line stays beside the new one, sorted and unique.
    assert repo.git("notes", "--ref", REF, "show", ids[8]).stdout == f"changed\nrec {ids[8]}\n"
    assert commit_note(r, ids[8]).lines == (b"changed", f"rec {ids[8]}".encode())
    tip = repo.git("rev-parse", REF).stdout
    with notes_lock(r):
        write_notes(r, {ids[8]: b"changed\n"})  # nothing new: no notes commit
    assert repo.git("rev-parse", REF).stdout == tip
    notes = list_notes(r)
    assert len(notes) == 302 and not any(e.ambiguous for e in notes.values())
    assert notes[ids[9]].paths == (f"{ids[9][:2]}/{ids[9][2:]}",)


def test_flat_and_fanout_entry_make_every_record_malformed(repo):
    """Two paths naming one commit: verify --json and show say `malformed` ("ambiguous note") for the note as a
    whole; srcprov's writers keep both entries (nothing dropped), and adding a record unites them."""
    c = repo.commit()
    line = _cp_line(repo, c)
    other = _blob(repo, b"another note\n")
    _add_entry(repo, f"{c[:2]}/{c[2:]}", other)
    r = Repo(repo.path)
    entry = list_notes(r)[c]
    assert entry.ambiguous and entry.paths == (c, f"{c[:2]}/{c[2:]}")
    assert load_note(r, entry).malformed == AMBIGUOUS and load_note(r, entry).blob is None
    proc = repo.srcprov("verify", "--json", c, check=1)
    cr = json.loads(proc.stdout)["commits"][0]
    assert cr["status"] == "malformed" and cr["reason"] == AMBIGUOUS
    assert cr["records"] and all(x["status"] == "malformed" and x["reason"] == AMBIGUOUS for x in cr["records"])
    shown = json.loads(repo.srcprov("show", "--json", c).stdout)
    assert shown["status"] == "malformed"
    assert all(x["status"] == "malformed" and x["reason"] == AMBIGUOUS for x in shown["records"])
    assert AMBIGUOUS in repo.srcprov("show", c).stdout
    # Another commit's record rewrites the notes tree: both entries of c survive it.
    d = repo.commit()
    assert repo.note(d)
    assert list_notes(r)[c].blobs == entry.blobs
    # A record added to c itself is written as the union of both entries and the new line.
    repo.srcprov("record", "--force", c)
    after = list_notes(r)[c]
    assert not after.ambiguous
    lines = load_note(r, after).lines
    assert line.encode() in lines and b"another note" in lines and len(lines) == 3
    # An entry whose name is upper-case hex names the same commit to git, and so to us.
    _add_entry(repo, d.upper(), other)
    assert list_notes(r)[d].ambiguous


def test_note_over_4_mib_is_malformed_and_never_read(repo):
    c = repo.commit()
    line = _cp_line(repo, c).encode() + b"\n"
    data = line * (4 * 1024 * 1024 // len(line) + 1)
    assert len(data) > 4 * 1024 * 1024
    blob = _blob(repo, data)
    repo.git("notes", "--ref", REF, "add", "-f", "-C", blob, c)
    # Corrupt the loose object past its header: reading the blob now fails, reading its size does not.
    path = repo.path / ".git" / "objects" / blob[:2] / blob[2:]
    raw = path.read_bytes()
    os.chmod(path, 0o644)
    keep = min(4096, len(raw) // 2)
    path.write_bytes(raw[:keep] + bytes(b ^ 0x5A for b in raw[keep:]))
    assert repo.git("cat-file", "blob", blob, check=False).returncode != 0
    proc = run_srcprov(repo.path, "verify", "--json", "--strict", c, timeout=120)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    cr = doc["commits"][0]
    assert cr["status"] == "malformed" and [x["reason"] for x in cr["records"]] == [OVERSIZE]
    assert doc["removed"] == []  # the old record is not counted as removed: the note is unreadable, not shrunk
    assert load_note(Repo(repo.path), list_notes(Repo(repo.path))[c]).malformed == OVERSIZE
    # srcprov will not rewrite it: record --force fails with one line, and nothing else is lost.
    out = repo.srcprov("record", "--force", c, check=2)
    assert "over 4 MiB" in out.stderr and "Traceback" not in out.stderr
    d = repo.commit()  # the hook writes another commit's record: the big note stays as it was
    assert repo.note(d) and list_notes(Repo(repo.path))[c].blobs == (blob,)


def test_duplicate_lines_count_once_and_are_fast(repo):
    c = repo.commit()
    line = _cp_line(repo, c)
    repo.set_note(c, (line + "\n") * 2000)
    t0 = time.monotonic()
    cr = json.loads(repo.srcprov("verify", "--json", c).stdout)["commits"][0]
    assert cr["status"] == "verified" and len(cr["records"]) == 1
    repo.set_note(c, "garbage\n" * 20000)
    cr = json.loads(repo.srcprov("verify", "--json", c, check=1).stdout)["commits"][0]
    assert cr["status"] == "malformed" and len(cr["records"]) == 1
    assert time.monotonic() - t0 < 20


def test_record_force_adds_a_record_and_keeps_the_old_one(repo):
    c = repo.commit()
    old = _cp_line(repo, c)
    refused = repo.srcprov("record", c, check=2)
    assert "already has a commit-provenance record" in refused.stderr
    repo.srcprov("record", "--force", "--claim", "origin=vendored", c)
    lines = repo.note(c).splitlines()
    assert old in lines and len(lines) == 2
    origins = sorted(json.loads(base64.b64decode(json.loads(ln)["payload"]))["predicate"]["claims"]["origin"]
                     for ln in lines)
    assert origins == ["human", "vendored"]
    assert repo.note(c) == "".join(ln + "\n" for ln in sorted(lines))  # sorted, unique, one newline each
    doc = json.loads(repo.srcprov("verify", "--json", "--strict", c).stdout)
    assert doc["ok"] and doc["removed"] == []
