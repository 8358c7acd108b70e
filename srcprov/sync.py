"""`sync`: exchange the notes ref with a remote without losing a record.

The remote's notes ref is fetched into a tracking ref (never over the local one), merged into the local
ref as `git notes merge -s cat_sort_uniq` would (a three-way merge per note; where both sides changed a
note, the union of its lines, sorted and unique), and pushed without force. When another push wins the
race the remote rejects ours; then we fetch, merge and push again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from srcprov.errors import SrcprovError
from srcprov.notes import note_bytes, note_lines, notes_in_tree, notes_lock, notes_tip, write_notes_tree

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


def merge_notes(base: dict[str, bytes], ours: dict[str, bytes], theirs: dict[str, bytes]) -> dict[str, bytes]:
    """Three-way merge of notes (commit -> note bytes) as `git notes merge -s cat_sort_uniq` does it.

    A note changed on one side only takes that side (a removal too); changed on both, the union of
    their lines, sorted and unique. Pure: no git.
    """
    out: dict[str, bytes] = {}
    for cid in set(ours) | set(theirs) | set(base):
        b, o, t = base.get(cid), ours.get(cid), theirs.get(cid)
        if o == t:
            merged = o
        elif o == b:
            merged = t
        elif t == b:
            merged = o
        else:
            merged = note_bytes(note_lines(o or b"") + note_lines(t or b""))
        if merged is not None:
            out[cid] = merged
    return out


def _notes_at(repo: Repo, commit: str | None) -> dict[str, bytes]:
    if commit is None:
        return {}
    return {cid: repo.blob_data(blob) for cid, blob in notes_in_tree(repo, repo.pg[commit].tree).items()}


def _merge_into_local(repo: Repo, remote: str, tracking: str) -> str:
    """Merge TRACKING into the local notes ref (caller holds notes_lock); say what happened."""
    import pygit2

    pg = repo.pg
    ours, theirs = notes_tip(repo), _ref_tip(repo, tracking)
    if theirs is None or ours == theirs:
        return "already up to date"
    ref = repo.notes_ref
    zero = "0" * len(theirs)
    if ours is None:
        repo.git("update-ref", "-m", f"srcprov sync: from {remote}", ref, theirs, zero)
        return f"created {ref} from {remote}"
    base = pg.merge_base(ours, theirs)
    base_id = str(base) if base else None
    if base_id == theirs:
        return "already up to date"
    if base_id == ours:
        repo.git("update-ref", "-m", f"srcprov sync: fast-forward from {remote}", ref, theirs, ours)
        return f"fast-forward to {remote}'s notes"
    merged = merge_notes(_notes_at(repo, base_id), _notes_at(repo, ours), _notes_at(repo, theirs))
    tree = write_notes_tree(pg, {cid: str(pg.create_blob(data)) for cid, data in merged.items()})
    try:
        sig = pg.default_signature
    except (KeyError, pygit2.GitError):
        sig = pygit2.Signature("srcprov", "srcprov@localhost")
    msg = f"srcprov sync: merge {tracking} (cat_sort_uniq)\n"
    new = pg.create_commit(None, sig, sig, msg, tree, [pygit2.Oid(hex=ours), pygit2.Oid(hex=theirs)])
    repo.git("update-ref", "-m", msg.strip(), ref, str(new), ours)
    return f"merged {remote}'s notes ({len(merged)} note(s))"


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
    tip = notes_tip(repo)
    res.notes = len(notes_in_tree(repo, repo.pg[tip].tree)) if tip else 0
    return res
