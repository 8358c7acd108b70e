"""srcprov's notes ref: the one reader of notes trees and notes, the one (append-only) writer, its history.

Reading: `list_notes` lists a notes tree as git reads it (commit id -> every path naming it) and
`load_note` turns one entry into its record lines, or into the reason the whole note is malformed.
Every other reader (verify, record, review, repair, sync, the history walk) goes through these two.

Writing: `write_notes` only ever adds lines to a note (notes are append-only, see the SPEC's "The note").
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from srcprov import state
from srcprov.errors import SrcprovError

if TYPE_CHECKING:
    import pygit2

    from srcprov.git import Repo

MAX_NOTE_BYTES = 4 * 1024 * 1024  # a note over this is malformed as a whole and never read
AMBIGUOUS = "ambiguous note"
OVERSIZE = "note over 4 MiB"
FANOUT_AT = 256  # like git notes: past this many notes, one level of two-hex-digit directories

# git reads a notes path as hex in either case (notes.c: hexval), so must we: `ABCD...` names the same
# commit as `abcd...`, and counting both as one entry would hide an ambiguity from us but not from git.
_HEX = re.compile(r"[0-9a-fA-F]+")


def note_lines(data: bytes) -> list[bytes]:
    """The record lines of a note (blank lines dropped)."""
    return [line for line in data.split(b"\n") if line.strip()]


def note_bytes(lines: Iterable[bytes]) -> bytes:
    """A note's bytes: lines sorted and unique, one newline after each (what cat_sort_uniq keeps)."""
    return b"".join(line + b"\n" for line in sorted(set(lines)))


def notes_tip(repo: Repo) -> str | None:
    """The notes ref's commit id, or None when it does not exist yet."""
    try:
        return str(repo.pg.references[repo.notes_ref].resolve().target)
    except (KeyError, ValueError):
        return None


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteEntry:
    """Where a notes tree names one commit: every path (flat `<hex>` or fan-out `ab/<hex>`) and its blob."""

    commit: str
    paths: tuple[str, ...]
    blobs: tuple[str, ...]

    @property
    def ambiguous(self) -> bool:
        """Two or more paths name the commit: readers may disagree on which is its note."""
        return len(self.paths) > 1

    @property
    def blob(self) -> str | None:
        """The note's blob id, or None when the entry is ambiguous."""
        return None if self.ambiguous else self.blobs[0]


@dataclass(frozen=True)
class Note:
    """A commit's note as srcprov reads it: its record lines (unique, in note order), or why it is malformed.

    `blob` is None when there is no note or the note is malformed: nothing downstream may read it then.
    """

    entry: NoteEntry | None = None
    blob: str | None = None
    lines: tuple[bytes, ...] = ()
    malformed: str | None = None  # AMBIGUOUS or OVERSIZE: the whole note, every record in it

    @property
    def present(self) -> bool:
        """The notes tree names the commit at all."""
        return self.entry is not None


def _tree(repo: Repo, at: str | None) -> pygit2.Tree | None:
    """The notes tree AT names (a notes commit or a tree id; default: the notes ref's tip), or None."""
    import pygit2

    if at is None:
        at = notes_tip(repo)
        if at is None:
            return None
    try:
        obj = repo.pg[at]
    except (KeyError, ValueError):
        raise SrcprovError(f"no such notes commit or tree: {at}") from None
    if isinstance(obj, pygit2.Commit):
        return obj.tree
    if isinstance(obj, pygit2.Tree):
        return obj
    raise SrcprovError(f"{at} is neither a notes commit nor a tree")


def list_notes(repo: Repo, at: str | None = None, only: Iterable[str] | None = None) -> dict[str, NoteEntry]:
    """commit id -> its entry in the notes tree AT (a notes commit or tree id; default the notes ref's tip).

    Paths are read as git reads them (notes.c): flat or fan-out at any depth (two-hex-digit directories),
    hex in either case, a regular file holding the note. An entry named by two or more paths is
    `ambiguous`. ONLY limits the listing to those commits and enters only the fan-out directories that
    can hold them.
    """
    import pygit2

    tree = _tree(repo, at)
    if tree is None:
        return {}
    hexsz = 64 if repo.object_format == "sha256" else 40
    files = (pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE)  # git: S_ISREG, no symlink
    wanted = None if only is None else {c.lower() for c in only}
    # For a few commits, enter only the fan-out directories that can hold them; for many, every directory
    # (a prefix set of many commits costs more than the walk it saves).
    prefixes = None if wanted is None or len(wanted) > 256 else {w[:k] for w in wanted for k in range(2, len(w) - 1, 2)}
    found: dict[str, list[tuple[str, str]]] = {}
    stack: list[tuple[Any, str, str]] = [(tree, "", "")]
    while stack:
        node, hexpre, path = stack.pop()
        for entry in node:
            name = entry.name
            if name is None or not _HEX.fullmatch(name):
                continue  # a non-note entry: git keeps it, no commit is named by it
            full = hexpre + name.lower()
            if entry.type_str == "tree":
                if len(name) == 2 and len(full) < hexsz and (prefixes is None or full in prefixes):
                    stack.append((repo.pg[entry.id], full, f"{path}{name}/"))
            elif len(full) == hexsz and entry.filemode in files and (wanted is None or full in wanted):
                found.setdefault(full, []).append((path + name, str(entry.id)))
    out = {}
    for cid, pairs in found.items():
        pairs.sort(key=lambda pb: (pb[0].count("/"), pb[0]))
        out[cid] = NoteEntry(cid, tuple(p for p, _ in pairs), tuple(b for _, b in pairs))
    return out


def blob_size(repo: Repo, blob: str) -> int:
    """A blob's size from its object header: the blob itself is not read."""
    import pygit2

    odb = repo.pg.odb
    if hasattr(odb, "read_header"):
        return int(odb.read_header(pygit2.Oid(hex=blob))[1])
    out = repo.git("cat-file", "-s", blob).stdout  # an older pygit2: git reads the header alone too
    return int(out.decode().strip())


def blob_sizes(repo: Repo, blobs: Iterable[str]) -> dict[str, int]:
    """The sizes of many blobs from their headers, in one `git cat-file --batch-check` (none is read)."""
    wanted = list(dict.fromkeys(blobs))
    if not wanted:
        return {}
    out = repo.git("cat-file", "--batch-check=%(objectname) %(objectsize)", input="".join(f"{b}\n" for b in wanted).encode())
    sizes = {}
    for line in out.stdout.decode().splitlines():
        name, _, size = line.partition(" ")
        if size.isdigit():
            sizes[name] = int(size)
    return sizes


def _blob_lines(repo: Repo, blob: str, size: int | None = None) -> tuple[bytes, ...] | None:
    """A note blob's unique record lines in note order; None when it is over MAX_NOTE_BYTES (then unread)."""
    if (blob_size(repo, blob) if size is None else size) > MAX_NOTE_BYTES:
        return None
    return tuple(dict.fromkeys(note_lines(repo.blob_data(blob))))


def load_note(repo: Repo, entry: NoteEntry | None, size: int | None = None) -> Note:
    """The note an entry of `list_notes` names: its record lines (duplicates once), or why it is malformed.

    Two entries for one commit make the whole note malformed ("ambiguous note"), and so does a blob over
    4 MiB ("note over 4 MiB"), whose size is read from its header (or given: SIZE, from `blob_sizes`) and
    whose bytes are never read.
    """
    if entry is None:
        return Note()
    if entry.ambiguous:
        return Note(entry, malformed=AMBIGUOUS)
    lines = _blob_lines(repo, entry.blobs[0], size)
    if lines is None:
        return Note(entry, malformed=OVERSIZE)
    return Note(entry, entry.blobs[0], lines)


def commit_note(repo: Repo, commit_id: str, at: str | None = None) -> Note:
    """One commit's note on the notes ref (or in the notes commit or tree AT), through list_notes and load_note."""
    return load_note(repo, list_notes(repo, at, only=[commit_id]).get(commit_id.lower()))


def read_all_notes(repo: Repo) -> dict[str, str]:
    """commit id -> note blob id for the commits with exactly one note entry (an ambiguous one is malformed).

    A thin view of `list_notes` kept for callers that only ask which commits have a note.
    """
    return {cid: e.blobs[0] for cid, e in list_notes(repo).items() if not e.ambiguous}


def read_note(repo: Repo, commit_id: str) -> bytes | None:
    """A commit's record lines as note bytes; None when it has no note or a malformed one.

    A thin view of `commit_note` kept for callers that want bytes; new code should use commit_note.
    """
    note = commit_note(repo, commit_id)
    return None if note.blob is None else note_bytes(note.lines)


def readable_lines(repo: Repo, entry: NoteEntry | None) -> frozenset[bytes] | None:
    """Every record line any path of ENTRY holds (an ambiguous entry's notes together); None when one of
    its blobs is over 4 MiB (unread). What a writer must keep, and what the history walk compares."""
    if entry is None:
        return frozenset()
    out: set[bytes] = set()
    for blob in entry.blobs:
        lines = _blob_lines(repo, blob)
        if lines is None:
            return None
        out.update(lines)
    return frozenset(out)


# --- writing ----------------------------------------------------------------------------------


@contextmanager
def notes_lock(repo: Repo, timeout: float = 60.0) -> Iterator[None]:
    """Serialise srcprov's writers of the notes ref (all worktrees share the common git dir)."""
    repo.state_dir()
    path = state.notes_lock(repo.common_dir)
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


def write_notes(repo: Repo, changes: Mapping[str, bytes], message: str = "srcprov: records") -> None:
    """Add the record lines of CHANGES (commit id -> note bytes) to those commits' notes, in one notes commit.

    Append-only: each note becomes the union of what it holds when the ref moves and the lines given (sorted,
    unique), so no record is ever removed, not even one another writer added a moment ago. An ambiguous
    note becomes the union of all its entries; a note over 4 MiB cannot be added to (SrcprovError). The
    caller holds notes_lock; the ref moves by compare-and-swap (`git update-ref NEW OLD`) so a writer
    outside srcprov (a fetch into the ref, `git notes`) is never overwritten silently.
    """
    import pygit2

    if not changes:
        return
    pg = repo.pg
    for _attempt in range(3):
        old = notes_tip(repo)
        entries = list_notes(repo, old) if old else {}
        blobs = {cid: e.blobs for cid, e in entries.items()}
        changed = False
        for commit_id, data in changes.items():
            cid = commit_id.lower()
            have = readable_lines(repo, entries.get(cid))
            if have is None:
                raise SrcprovError(f"the note of {cid[:12]} is over 4 MiB (malformed): srcprov will not rewrite it")
            merged = note_bytes([*have, *note_lines(data)])
            entry = entries.get(cid)
            if entry is not None and not entry.ambiguous and set(note_lines(merged)) == have:
                continue  # nothing new for this note
            blobs[cid] = (str(pg.create_blob(merged)),)
            changed = True
        if not changed:
            return
        tree = write_notes_tree(pg, blobs)
        sig = _notes_signature(repo)
        new = pg.create_commit(None, sig, sig, message + "\n", tree, [pygit2.Oid(hex=old)] if old else [])
        zero = "0" * len(str(new))
        proc = repo.git("update-ref", "-m", message, repo.notes_ref, str(new), old or zero, check=False)
        if proc.returncode == 0:
            return
    raise SrcprovError(f"could not update {repo.notes_ref}: it kept moving under us")


def write_notes_tree(pg: pygit2.Repository, notes: Mapping[str, Sequence[str]]) -> pygit2.Oid:
    """Write a notes tree from commit id -> blob ids: flat while small, `ab/cdef...` fanout past FANOUT_AT.

    A commit with several blobs (an ambiguous note nobody could merge) keeps every one, each at another
    fan-out depth, so rewriting the tree never drops a note and never hides the ambiguity.
    """
    import pygit2

    fanout = 1 if len(notes) > FANOUT_AT else 0
    root: dict[str, Any] = {}
    for cid, blobs in notes.items():
        if isinstance(blobs, str):
            raise TypeError("write_notes_tree wants a tuple of blob ids per commit")
        if len(blobs) == 1:  # the usual case: one entry at the layout's depth
            if fanout:
                root.setdefault(cid[:2], {})[cid[2:]] = blobs[0]
            else:
                root[cid] = blobs[0]
            continue
        depths = [fanout, *(d for d in range(len(cid) // 2) if d != fanout)]
        if len(blobs) > len(depths):
            raise SrcprovError(f"cannot write the notes tree: {cid[:12]} has {len(blobs)} note entries")
        for blob, depth in zip(blobs, depths, strict=False):
            node = root
            for i in range(depth):
                node = node.setdefault(cid[2 * i:2 * i + 2], {})
            node[cid[2 * depth:]] = blob

    def build(node: dict[str, Any]) -> pygit2.Oid:
        tb = pg.TreeBuilder()
        for name in sorted(node):
            value = node[name]
            if isinstance(value, dict):
                tb.insert(name, build(value), pygit2.enums.FileMode.TREE)
            else:
                tb.insert(name, pygit2.Oid(hex=value), pygit2.enums.FileMode.BLOB)
        return tb.write()

    return build(root)


def _notes_signature(repo: Repo) -> pygit2.Signature:
    import pygit2

    try:
        return repo.pg.default_signature
    except (KeyError, pygit2.GitError):
        return pygit2.Signature("srcprov", "srcprov@localhost")


# --- history ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Removal:
    """A record line that once stood in COMMIT's note and no longer does; REMOVED_BY is the notes commit
    that dropped it (the newest one, when it was dropped more than once; a merge only when no commit
    removed it itself)."""

    commit: str
    sha256: str
    removed_by: str

    def to_json(self) -> dict[str, Any]:
        """An entry of `verify --json`'s `removed`."""
        return {"commit": self.commit, "record": {"sha256": self.sha256}, "removedBy": self.removed_by}


def removed_records(repo: Repo, commits: Iterable[str]) -> list[Removal]:
    """The records of COMMITS that stood in their note somewhere on the notes ref's history but not now.

    Walks every commit of the notes ref (first-parent and merges alike), newest first, and diffs each
    notes tree against each parent's: subtrees and blobs with the same id are skipped unread, and only
    the notes of COMMITS are read, each blob once. A commit whose current note is over 4 MiB is left out
    (its note is malformed as a whole).
    """
    import pygit2

    order = {c.lower(): i for i, c in enumerate(dict.fromkeys(commits))}
    tip = notes_tip(repo)
    if tip is None or not order:
        return []
    pg = repo.pg
    current: dict[str, frozenset[bytes]] = {}
    now = list_notes(repo, tip, only=order)
    for cid in order:
        lines = readable_lines(repo, now.get(cid))
        if lines is not None:
            current[cid] = lines
    wanted = set(current)
    seen_lines: dict[tuple[str, str], frozenset[bytes]] = {}

    def lines_at(tree_id: str, cids: set[str]) -> dict[str, frozenset[bytes]]:
        entries = list_notes(repo, tree_id, only=cids)
        out = {}
        for cid in cids:
            entry = entries.get(cid)
            key = (cid, ",".join(entry.blobs) if entry else "")
            if key not in seen_lines:
                seen_lines[key] = readable_lines(repo, entry) or frozenset()
            out[cid] = seen_lines[key]
        return out

    # A removal a commit made itself (a one-parent commit, or a merge dropping what every parent held) names
    # that commit; a merge that only took one side's removal is named only when nothing else removed it.
    strong: dict[tuple[str, bytes], str] = {}
    weak: dict[tuple[str, bytes], str] = {}
    for commit in pg.walk(pygit2.Oid(hex=tip), pygit2.enums.SortMode.TOPOLOGICAL):
        parents = []
        for pid in commit.parent_ids:
            try:
                parents.append(repo.commit(pid))
            except KeyError:
                continue  # a shallow notes history: what lies beyond is not here to compare
        changed: set[str] = set()
        for parent in parents:
            if parent.tree_id == commit.tree_id:
                continue
            for delta in parent.tree.diff_to_tree(commit.tree).deltas:
                for path in (delta.old_file.path, delta.new_file.path):
                    cid = path.replace("/", "").lower()
                    if cid in wanted:
                        changed.add(cid)
        if not changed:
            continue
        after = lines_at(str(commit.tree_id), changed)
        befores = [lines_at(str(p.tree_id), changed) for p in parents]
        for cid in changed:
            held = [b[cid] for b in befores]
            for line in frozenset().union(*held) - after[cid] - current[cid]:
                found = strong if all(line in h for h in held) else weak
                found.setdefault((cid, line), str(commit.id))
    removals = [Removal(cid, hashlib.sha256(line).hexdigest(), by) for (cid, line), by in {**weak, **strong}.items()]
    removals.sort(key=lambda r: (order[r.commit], r.sha256))
    return removals
