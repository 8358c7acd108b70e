"""`sync`: exchange the notes ref with a remote without losing a record.

The remote's notes ref is fetched into a tracking ref (never over the local one), merged into the local
ref as a union of record lines per commit (cat_sort_uniq, always: a note one side shrank still gets the
other side's lines back, so a removal never propagates, neither by a merge nor by a fast-forward), and
pushed without force. When another push wins the race the remote rejects ours; then we fetch, merge and
push again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from srcprov.errors import SrcprovError
from srcprov.notes import NoteEntry, list_notes, note_bytes, notes_lock, notes_tip, readable_lines, write_notes_tree

if TYPE_CHECKING:
    from srcprov.git import Repo

RETRIES = 3
# What git says when the remote ref moved between our fetch and our push (or during it).
_RACE = ("non-fast-forward", "fetch first", "stale info", "cannot lock ref", "failed to update ref",
         "incorrect old value", "but expected")


@dataclass
class SyncResult:
    remote: str
    ref: str
    tracking: str
    merges: list[str] = field(default_factory=list)  # what each merge did
    pushed: bool = False
    attempts: int = 0
    notes: int = 0  # commits with a note after the sync
    fetched: bool = True
    ok: bool = True
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """`sync --json`."""
        return {"remote": self.remote, "ref": self.ref, "tracking": self.tracking, "fetched": self.fetched,
                "merges": self.merges, "pushed": self.pushed, "attempts": self.attempts, "notes": self.notes}

    def lines(self) -> list[str]:
        """What a person reads."""
        out = [f"fetched {self.remote} {self.ref} into {self.tracking}" if self.fetched
               else f"{self.remote} has no {self.ref} yet"]
        out += [f"merge: {m}" for m in self.merges]
        if self.pushed:
            out.append(f"pushed {self.ref} to {self.remote}" + (f" (after {self.attempts - 1} retry(ies))" if self.attempts > 1 else ""))
        else:
            out.append(f"{self.remote} {self.ref} is up to date")
        out.append(f"{self.notes} commit(s) with records")
        return out


def tracking_ref(repo: Repo, remote: str) -> str:
    """Where the remote's notes are fetched to: `refs/notes/remotes/<remote>/<name>`."""
    name = repo.notes_ref.removeprefix("refs/notes/")
    return f"refs/notes/remotes/{remote}/{name}"


def _fetch(repo: Repo, remote: str, tracking: str) -> bool:
    """Fetch the remote's notes ref into TRACKING; False when the remote has none."""
    proc = repo.git("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote,
                    f"+{repo.notes_ref}:{tracking}", check=False)
    if proc.returncode == 0:
        return True
    err = proc.stderr.decode("utf-8", "replace")
    if "couldn't find remote ref" in err or "could not find remote ref" in err.lower():
        return False
    msg = [ln for ln in err.strip().splitlines() if ln.strip()]
    raise SrcprovError(f"cannot fetch {repo.notes_ref} from {remote}: {(msg[-1] if msg else 'git fetch failed').removeprefix('fatal: ')}")


def _ref_tip(repo: Repo, ref: str) -> str | None:
    try:
        return str(repo.pg.references[ref].resolve().target)
    except (KeyError, ValueError):
        return None


@dataclass
class NotesMerge:
    """The union of two notes trees (commit -> blob ids) and whether each side already holds all of it."""

    notes: dict[str, tuple[str, ...]]
    ours_has_all: bool  # the union's lines are ours' lines (theirs adds nothing)
    theirs_has_all: bool  # the union's lines are theirs' lines (ours adds nothing)


def union_notes(repo: Repo, ours: Mapping[str, NoteEntry], theirs: Mapping[str, NoteEntry]) -> NotesMerge:
    """Merge two notes trees as `git notes merge -s cat_sort_uniq`, without a base: per commit, the union
    of both notes' record lines, sorted and unique. A removal on one side never propagates.

    A note both sides hold with the same blobs is kept unread; a note one side's lines already cover keeps
    that side's blob; notes that cannot be read (over 4 MiB) are kept side by side (an ambiguous note,
    `malformed` but lossless) rather than read.
    """
    pg = repo.pg
    out: dict[str, tuple[str, ...]] = {}
    ours_all = theirs_all = True
    for cid in sorted(set(ours) | set(theirs)):
        o, t = ours.get(cid), theirs.get(cid)
        if o is None or t is None:
            only = o or t
            assert only is not None  # cid came from one of the two
            out[cid] = only.blobs
            ours_all &= o is not None
            theirs_all &= t is not None
            continue
        if o.blobs == t.blobs:
            out[cid] = o.blobs
            continue
        lo, lt = readable_lines(repo, o), readable_lines(repo, t)
        if lo is None or lt is None:
            out[cid] = tuple(dict.fromkeys(o.blobs + t.blobs))
            ours_all = theirs_all = False
            continue
        ours_all &= lt <= lo
        theirs_all &= lo <= lt
        if lo <= lt:
            out[cid] = t.blobs
        elif lt <= lo:
            out[cid] = o.blobs
        else:
            out[cid] = (str(pg.create_blob(note_bytes(lo | lt))),)
    return NotesMerge(out, ours_all, theirs_all)


def _merge_into_local(repo: Repo, remote: str, tracking: str) -> str:
    """Merge TRACKING into the local notes ref (caller holds notes_lock); say what happened.

    The local ref fast-forwards to theirs only when theirs holds every record ours holds; it stays when
    theirs is already in its history and ours holds every record of theirs; anything else is a merge
    commit (ours, theirs) whose tree is the union.
    """
    import pygit2

    pg = repo.pg
    ours, theirs = notes_tip(repo), _ref_tip(repo, tracking)
    if theirs is None or ours == theirs:
        return "already up to date"
    ref = repo.notes_ref
    if ours is None:
        repo.git("update-ref", "-m", f"srcprov sync: from {remote}", ref, theirs, "0" * len(theirs))
        return f"created {ref} from {remote}"
    merged = union_notes(repo, list_notes(repo, ours), list_notes(repo, theirs))
    base = pg.merge_base(ours, theirs)
    base_id = str(base) if base else None
    if base_id == theirs and merged.ours_has_all:
        return "already up to date"
    if base_id == ours and merged.theirs_has_all:
        repo.git("update-ref", "-m", f"srcprov sync: fast-forward from {remote}", ref, theirs, ours)
        return f"fast-forward to {remote}'s notes"
    tree = write_notes_tree(pg, merged.notes)
    try:
        sig = pg.default_signature
    except (KeyError, pygit2.GitError):
        sig = pygit2.Signature("srcprov", "srcprov@localhost")
    msg = f"srcprov sync: merge {tracking} (cat_sort_uniq)\n"
    new = pg.create_commit(None, sig, sig, msg, tree, [pygit2.Oid(hex=ours), pygit2.Oid(hex=theirs)])
    repo.git("update-ref", "-m", msg.strip(), ref, str(new), ours)
    return f"merged {remote}'s notes ({len(merged.notes)} note(s))"


def _push(repo: Repo, remote: str) -> tuple[bool, str]:
    """Push the notes ref without force: (True, '') on success, (False, why) when the remote moved."""
    ref = repo.notes_ref
    proc = repo.git("push", "--quiet", "--porcelain", remote, f"{ref}:{ref}", check=False)
    if proc.returncode == 0:
        return True, ""
    text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    if any(word in text for word in _RACE):
        return False, text
    lines = [ln for ln in proc.stderr.decode("utf-8", "replace").strip().splitlines() if ln.strip()]
    why = lines[-1].removeprefix("fatal: ").removeprefix("error: ") if lines else "git push failed"
    raise SrcprovError(f"cannot push {ref} to {remote}: {why}")


def sync(repo: Repo, remote: str = "origin") -> SyncResult:
    """Fetch, merge and push the notes ref; retry (3 times) when another push won the race."""
    if remote not in {r.name for r in repo.pg.remotes}:
        raise SrcprovError(f"no remote named {remote!r} (git remote -v lists them)")
    tracking = tracking_ref(repo, remote)
    res = SyncResult(remote, repo.notes_ref, tracking)
    for attempt in range(1, RETRIES + 2):
        res.attempts = attempt
        res.fetched = _fetch(repo, remote, tracking)
        with notes_lock(repo):
            res.merges.append(_merge_into_local(repo, remote, tracking))
        local, theirs = notes_tip(repo), _ref_tip(repo, tracking) if res.fetched else None
        if local is None or local == theirs:
            break  # nothing to push: the remote has all we have
        ok, _why = _push(repo, remote)
        if ok:
            res.pushed = True
            # The tracking ref now mirrors what the remote holds.
            repo.git("update-ref", "-m", "srcprov sync: pushed", tracking, local)
            break
    else:
        raise SrcprovError(f"gave up pushing {repo.notes_ref} to {remote}: other pushes won the race "
                           f"{RETRIES + 1} times; run `srcprov sync --remote {remote}` again")
    res.notes = len(list_notes(repo))
    return res
