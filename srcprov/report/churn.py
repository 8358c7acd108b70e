"""Churn: commits, insertions and deletions per window, as `git log --numstat --no-merges` counts them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from srcprov.git import Repo
from srcprov.report.cache import ReportCache
from srcprov.report.history import CommitRow
from srcprov.report.model import Window

# (path, insertions, deletions); None for both when git reports a binary change ("-\t-").
FileChange = tuple[bytes, "int | None", "int | None"]
_STAT = re.compile(rb"^\n?(-|[0-9]+)\t(-|[0-9]+)\t(.*)$", re.S)


@dataclass
class ChurnCounts:
    """Commits, insertions and deletions in one window."""

    commits: int = 0
    insertions: int = 0
    deletions: int = 0

    def ratio(self, lines: int) -> float:
        """(insertions + deletions) / current lines; 0 when there are no lines."""
        return round((self.insertions + self.deletions) / lines, 4) if lines else 0.0

    def as_json(self) -> dict[str, int]:
        """The SPEC's shape: {"commits", "insertions", "deletions"}."""
        return {"commits": self.commits, "insertions": self.insertions, "deletions": self.deletions}


def parse_numstat(out: bytes) -> dict[str, list[FileChange]]:
    """Parse `git log -z --numstat --format=%x01%H` output into each commit's changed files."""
    found: dict[str, list[FileChange]] = {}
    tokens = out.split(b"\0")
    current: list[FileChange] | None = None
    i = 0
    while i < len(tokens):
        tok = tokens[i].lstrip(b"\n")
        i += 1
        if tok.startswith(b"\x01"):
            current = found.setdefault(tok[1:].decode(), [])
            continue
        m = _STAT.match(tok)
        if m is None or current is None:
            continue
        ins = None if m.group(1) == b"-" else int(m.group(1))
        dels = None if m.group(2) == b"-" else int(m.group(2))
        path = m.group(3)
        if not path:  # a rename: the old and the new path follow as their own fields
            path = tokens[i + 1]
            i += 2
        current.append((path, ins, dels))
    return found


def numstat(repo: Repo, commit_ids: list[str], cache: ReportCache | None = None) -> dict[str, list[FileChange]]:
    """Each commit's `git log --numstat` (renames detected, git's default) against its first parent."""
    known = cache.get_numstat() if cache else {}
    result = {c: known[c] for c in commit_ids if c in known}
    missing = [c for c in commit_ids if c not in known]
    if missing:
        # Pin what config could change in numstat to git's defaults: rename detection on, no textconv.
        out = repo.git(
            "-c", "diff.indentHeuristic=true", "log", "--no-walk=unsorted", "--stdin", "-z", "--numstat",
            "-M", "--no-textconv", "--no-ext-diff", "--format=%x01%H",
            input="\n".join(missing).encode() + b"\n",
        ).stdout
        fresh = parse_numstat(out)
        for c in missing:
            fresh.setdefault(c, [])
        result.update(fresh)
        if cache:
            cache.add_numstat(fresh)
    return result


def window_commits(commits: list[CommitRow], windows: list[Window], as_of: int) -> list[CommitRow]:
    """The non-merge commits whose author time falls in the widest window (AS-OF minus it, up to AS-OF)."""
    widest = max(w.seconds for w in windows)
    return [c for c in commits if len(c.parents) <= 1 and as_of - widest <= c.author_time <= as_of]


def compute_churn(
    commits: list[CommitRow],
    changes: dict[str, list[FileChange]],
    windows: list[Window],
    as_of: int,
    keep: Callable[[bytes], bool] | None = None,
    group_of: Callable[[bytes], str] | None = None,
) -> tuple[dict[str, ChurnCounts], dict[bytes, dict[str, ChurnCounts]], dict[str, dict[str, ChurnCounts]]]:
    """Churn per window in total, per path and per group (GROUP_OF, e.g. directory) of paths.

    Counts the non-merge commits with author time in each window. With KEEP (the --path filter), only
    changes to kept paths count, and only commits touching one (as `git log -- PATHS`).
    """
    total = {w.name: ChurnCounts() for w in windows}
    per_file: dict[bytes, dict[str, ChurnCounts]] = {}
    per_group: dict[str, dict[str, ChurnCounts]] = {}
    for c in window_commits(commits, windows, as_of):
        age = as_of - c.author_time
        names = [w.name for w in windows if age <= w.seconds]
        files = [fc for fc in changes.get(c.id, []) if keep is None or keep(fc[0])]
        if keep is not None and not files:
            continue
        for name in names:
            total[name].commits += 1
        counted: set[object] = set()  # a commit counts once per file and once per group
        for path, ins, dels in files:
            slots = [per_file.setdefault(path, {w.name: ChurnCounts() for w in windows})]
            keys: list[object] = [path]
            if group_of is not None:
                g = group_of(path)
                slots.append(per_group.setdefault(g, {w.name: ChurnCounts() for w in windows}))
                keys.append(("group", g))
            for slot, key in zip(slots, keys, strict=True):
                first = key not in counted
                counted.add(key)
                for name in names:
                    s = slot[name]
                    s.commits += first
                    s.insertions += ins or 0
                    s.deletions += dels or 0
            for name in names:
                total[name].insertions += ins or 0
                total[name].deletions += dels or 0
    return total, per_file, per_group
