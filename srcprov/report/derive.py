"""Blames derived in process along single-parent steps, from git's own diffs: what git blame does there.

At a commit C with one parent P that holds the file at the same path, git blame diffs the two blobs
(`diff_hunks`: xdiff, no context, the indent heuristic) and blames the lines C added on C; every other
line is blamed where blame of (P, path) puts it. `git diff-tree -p -U0` emits the same hunks from the
same xdiff call, and blame of (P, path) is the blame of P's start point (start_points), which a history
usually knows already. So a history derives most of its blames from one `git diff-tree --stdin` instead
of a `git blame` process each. Anything else (a merge, a rename, a root, a path that is not a regular
file in P, a diff that does not add up) is left to git blame.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from srcprov.report.cache import Runs, runs_of
from srcprov.report.history import CommitRow

# Steps followed back from one start before giving the file to git blame.
MAX_STEPS = 24
_HUNK = re.compile(rb"^@@ -([0-9]+)(?:,([0-9]+))? \+([0-9]+)(?:,([0-9]+))? @@")
_OID = re.compile(rb"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
# As blame diffs: git's defaults pinned (no textconv, no external diff, the indent heuristic), no renames.
DIFF_ARGS = ("-c", "diff.indentHeuristic=true", "-c", "core.quotePath=true", "diff-tree", "--stdin", "-p", "-U0",
             "--no-renames", "--no-prefix", "--no-textconv", "--no-ext-diff", "--no-color")

Hunk = tuple[int, int, int, int]  # old start, old count, new start, new count (as in "@@ -a,b +c,d @@")


def parse_hunks(out: bytes, unquote: Callable[[bytes], bytes]) -> dict[tuple[str, bytes], list[Hunk]]:
    """(commit, path) -> hunks, from `git diff-tree --stdin -p -U0 --no-prefix` output."""
    found: dict[tuple[str, bytes], list[Hunk]] = {}
    commit: str | None = None
    current: list[Hunk] | None = None
    skip = 0
    for line in out.split(b"\n"):
        if skip:
            if not line.startswith(b"\\"):  # "\ No newline at end of file" is not a line of the hunk
                skip -= 1
            continue
        if _OID.match(line):
            commit, current = line.decode(), None
        elif line.startswith(b"+++ ") and commit is not None:
            name = line[4:]
            current = None if name == b"/dev/null" else found.setdefault((commit, unquote(name)), [])
        elif line.startswith(b"diff --git "):
            current = None
        elif line.startswith(b"@@") and current is not None:
            m = _HUNK.match(line)
            if m is None:
                current = None
                continue
            a, b, c, d = (int(g) if g is not None else 1 for g in m.groups())
            current.append((a, b, c, d))
            skip = b + d
    return found


def apply_hunks(parent: list[str], hunks: list[Hunk], commit: str, nlines: int) -> list[str] | None:
    """The blame of each line of the new version: added lines on COMMIT, the rest from PARENT's lines;
    None when the hunks do not fit the two versions."""
    out: list[str] = []
    p = 0
    for a, b, c, d in hunks:
        p0 = a - 1 if b else a
        c0 = c - 1 if d else c
        if p0 < p or p0 + b > len(parent) or c0 - len(out) != p0 - p:
            return None
        out += parent[p:p0]
        out += [commit] * d
        p = p0 + b
    out += parent[p:]
    return out if len(out) == nlines else None


@dataclass(frozen=True)
class Step:
    """Blame of (commit, path) = the hunks of commit's diff applied to blame of (base, path)."""

    commit: str
    path: bytes
    blob: str
    nlines: int
    base: tuple[str, bytes]
    same_blob: bool  # the parent holds the same blob: no hunks, every line passes


def plan_steps(
    by_id: dict[str, CommitRow],
    wanted: dict[tuple[str, bytes], int],
    available: Callable[[tuple[str, bytes]], bool],
    start_of: Callable[[str, bytes, str, int], str | None],
    entry_at: Callable[[str, bytes], tuple[str, int] | None],
    line_count: Callable[[str], int | None],
) -> dict[tuple[str, bytes], Step]:
    """For each wanted (start, path) -> lines, the chain of single-parent steps back to a key that is
    AVAILABLE (known, or blamed anyway) within MAX_STEPS; keys whose chain breaks are left out."""
    steps: dict[tuple[str, bytes], Step] = {}
    for key, nlines in wanted.items():
        if key in steps:
            continue
        chain: list[Step] = []
        (cur, path), n = key, nlines
        ok = False
        for _ in range(MAX_STEPS):
            row = by_id.get(cur)
            if row is None or len(row.parents) != 1:
                break
            parent = row.parents[0]
            here, there = entry_at(cur, path), entry_at(parent, path)
            if here is None or there is None:
                break  # a rename or an added file: git blame follows those
            pn = line_count(there[0])
            start = start_of(parent, path, there[0], there[1]) if pn is not None else None
            if start is None or pn is None:
                break
            chain.append(Step(cur, path, here[0], n, (start, path), here[0] == there[0]))
            cur, n = start, pn
            if (cur, path) in steps or available((cur, path)):
                ok = True
                break
        if ok:
            for s in chain:
                steps.setdefault((s.commit, s.path), s)
    return steps


def derive(
    steps: dict[tuple[str, bytes], Step],
    hunks: dict[tuple[str, bytes], list[Hunk]],
    resolved: dict[tuple[str, bytes], Runs],
) -> tuple[dict[tuple[str, bytes], Runs], set[tuple[str, bytes]]]:
    """The blames of STEPS whose chain ends in RESOLVED, and the keys that failed (a diff that does not
    fit: git blame must do those); keys still waiting on a base are in neither."""
    done: dict[tuple[str, bytes], Runs] = {}
    failed: set[tuple[str, bytes]] = set()
    expanded: dict[tuple[str, bytes], list[str]] = {}

    def lines(key: tuple[str, bytes]) -> list[str] | None:
        got = expanded.get(key)
        if got is not None:
            return got
        runs = resolved.get(key, done.get(key))
        if runs is None:
            step = steps.get(key)
            if step is None or key in failed:
                return None
            chain = [step]
            while chain[-1].base not in resolved and chain[-1].base not in done and chain[-1].base in steps:
                if chain[-1].base in failed:
                    return None
                chain.append(steps[chain[-1].base])
            base = resolved.get(chain[-1].base, done.get(chain[-1].base))
            if base is None:
                return None
            below = [cid for cid, n in base for _ in range(n)]
            for s in reversed(chain):
                if s.same_blob:
                    here = below if len(below) == s.nlines else None
                else:
                    found = hunks.get((s.commit, s.path))  # the blobs differ: no hunk means no diff seen
                    here = apply_hunks(below, found, s.commit, s.nlines) if found else None
                if here is None:
                    failed.add((s.commit, s.path))
                    return None
                done[(s.commit, s.path)] = runs_of(here)
                expanded[(s.commit, s.path)] = below = here
            return below
        got = [cid for cid, n in runs for _ in range(n)]
        expanded[key] = got
        return got

    for key in steps:
        lines(key)
    return done, failed
