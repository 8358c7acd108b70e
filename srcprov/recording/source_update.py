"""`source-update`: CI, with a key of role `source`, acting as the source control system's provenance issuer.

On a push to a protected branch it records the commits the forge made (the merge button's merge, a squash,
a rebase) when they provably derive from verified commits, and appends the branch-update record to the new
tip's note. What cannot be derived stays `missing` and is named; nothing is guessed:

- a **merge** needs every parent verified and a tree that is exactly `git merge-tree --write-tree` of them
  (no hand edits, no conflict resolved by hand);
- a **squash** needs a verified pull-request head H whose commits not in the squash's parent P all verify,
  and either H's tree when H contains P (an up-to-date pull request) or the whitespace-exact patch-id of H's
  combined diff against merge-base(P, H) (the target moved on before the squash);
- a **rebase** copy needs a verified commit with its whitespace-exact patch-id and its author (email and
  time: a rebase keeps them).

Patch-ids here are `git patch-id --verbatim` (`--stable` with whitespace kept): `--stable` alone ignores
whitespace, and an indentation change is a change of meaning in Python or YAML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from srcprov.errors import SrcprovError
from srcprov.model.dsse import SOURCE_PROVENANCE
from srcprov.model.status import CommitStatus, RecordStatus
from srcprov.model.timefmt import utc_now
from srcprov.notes import list_notes, load_note, note_bytes, notes_lock, write_notes
from srcprov.recording.statements import (
    RecordInput,
    branch_update_statement,
    provenance_lines,
    provenance_statement,
    record_digest,
    sign_statement,
)

if TYPE_CHECKING:
    import pygit2

    from srcprov.git import Repo
    from srcprov.signing.gnupg import KeySigner
    from srcprov.trust.policy import Policy
    from srcprov.trust.verify import CommitResult

# A push to a protected branch adds a few commits; a range this long means a wrong --before.
MAX_RANGE = 1000
_ZERO = re.compile(r"^0+$")

PROVENANCE = "SRCPROV_PROVENANCE"  # every update since the policy's `since` has a branch-update record
VERIFIED = "SRCPROV_VERIFIED_COMMITS"  # every commit the update brought verifies
REVIEWED = "SRCPROV_REVIEWED"  # ... under a policy that requires at least one approving review (two parties)
CONTROLS = (PROVENANCE, VERIFIED, REVIEWED)


@dataclass
class Derivation:
    """A forge-made commit and the verified commits it derives from."""

    commit: str
    how: str  # merge | squash | rebase
    sources: list[str]


@dataclass
class Underived:
    """A commit of the update that stays as it is, and why."""

    commit: str
    status: str
    reason: str


@dataclass
class SourceUpdateResult:
    ref: str
    before: str
    after: str
    examined: int = 0
    recorded: list[Derivation] = field(default_factory=list)
    underived: list[Underived] = field(default_factory=list)
    controls: list[dict[str, str]] = field(default_factory=list)
    branch_update: str = "written"  # written | present (a run before wrote it) | none
    forced: bool = False  # BEFORE is not an ancestor of AFTER
    pushed: Any = None  # the sync result with --push
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every commit the update brought is verified (forge records included) and history was kept."""
        return not self.forced and not self.underived and (self.pushed is None or self.pushed.ok)

    def to_json(self) -> dict[str, Any]:
        """`source-update --json`."""
        return {
            "ok": self.ok, "ref": self.ref, "before": self.before, "after": self.after, "forced": self.forced,
            "examined": self.examined,
            "recorded": [{"commit": d.commit, "how": d.how, "derivedFrom": d.sources} for d in self.recorded],
            "missing": [{"commit": u.commit, "status": u.status, "reason": u.reason} for u in self.underived],
            "branchUpdate": self.branch_update, "controls": self.controls,
            "pushed": None if self.pushed is None else self.pushed.pushed,
        }

    def lines(self) -> list[str]:
        """What a person reads."""
        if self.forced:
            return [f"{self.ref}: {self.before[:12]} is not an ancestor of {self.after[:12]}: the branch was "
                    "force-pushed (history rewritten); no record written, and the controls' continuity ends here"]
        out = [f"forge {d.how} {d.commit[:12]} derives from {', '.join(s[:12] for s in d.sources)}: recorded"
               for d in self.recorded]
        out += [f"{u.commit[:12]} {u.status}: {u.reason}" for u in self.underived]
        what = {"written": "recorded", "present": "was already recorded", "none": "not recorded"}[self.branch_update]
        held = ", ".join(f"{c['name']} since {c['since']}" for c in self.controls) or "no control held"
        out.append(f"{self.ref} {self.before[:12]}..{self.after[:12]}: {self.examined} commit(s), "
                   f"{len(self.recorded)} forge record(s), {len(self.underived)} not derivable; "
                   f"branch update {what} ({held})")
        if self.pushed is not None:
            out += self.pushed.lines()
        return out


# --- matching (pure lookups: nothing is written) -------------------------------------------
def patch_ids(repo: Repo, items: Iterable[str], verbatim: bool = False) -> dict[str, str]:
    """commit -> `git patch-id --stable` (VERBATIM: whitespace kept) of its diff against its first parent, in one
    diff-tree | patch-id pass. An item `HEAD BASE` gives HEAD's combined diff against BASE instead (diff-tree's
    `<commit> <parent>` input line)."""
    items = list(dict.fromkeys(items))
    if not items:
        return {}
    diff = repo.git("diff-tree", "--stdin", "-p", "--root", "--no-color", "--no-renames", "--no-ext-diff",
                    input=("\n".join(items) + "\n").encode()).stdout
    out = repo.git("patch-id", "--verbatim" if verbatim else "--stable", input=diff).stdout.decode().split("\n")
    ids = {}
    for line in out:
        parts = line.split()
        if len(parts) == 2:
            ids[parts[1]] = parts[0]
    return ids


def merge_tree(repo: Repo, ours: str, theirs: str) -> str | None:
    """The tree `git merge-tree --write-tree` makes of two commits, or None when they conflict."""
    proc = repo.git("merge-tree", "--write-tree", "--no-messages", ours, theirs, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().split("\n", 1)[0].strip() or None


def squash_heads(repo: Repo, commit: pygit2.Commit, heads: list[str], pids: dict[str, str] | None = None) -> list[str]:
    """The HEADS whose pull request COMMIT (one parent) squashes: the same tree, or the same combined diff
    against their merge base with COMMIT's parent (the target moved on before the squash). PIDS: commit ->
    patch-id of each head's own diff (as patch_ids makes them), to reuse; the verbatim patch-id is used."""
    parent = str(commit.parent_ids[0])
    tree = str(commit.tree_id)
    pg = repo.pg
    # The head's tree only when the head contains the parent (an up-to-date pull request): else that tree
    # would also undo what the target gained since the pull request forked.
    same = sorted(h for h in heads if str(repo.commit(h).tree_id) == tree and pg.descendant_of(h, parent))
    if same:
        return same
    bases: dict[str, str] = {}
    for h in heads:
        base = pg.merge_base(parent, h)
        if base is not None and str(base) != h:
            bases[h] = str(base)
    if not bases:
        return []
    ids = patch_ids(repo, [str(commit.id), *(f"{h} {b}" for h, b in bases.items())], verbatim=True)
    mine = ids.get(str(commit.id))
    return sorted(h for h in bases if mine is not None and ids.get(h) == mine)


def squashed_range(repo: Repo, head: str, parent: str, limit: int = MAX_RANGE) -> list[str]:
    """The pull request's commits a squash of HEAD onto PARENT stands for: HEAD's not in PARENT, oldest first."""
    proc = repo.git("rev-list", "--reverse", f"--max-count={limit + 1}", head, f"^{parent}", "--")
    return proc.stdout.decode().split()


def origin_of(c: pygit2.Commit, pid: str | None) -> tuple[Any, ...]:
    """What makes two candidates one change: its patch, its author, its author time."""
    return (pid, c.author.raw_email, c.author.time, c.author.offset)


class Statuses:
    """Commit statuses under one policy, verified in batches as they are asked for."""

    def __init__(self, repo: Repo, policy: Policy) -> None:
        self.repo, self.policy = repo, policy
        self.results: dict[str, CommitResult] = {}
        self.derived: dict[str, bytes] = {}  # commit -> the forge record this run made for it

    def load(self, commits: Iterable[str]) -> None:
        """Verify the COMMITS not verified yet."""
        from srcprov.trust.verify import verify_commits

        todo = [c for c in dict.fromkeys(commits) if c not in self.results]
        if todo:
            for cr in verify_commits(self.repo, self.policy, todo):
                self.results[cr.commit] = cr

    def ok(self, commit: str) -> bool:
        """Verified, derived in this run, or history the policy needs no record for (require.since)."""
        if commit in self.derived:
            return True
        self.load([commit])
        cr = self.results[commit]
        return cr.status == CommitStatus.VERIFIED or not cr.required

    def why_not(self, commit: str) -> str:
        """A commit's status in a word, for a reason."""
        cr = self.results[commit]
        return str(cr.status)

    def record_line(self, commit: str) -> bytes | None:
        """The commit's verified commit-provenance record (the line a link's digest names), or None."""
        if commit in self.derived:
            return self.derived[commit]
        cr = self.results.get(commit)
        if cr is None or cr.best is None or cr.best.status != RecordStatus.VERIFIED:
            return None
        cr.load_lines(self.repo)
        return cr.best.line


def _pool(repo: Repo, after: str) -> list[str]:
    """Commits with a commit-provenance record that the new tip does not contain: pull requests' commits."""
    pg = repo.pg
    notes = list_notes(repo)
    noted = [cid for cid in notes if cid in pg]
    if not noted:
        return []
    # Only the notes of commits outside the new tip's history are read (a long history has many).
    proc = repo.git("rev-list", "--stdin", input=("\n".join([*noted, f"^{after}"]) + "\n").encode())
    outside = set(proc.stdout.decode().split())
    return [c for c in noted if c in outside and provenance_lines(note_bytes(load_note(repo, notes[c]).lines))]


def derive(repo: Repo, st: Statuses, target: str, pool: list[str], pids: dict[str, str]) -> Derivation | Underived:
    """How TARGET (a commit without a verified record) derives from verified commits, or why it does not."""
    commit = repo.commit(target)
    parents = [str(p) for p in commit.parent_ids]
    if len(parents) > 2:
        return Underived(target, "missing", "an octopus merge: git merge-tree cannot remake it")
    if len(parents) == 2:
        bad = [p for p in parents if not st.ok(p)]
        if bad:
            return Underived(target, "missing", f"a merge whose parent {bad[0][:12]} is {st.why_not(bad[0])}")
        made = merge_tree(repo, parents[0], parents[1])
        if made is None:
            return Underived(target, "missing", "a merge whose parents conflict: resolved by hand")
        if made != str(commit.tree_id):
            return Underived(target, "missing", "a merge whose tree is not what git merge-tree makes of its parents "
                                                "(hand edits)")
        return Derivation(target, "merge", parents)
    if not parents:
        return Underived(target, "missing", "a root commit derives from nothing")
    verified = [c for c in pool if st.ok(c)]
    # A rebase copy: a verified commit with the same (whitespace-exact) patch.
    mine = pids.get(target)
    # A rebase keeps the author (email and time): a copy under another author is no rebase by the forge.
    author = origin_of(commit, mine)
    cands = sorted(c for c in verified if mine is not None and pids.get(c) == mine
                   and len(repo.commit(c).parent_ids) == 1 and origin_of(repo.commit(c), pids.get(c)) == author)
    if cands:
        return Derivation(target, "rebase", cands)  # one change (same patch, author and time), maybe pushed twice
    heads = squash_heads(repo, commit, verified, pids)
    if len(heads) > 1:
        return Underived(target, "missing", f"squashes any of {', '.join(h[:12] for h in heads)}: not guessed between")
    if heads:
        squashed = squashed_range(repo, heads[0], parents[0])
        if len(squashed) > MAX_RANGE:
            return Underived(target, "missing", f"squashes more than {MAX_RANGE} commits")
        bad = [c for c in squashed if not st.ok(c)]
        if bad:
            return Underived(target, "missing", f"squashes {bad[0][:12]}, which is {st.why_not(bad[0])}")
        return Derivation(target, "squash", squashed)
    return Underived(target, "missing", "derives from no verified commit (not a clean merge, squash or rebase of one)")


# --- the branch update ---------------------------------------------------------------------
def _previous_update(st: Statuses, ref: str, before: str) -> dict[str, list[str]] | None:
    """The controls of the verified branch-update record for REF on BEFORE (the previous update), or None."""
    st.load([before])
    found = [r.facts for r in st.results[before].records
             if r.predicate_type == SOURCE_PROVENANCE and r.status == RecordStatus.VERIFIED and r.facts.get("ref") == ref]
    if not found:
        return None
    return max((f.get("controls") or {} for f in found), key=len)


def _starts_history(repo: Repo, policy: Policy, before: str) -> bool:
    """Whether BEFORE is the policy's `since` or one of its ancestors: where required history begins."""
    since = policy.require.since
    if not since:
        return False
    try:
        base = str(repo.resolve_commit(since).id)
    except SrcprovError:
        return False
    return before == base or repo.pg.descendant_of(base, before)


def controls_held(repo: Repo, st: Statuses, policy: Policy, ref: str, before: str, after: str, all_verified: bool,
                  now: str) -> list[dict[str, str]]:
    """The controls that hold for this update, each with the time and tip since which it has held continuously."""
    prev = _previous_update(st, ref, before)
    start = _starts_history(repo, policy, before)
    held = {PROVENANCE: prev is not None and PROVENANCE in prev or start,
            VERIFIED: all_verified,
            REVIEWED: all_verified and policy.require.reviews >= 1}
    out = []
    for name in CONTROLS:
        if not held[name]:
            continue
        since, since_commit = now, after
        if prev is not None and name in prev and isinstance(prev[name], list) and len(prev[name]) == 2:
            since, since_commit = prev[name]
        out.append({"name": name, "since": since, "sinceCommit": since_commit})
    return out


def _resolve(repo: Repo, rev: str, what: str) -> str:
    if _ZERO.match(rev):
        raise SrcprovError(f"{what} is all zeros: a new branch has no old tip to derive from; run source-update "
                           "from the branch's next push (or pass the commit it was created from as --before)")
    return str(repo.resolve_commit(rev).id)


def source_update(repo: Repo, policy: Policy, signer: KeySigner, before: str, after: str, ref: str,
                  actor: str | None = None) -> SourceUpdateResult:
    """Record the forge-made commits of BEFORE..AFTER that derive from verified commits, and the branch update of
    REF, signed by SIGNER, in one notes commit (none when there is nothing new: a second run writes nothing)."""
    after_id = _resolve(repo, after, "--after")
    before_id = _resolve(repo, before, "--before")
    res = SourceUpdateResult(ref, before_id, after_id)
    if before_id == after_id:
        res.branch_update = "none"  # the branch did not move
        return res
    if not repo.pg.descendant_of(after_id, before_id):
        res.forced, res.branch_update = True, "none"
        return res
    commits = repo.rev_list([after_id, f"^{before_id}"], ["--max-count", str(MAX_RANGE + 1)])
    if len(commits) > MAX_RANGE:
        raise SrcprovError(f"{before_id[:12]}..{after_id[:12]} holds more than {MAX_RANGE} commits: a push to a "
                           "protected branch adds a few; is --before the branch's previous tip?")
    res.examined = len(commits)
    st = Statuses(repo, policy)
    st.load(commits)
    targets = [c for c in reversed(commits)  # oldest first: a merge of a squash made in the same push
               if st.results[c].required and not _has_verified_record(st.results[c])]
    failing = [c for c in reversed(commits) if c not in targets and not st.ok(c)]
    res.underived += [Underived(c, st.why_not(c), st.results[c].reason) for c in failing]
    derivations: list[Derivation] = []
    if targets:
        pool = _pool(repo, after_id)
        st.load(pool)
        single = [t for t in targets if len(repo.commit(t).parent_ids) == 1]
        pids = patch_ids(repo, [*single, *pool], verbatim=True)
        for t in targets:
            d = derive(repo, st, t, pool, pids)
            if isinstance(d, Underived):
                d.status = st.why_not(t)
                res.underived.append(d)
                continue
            derivations.append(d)
            st.derived[t] = b""  # counts as verified for what comes after; its line is set when signed
    changes: dict[str, bytes] = {}
    for d in derivations:
        links = []
        for s in d.sources:
            link: dict[str, Any] = {"commit": s}
            line = st.record_line(s)
            if line:
                link["record"] = {"sha256": record_digest(line)}
            links.append(link)
        inp = RecordInput("forge", derived_from=tuple(links), how=d.how)
        line = sign_statement(provenance_statement(repo, repo.commit(d.commit), inp, signer.version), signer)
        st.derived[d.commit] = line
        changes[d.commit] = line + b"\n"
    res.recorded = derivations
    now = utc_now()
    res.controls = controls_held(repo, st, policy, ref, before_id, after_id, not res.underived, now)
    if _has_update(st, ref, before_id, after_id):
        res.branch_update = "present"
    else:
        update = branch_update_statement(repo, ref, before_id, after_id, actor, res.controls, now)
        changes[after_id] = changes.get(after_id, b"") + sign_statement(update, signer) + b"\n"
    if changes:
        with notes_lock(repo):
            write_notes(repo, changes, f"srcprov: source-update {ref} {before_id[:12]}..{after_id[:12]}")
    return res


def _has_verified_record(cr: CommitResult) -> bool:
    """Whether the commit has a verified commit-provenance record (it may still lack reviews: not the forge's)."""
    best = cr.best
    return best is not None and best.status == RecordStatus.VERIFIED


def _has_update(st: Statuses, ref: str, before: str, after: str) -> bool:
    """Whether AFTER already holds a verified branch-update record of this update (a second run writes none)."""
    st.load([after])
    return any(r.predicate_type == SOURCE_PROVENANCE and r.status == RecordStatus.VERIFIED
               and r.facts.get("ref") == ref and r.facts.get("before") == before for r in st.results[after].records)
