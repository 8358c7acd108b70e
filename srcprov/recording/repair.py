"""`repair`: records for commits made where no hook ran (a forge's squash or rebase merge, a
cherry-pick, filter-repo), written from the recorded commits they came from.

A commit with no commit-provenance record is matched to recorded commits with the same tree (a squash
merge of an up-to-date pull request has its head's tree; then the source is the set of the pull
request's commits), else with the same `git patch-id --stable` (a rebase merge, a cherry-pick), else to a
recorded head whose combined diff against its merge base with the commit's parent has the commit's
whitespace-exact patch-id (a squash onto a target that moved on, matched as `source-update` does). A
candidate that is an ancestor of the commit is no source (a revert can bring an old tree back). Several
candidates that are not one change (different patch-ids, authors or author times) are reported, never
guessed between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from srcprov.notes import NoteEntry, list_notes, load_note, note_bytes
from srcprov.recording.source_update import origin_of, patch_ids, squash_heads
from srcprov.recording.statements import provenance_lines

if TYPE_CHECKING:
    import pygit2

    from srcprov.git import Repo


@dataclass
class Match:
    commit: str
    sources: list[str]  # the recorded commits it came from (rewrittenFrom)
    how: str  # tree | squash | patch-id


@dataclass
class RepairResult:
    dry_run: bool
    repaired: list[Match] = field(default_factory=list)
    ambiguous: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (commit, how, candidates)
    unmatched: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    examined: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when a record could not be written."""
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        """`repair --json`."""
        return {
            "dryRun": self.dry_run,
            "examined": self.examined,
            "repaired": [{"commit": m.commit, "rewrittenFrom": m.sources, "match": m.how} for m in self.repaired],
            "ambiguous": [{"commit": c, "match": how, "candidates": cands} for c, how, cands in self.ambiguous],
            "unmatched": self.unmatched,
            "failed": [{"commit": c, "reason": r} for c, r in self.failed],
        }

    def lines(self) -> list[str]:
        """What a person reads."""
        verb = "would repair" if self.dry_run else "repaired"
        out = [f"{verb} {m.commit[:12]} from {', '.join(s[:12] for s in m.sources)} (same {m.how})"
               for m in self.repaired]
        out += [f"ambiguous {c[:12]}: same {how} as {', '.join(x[:12] for x in cands)}: not repaired "
                f"(record it with `srcprov record --backfill {c[:12]}` if you know its origin)"
                for c, how, cands in self.ambiguous]
        out += [f"unmatched {c[:12]}: no recorded commit has its tree or patch, and it squashes no recorded "
                f"pull request: not repaired" for c in self.unmatched]
        if self.unmatched:
            out.append(f"{len(self.unmatched)} commit(s) without a record match no recorded commit")
        if not (self.repaired or self.ambiguous or self.unmatched):
            out.append(f"nothing to repair: every one of {self.examined} commit(s) has a record")
        return out


def _has_provenance(repo: Repo, entry: NoteEntry | None) -> bool:
    return bool(provenance_lines(note_bytes(load_note(repo, entry).lines)))


def find_sources(repo: Repo, targets: list[str]) -> RepairResult:
    """Match TARGETS (commits without records) to recorded commits; pure lookup, writes nothing."""
    pg = repo.pg
    res = RepairResult(dry_run=True)
    notes = list_notes(repo)
    recorded = []
    for cid, entry in notes.items():
        if cid in pg and _has_provenance(repo, entry):
            recorded.append(cid)
    by_tree: dict[str, list[str]] = {}
    for cid in recorded:
        by_tree.setdefault(str(repo.commit(cid).tree_id), []).append(cid)
    pids: dict[str, str] | None = None
    by_pid: dict[str, list[str]] = {}

    def not_ancestor(target: str, cands: list[str]) -> list[str]:
        # A source is neither an ancestor (a revert brings an old tree back) nor a descendant.
        return sorted(c for c in cands
                      if c != target and not pg.descendant_of(target, c) and not pg.descendant_of(c, target))

    for t in targets:
        commit = repo.commit(t)
        cands = not_ancestor(t, by_tree.get(str(commit.tree_id), []))
        how = "tree"
        if not cands and len(commit.parent_ids) < 2:
            if pids is None:
                # One pass for every target and every recorded commit, computed only when needed.
                pids = patch_ids(repo, dict.fromkeys([*targets, *recorded]))
                for cid in recorded:
                    if cid in pids:
                        by_pid.setdefault(pids[cid], []).append(cid)
            pid = pids.get(t)
            cands = not_ancestor(t, by_pid.get(pid, [])) if pid else []
            how = "patch-id"
        if not cands and len(commit.parent_ids) == 1:
            heads = squash_heads(repo, commit, not_ancestor(t, recorded))
            if len(heads) > 1:
                res.ambiguous.append((t, "squash", heads))
                continue
            moved = _moved_squash(repo, commit, heads[0]) if heads else None
            if moved is not None:
                res.repaired.append(moved)
                continue
        if not cands:
            res.unmatched.append(t)
            continue
        if len(cands) > 1:
            if pids is None:
                pids = patch_ids(repo, dict.fromkeys([*targets, *recorded]))
            origins = {origin_of(repo.commit(c), pids.get(c)) for c in cands}
            if len(origins) > 1:
                res.ambiguous.append((t, how, cands))
                continue
        sources = cands
        if how == "tree":
            sources, how = _squashed(repo, commit, cands)
        res.repaired.append(Match(t, sources, how))
    return res


def _squashed(repo: Repo, commit: pygit2.Commit, cands: list[str]) -> tuple[list[str], str]:
    """For a squash merge, the pull request's commits: those of the matched head not in the target's parent.

    A single-commit copy (its parent's tree equals the target's parent's) is a plain rewrite of that commit.
    """
    if len(cands) != 1 or len(commit.parent_ids) != 1:
        return cands, "tree"
    head = repo.commit(cands[0])
    parent_tree = str(repo.commit(commit.parent_ids[0]).tree_id)
    if head.parent_ids and str(repo.commit(head.parent_ids[0]).tree_id) == parent_tree:
        return cands, "tree"
    proc = repo.git("rev-list", "--no-merges", "--reverse", cands[0], f"^{commit.parent_ids[0]}", "--")
    squashed = proc.stdout.decode().split()
    if len(squashed) <= 1 or len(squashed) > 1000:
        return cands, "tree"
    return squashed, "squash"


def _moved_squash(repo: Repo, commit: pygit2.Commit, head: str) -> Match | None:
    """COMMIT as a squash of recorded HEAD onto a target that moved on: the pull request's commits, or None."""
    proc = repo.git("rev-list", "--no-merges", "--reverse", head, f"^{commit.parent_ids[0]}", "--")
    squashed = proc.stdout.decode().split()
    if not squashed or len(squashed) > 1000:
        return None
    return Match(str(commit.id), squashed, "squash")


def repair(repo: Repo, revs: list[str], dry_run: bool = False) -> RepairResult:
    """Find the sources of the commits in REVS that have no commit-provenance record and record them."""
    from srcprov.recording.queue import Entry
    from srcprov.recording.signer import make_signer
    from srcprov.recording.writer import record_commits

    commits = repo.rev_list(revs)
    notes = list_notes(repo, only=commits)
    targets = [c for c in commits if not _has_provenance(repo, notes.get(c))]
    targets.reverse()  # oldest first, as the commits were made
    res = find_sources(repo, targets)
    res.examined = len(commits)
    res.dry_run = dry_run
    if dry_run or not res.repaired:
        return res
    out = record_commits(repo, [Entry(m.commit, "repair", olds=list(m.sources)) for m in res.repaired], make_signer(repo))
    res.failed = out.failed
    written = set(out.written)
    res.repaired = [m for m in res.repaired if m.commit in written]
    return res
