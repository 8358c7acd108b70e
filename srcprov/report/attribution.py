"""Every line of every text file at a revision, attributed exactly as `git blame REV -- FILE` does.

Blame hands a file whole to the first parent (in parent order) whose blob at the same path is identical,
so the blame of (commit, path) equals the blame of (that parent, path). We follow those links ourselves
(`start_points`) down to the commit where the blob last changed and key everything by that commit: a
file that did not change between two reports is found in the cache, and a cold blame starts where git
would otherwise walk to. The blames that remain run as a pool of `git blame --incremental` processes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from srcprov.errors import SrcprovError
from srcprov.git import Repo
from srcprov.report.cache import ReportCache, Runs
from srcprov.report.history import CommitRow

# git's rule for binary content (buffer_is_binary): a NUL in the first 8000 bytes.
BINARY_PROBE = 8000
MODE_SYMLINK = 0o120000
MODE_GITLINK = 0o160000

# Pin what git config could change in blame's answer to git's defaults: no ignored revisions, no
# textconv, the default diff heuristic. --incremental prints no line contents: less to read and parse.
BLAME_ARGS = ("-c", "diff.indentHeuristic=true", "blame", "--incremental", "--ignore-revs-file=", "--no-textconv")
_ENTRY = re.compile(rb"^([0-9a-f]{40}|[0-9a-f]{64}) [0-9]+ ([0-9]+) ([0-9]+)$", re.M)


@dataclass(frozen=True)
class TreeFile:
    """One entry of the tree at the reported revision."""

    path: bytes
    mode: int
    blob: str
    lines: int = 0


@dataclass
class TreeListing:
    """The files at a revision, sorted by kind: only `text` files are attributed."""

    text: list[TreeFile] = field(default_factory=list)
    binary: list[TreeFile] = field(default_factory=list)
    symlinks: list[TreeFile] = field(default_factory=list)
    submodules: list[TreeFile] = field(default_factory=list)


def count_lines(data: bytes) -> int:
    """Lines as blame counts them: a final line without a newline still counts."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def list_tree(repo: Repo, commit_id: str, keep: Callable[[bytes], bool] | None = None) -> TreeListing:
    """The files at COMMIT_ID (recursively), those KEEP accepts, sorted into text, binary, symlinks, submodules."""
    out = repo.git("ls-tree", "-r", "-z", "--full-tree", commit_id).stdout
    listing = TreeListing()
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        mode_s, _kind, oid = meta.split(b" ")
        mode = int(mode_s, 8)
        if keep is not None and not keep(path):
            continue
        if mode == MODE_GITLINK:
            listing.submodules.append(TreeFile(path, mode, oid.decode()))
        elif mode == MODE_SYMLINK:
            listing.symlinks.append(TreeFile(path, mode, oid.decode()))
        else:
            data = repo.blob_data(oid.decode())
            if b"\0" in data[:BINARY_PROBE]:
                listing.binary.append(TreeFile(path, mode, oid.decode()))
            else:
                listing.text.append(TreeFile(path, mode, oid.decode(), count_lines(data)))
    return listing


# Parsed trees kept for merge lookups; a few thousand cover the trees a walk revisits.
_TREES_KEPT = 1024


class _TreeIndex:
    """Tree entries by path, each tree parsed once from its raw bytes (trees repeat across commits)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.oid_size = 32 if repo.object_format == "sha256" else 20
        self.entry = re.compile(rb"([0-7]+) ([^\0]*)\0(.{%d})" % self.oid_size, re.S)
        self.trees: dict[bytes, dict[bytes, tuple[bytes, bytes]]] = {}

    def entries(self, tree_id: bytes) -> dict[bytes, tuple[bytes, bytes]]:
        """name -> (raw oid, mode as git writes it, e.g. b"100644", b"40000")."""
        got = self.trees.get(tree_id)
        if got is None:
            raw = self.repo.pg[tree_id.hex()].read_raw()
            got = {name: (oid, mode) for mode, name, oid in self.entry.findall(raw)}
            if len(self.trees) >= _TREES_KEPT:
                # Bounded memory: drop the oldest half (dicts keep insertion order).
                for old in list(self.trees)[: _TREES_KEPT // 2]:
                    del self.trees[old]
            self.trees[tree_id] = got
        return got

    def lookup(self, tree_id: bytes, path: bytes) -> tuple[bytes, bytes] | None:
        """The entry at PATH under the tree TREE_ID, or None."""
        *dirs, name = path.split(b"/")
        for d in dirs:
            e = self.entries(tree_id).get(d)
            if e is None or e[1] != b"40000":
                return None
            tree_id = e[0]
        return self.entries(tree_id).get(name)


def _raw_changed_paths(repo: Repo, commit_id: str) -> dict[str, set[bytes]]:
    """For every non-merge commit reachable from COMMIT_ID, the paths its diff to its parent lists."""
    out = repo.git("log", "--raw", "--no-renames", "-z", "--no-abbrev", "--no-merges", "--format=%x01%H",
                   commit_id, "--").stdout
    changed: dict[str, set[bytes]] = {}
    current: set[bytes] = set()
    tokens = out.split(b"\0")
    i = 0
    while i < len(tokens):
        tok = tokens[i].lstrip(b"\n")
        i += 1
        if tok.startswith(b"\x01"):
            current = changed.setdefault(tok[1:].decode(), set())
        elif tok.startswith(b":"):
            current.add(tokens[i])
            i += 1
    return changed


def _same_entries(
    trees: _TreeIndex, ours: bytes, theirs: bytes, paths: set[bytes], entry_of: dict[bytes, tuple[bytes, bytes]]
) -> set[bytes]:
    """The PATHS whose entry in tree THEIRS equals ENTRY_OF; a directory with the same tree id in OURS
    and THEIRS settles every path under it without reading it."""
    by_dir: dict[bytes, list[bytes]] = {}
    for p in paths:
        by_dir.setdefault(p.rpartition(b"/")[0], []).append(p)
    same: set[bytes] = set()
    for d, members in by_dir.items():
        if d:
            a, b = trees.lookup(ours, d), trees.lookup(theirs, d)
            if a is not None and a == b:
                same.update(members)
                continue
            if b is None or b[1] != b"40000":
                continue
            entries = trees.entries(b[0])
        else:
            entries = trees.entries(theirs)
        for p in members:
            if entries.get(p.rpartition(b"/")[2]) == entry_of[p]:
                same.add(p)
    return same


# Walks longer than this read every non-merge commit's changed paths from one `git log --raw` instead of
# diffing trees one commit at a time (which costs about a millisecond each through libgit2).
_LAZY_STEPS = 32


def start_points(
    repo: Repo, commits: list[CommitRow], files: Iterable[TreeFile], cache: ReportCache | None = None
) -> dict[bytes, str]:
    """For each file, the commit where blame of it at the revision (commits[0]) really starts.

    That is the end of the chain of whole-file passes blame makes: from a commit to the first parent, in
    parent order, holding the identical blob at the same path. Stopping early is always safe (it only
    costs a longer blame); going past where blame would stop never happens, because a path moves to a
    parent only when that parent holds the very same entry (blob and mode) at that path.
    """
    files = list(files)
    if not commits or not files:
        return {}
    rev = commits[0].id
    blob_of = {f.path: f.blob for f in files}
    entry_of = {f.path: (bytes.fromhex(f.blob), b"%o" % f.mode) for f in files}
    if cache is None or not cache.usable_start_points:
        return {f.path: rev for f in files}
    trees = _TreeIndex(repo)
    raw: dict[str, set[bytes]] | None = None
    found: dict[bytes, str] = {}
    pending: dict[str, set[bytes]] = {rev: set(blob_of)}
    steps = 0
    for row in commits:
        paths = pending.pop(row.id, None)
        if not paths:
            continue
        steps += 1
        stored = cache.get_start_points(row.id)
        if stored is not None and all(p in stored and stored[p][1] == blob_of[p] for p in paths):
            for p in paths:
                found[p] = stored[p][0]
            continue
        if len(row.parents) == 1:
            if raw is None and steps > _LAZY_STEPS:
                raw = _raw_changed_paths(repo, rev)
            if raw is not None:
                changed = raw.get(row.id, set())
            else:
                diff = repo.pg[row.parents[0]].tree.diff_to_tree(repo.pg[row.id].tree)
                changed = {d.new_file.raw_path for d in diff.deltas}
            moved = paths - changed
            if moved:
                pending.setdefault(row.parents[0], set()).update(moved)
                paths = paths - moved
        else:
            # A merge: ask each parent, in order, whether it holds the identical entry.
            for parent in row.parents:
                if not paths:
                    break
                moved = _same_entries(trees, repo.commit(row.id).tree_id.raw, repo.commit(parent).tree_id.raw, paths, entry_of)
                if moved:
                    pending.setdefault(parent, set()).update(moved)
                    paths = paths - moved
        for p in paths:
            found[p] = row.id
        if not pending:
            break
    cache.put_start_points(rev, {p: (found[p], blob_of[p]) for p in blob_of})
    return found


def parse_incremental(out: bytes, nlines: int) -> Runs:
    """Line runs `[(commit, count), ...]` from `git blame --incremental` output for a file of NLINES lines."""
    owner: list[str | None] = [None] * nlines
    for m in _ENTRY.finditer(out):
        start, count = int(m.group(2)) - 1, int(m.group(3))
        owner[start : start + count] = [m.group(1).decode()] * count
    runs: Runs = []
    for cid in owner:
        if cid is None:
            raise SrcprovError("git blame left a line unattributed")
        if runs and runs[-1][0] == cid:
            runs[-1] = (cid, runs[-1][1] + 1)
        else:
            runs.append((cid, 1))
    return runs


def blame_runs(repo: Repo, commit_id: str, path: bytes, nlines: int) -> Runs:
    """Blame PATH at COMMIT_ID with `git blame --incremental` (git's defaults) and return its line runs."""
    if nlines == 0:
        return []
    out = repo.git(*BLAME_ARGS, commit_id, "--", os.fsdecode(path)).stdout
    return parse_incremental(out, nlines)


@dataclass
class Attribution:
    """Line runs per text file: `runs[path]` lists `(commit id, number of lines)` in line order."""

    runs: dict[bytes, Runs]

    def line_commits(self, path: bytes) -> list[str]:
        """The commit of each line of PATH, in order (what `git blame --line-porcelain` names)."""
        return [cid for cid, n in self.runs[path] for _ in range(n)]


def attribute(
    repo: Repo,
    commits: list[CommitRow],
    files: list[TreeFile],
    cache: ReportCache | None = None,
    jobs: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Attribution:
    """Attribute every line of FILES at commits[0]: cached where possible, else a pool of git blames."""
    starts = start_points(repo, commits, files, cache)
    runs: dict[bytes, Runs] = {}
    todo: list[TreeFile] = []
    for f in files:
        got = cache.get_attribution(starts[f.path], f.path, f.blob, f.lines) if cache else None
        if got is None:
            todo.append(f)
        else:
            runs[f.path] = got
    done = len(runs)
    if on_progress:
        on_progress(done, len(files))
    # Biggest files first, so the pool does not end waiting on one long blame.
    todo.sort(key=lambda f: f.lines, reverse=True)
    workers = max(1, min(jobs or (os.cpu_count() or 1), len(todo) or 1))

    def one(f: TreeFile) -> tuple[TreeFile, Runs]:
        return f, blame_runs(repo, starts[f.path], f.path, f.lines)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for fut in as_completed([pool.submit(one, f) for f in todo]):
            f, got = fut.result()
            runs[f.path] = got
            if cache:
                cache.put_attribution(starts[f.path], f.path, f.blob, f.lines, got)
                cache.stats.blamed.append(f.path)
            done += 1
            if on_progress:
                on_progress(done, len(files))
    return Attribution(runs)
