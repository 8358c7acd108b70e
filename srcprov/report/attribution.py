"""Every line of every text file at a revision, attributed exactly as `git blame REV -- FILE` does.

Blame hands a file whole to the first parent (in parent order) whose blob at the same path is identical,
so the blame of (commit, path) equals the blame of (that parent, path). We follow those links ourselves
(`start_points`) down to the commit where the blob last changed and key everything by that commit: a
file that did not change between two reports is found in the cache, and a cold blame starts where git
would otherwise walk to. The blames that remain run as a pool of `git blame --incremental` processes.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from srcprov.errors import SrcprovError
from srcprov.git import Repo
from srcprov.report.cache import Entries, ReportCache, Runs, runs_of
from srcprov.report.commit_graph import blame_env
from srcprov.report.history import CommitRow

# git's rule for binary content (buffer_is_binary): a NUL in the first 8000 bytes.
BINARY_PROBE = 8000
MODE_SYMLINK = 0o120000
MODE_GITLINK = 0o160000

# Pin what git config could change in blame's answer to git's defaults: no ignored revisions (unless the
# user names a file: then exactly those), no textconv, the default diff heuristic. --incremental prints no
# line contents: less to read and parse.
BLAME_ARGS = ("-c", "diff.indentHeuristic=true", "blame", "--incremental", "--ignore-revs-file=", "--no-textconv")
_ENTRY = re.compile(rb"^([0-9a-f]{40}|[0-9a-f]{64}) [0-9]+ ([0-9]+) ([0-9]+)$", re.M)


@dataclass(frozen=True)
class IgnoreRevs:
    """A `--ignore-revs-file`: the file git blame reads, and the revisions it names (the cache key)."""

    path: str  # absolute, so git reads it whatever its working directory
    revs: tuple[str, ...]  # sorted, lower-case, deduplicated

    @property
    def key(self) -> str:
        """What tells attributions under this list apart from others in the cache."""
        return "ignore-revs " + hashlib.sha256("\n".join(self.revs).encode()).hexdigest()


def load_ignore_revs(repo: Repo, path: str) -> IgnoreRevs:
    """Read and check an ignore-revs file as git blame parses it: a full object id a line, `#` comments."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise SrcprovError(f"cannot read --ignore-revs-file {path}: {e.strerror or e}") from None
    width = 64 if repo.object_format == "sha256" else 40
    revs = set()
    for n, raw in enumerate(data.split(b"\n"), 1):
        token = raw.split(b"#", 1)[0].strip()
        if not token:
            continue
        text = token.decode("ascii", "replace")
        # git blame dies on anything but a full object id (an abbreviation or a branch name included).
        if len(token) != width or not re.fullmatch(rb"[0-9a-fA-F]+", token):
            raise SrcprovError(f"bad --ignore-revs-file {path}: line {n}: {text!r} is not a full object id "
                               f"({width} hex digits, as git blame requires)")
        revs.add(text.lower())
    return IgnoreRevs(os.path.abspath(path), tuple(sorted(revs)))


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


# A blob's kind as list_tree sorts it: its line count when it is text, None when it is binary.
BlobKinds = dict[str, "int | None"]


def list_tree(
    repo: Repo, commit_id: str, keep: Callable[[bytes], bool] | None = None, kinds: BlobKinds | None = None
) -> TreeListing:
    """The files at COMMIT_ID (recursively), those KEEP accepts, sorted into text, binary, symlinks, submodules.

    KINDS remembers each blob's kind across calls (a history lists many trees that share most blobs).
    """
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
            blob = oid.decode()
            if kinds is not None and blob in kinds:
                nlines = kinds[blob]
            else:
                data = repo.blob_data(blob)
                nlines = None if b"\0" in data[:BINARY_PROBE] else count_lines(data)
                if kinds is not None:
                    kinds[blob] = nlines
            if nlines is None:
                listing.binary.append(TreeFile(path, mode, blob))
            else:
                listing.text.append(TreeFile(path, mode, blob, nlines))
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
        self.commit_trees: dict[str, bytes] = {}

    def tree_of(self, commit: str) -> bytes:
        """The raw tree id of COMMIT (remembered: a walk asks for the same merges again and again)."""
        got = self.commit_trees.get(commit)
        if got is None:
            got = self.commit_trees[commit] = self.repo.commit(commit).tree_id.raw
        return got

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


class TreeEntries:
    """(commit, path) -> (blob, mode) of a regular file, read through one shared tree index."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.trees = _TreeIndex(repo)

    def file_at(self, commit: str, path: bytes) -> tuple[str, int] | None:
        """The blob and mode of the regular file at PATH in COMMIT, or None (absent, a link, a submodule)."""
        got = self.trees.lookup(self.trees.tree_of(commit), path)
        if got is None or got[1] not in (b"100644", b"100755"):
            return None
        return got[0].hex(), int(got[1], 8)


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


ChangedPaths = Callable[[], dict[str, set[bytes]]]


def changed_paths_of(repo: Repo, commit_id: str) -> ChangedPaths:
    """A memoised `_raw_changed_paths(COMMIT_ID)`: read once, shared by the walks of every revision under it."""
    memo: list[dict[str, set[bytes]]] = []

    def get() -> dict[str, set[bytes]]:
        if not memo:
            memo.append(_raw_changed_paths(repo, commit_id))
        return memo[0]

    return get


def start_points(
    repo: Repo,
    commits: list[CommitRow],
    files: Iterable[TreeFile],
    cache: ReportCache | None = None,
    changed_paths: ChangedPaths | None = None,
    store: bool = True,
    trees: _TreeIndex | None = None,
) -> dict[bytes, str]:
    """For each file, the commit where blame of it at the revision (commits[0]) really starts.

    That is the end of the chain of whole-file passes blame makes: from a commit to the first parent, in
    parent order, holding the identical blob at the same path. Stopping early is always safe (it only
    costs a longer blame); going past where blame would stop never happens, because a path moves to a
    parent only when that parent holds the very same entry (blob and mode) at that path. COMMITS lists
    commits[0] and its ancestors children first (other commits may be mixed in: they are passed over);
    CHANGED_PATHS, when given, answers for every non-merge ancestor (see `changed_paths_of`). STORE: keep
    the answer in the cache for later walks (a revision that is reported, not one looked at in passing);
    a walk that does not store reads no stored map either (it is a short walk for one file). TREES: a tree
    index shared by many walks.
    """
    files = list(files)
    if not commits or not files:
        return {}
    rev = commits[0].id
    blob_of = {f.path: f.blob for f in files}
    entry_of = {f.path: (bytes.fromhex(f.blob), b"%o" % f.mode) for f in files}
    if cache is None or not cache.usable_start_points:
        return {f.path: rev for f in files}
    trees = trees or _TreeIndex(repo)
    raw: dict[str, set[bytes]] | None = None
    found: dict[bytes, str] = {}
    pending: dict[str, set[bytes]] = {rev: set(blob_of)}
    steps = 0
    for row in commits:
        paths = pending.pop(row.id, None)
        if not paths:
            continue
        steps += 1
        stored = cache.get_start_points(row.id) if store else None
        if stored is not None and all(p in stored and stored[p][1] == blob_of[p] for p in paths):
            for p in paths:
                found[p] = stored[p][0]
            continue
        if len(row.parents) == 1:
            if raw is None and (changed_paths is not None or steps > _LAZY_STEPS):
                raw = changed_paths() if changed_paths is not None else _raw_changed_paths(repo, rev)
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
                moved = _same_entries(trees, trees.tree_of(row.id), trees.tree_of(parent), paths, entry_of)
                if moved:
                    pending.setdefault(parent, set()).update(moved)
                    paths = paths - moved
        for p in paths:
            found[p] = row.id
        if not pending:
            break
    if store:
        cache.put_start_points(rev, {p: (found[p], blob_of[p]) for p in blob_of})
    return found


def parse_incremental(out: bytes, nlines: int) -> Runs:
    """Line runs `[(commit, count), ...]` from `git blame --incremental` output for a file of NLINES lines."""
    owner: list[str | None] = [None] * nlines
    for m in _ENTRY.finditer(out):
        start, count = int(m.group(2)) - 1, int(m.group(3))
        owner[start : start + count] = [m.group(1).decode()] * count
    return _owner_runs(owner)


def _owner_runs(owner: list[str | None]) -> Runs:
    if None in owner:
        raise SrcprovError("git blame left a line unattributed")
    return runs_of(owner)  # type: ignore[arg-type]


def blame_runs(
    repo: Repo, commit_id: str, path: bytes, nlines: int, ignore: IgnoreRevs | None = None,
    env: dict[str, str] | None = None,
) -> Runs:
    """Blame PATH at COMMIT_ID with `git blame --incremental` (git's defaults, IGNORE's revisions ignored)."""
    if nlines == 0:
        return []
    return parse_incremental(blame_output(repo, commit_id, path, ignore, env), nlines)


def blame_output(repo: Repo, start: str, path: bytes, ignore: IgnoreRevs | None = None,
                 env: dict[str, str] | None = None, base: str | None = None) -> bytes:
    """`git blame --incremental` of PATH at START (back to BASE only, when given), git's defaults pinned."""
    extra = (f"--ignore-revs-file={ignore.path}",) if ignore is not None else ()
    bound = (f"^{base}",) if base is not None else ()
    return repo.git(*BLAME_ARGS, *extra, *bound, start, "--", os.fsdecode(path), env=env).stdout


def entries_of(out: bytes, nlines: int) -> Entries | None:
    """The entries of a whole `git blame --incremental` of a file of NLINES lines; None when they do not
    account for every line."""
    entries = [(e.commit, e.orig, e.final, e.count, e.path) for e in parse_entries(out)]
    return entries if sum(e[3] for e in entries) == nlines else None


_ESCAPES = {ord("a"): 7, ord("b"): 8, ord("t"): 9, ord("n"): 10, ord("v"): 11, ord("f"): 12, ord("r"): 13,
            ord('"'): 34, ord("\\"): 92}


def unquote_c(name: bytes) -> bytes:
    """A path as git prints it in porcelain output: C-quoted (`"a\\303\\251"`) when it holds odd bytes."""
    if not (name.startswith(b'"') and name.endswith(b'"') and len(name) >= 2):
        return name
    out, i, body = bytearray(), 0, name[1:-1]
    while i < len(body):
        c = body[i]
        if c == 92 and i + 1 < len(body):
            nxt = body[i + 1]
            if 48 <= nxt <= 55:
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


@dataclass(frozen=True)
class BlameEntry:
    """One `git blame --incremental` entry: lines FINAL.. of the file came from line ORIG.. of PATH at COMMIT."""

    commit: str
    orig: int
    final: int
    count: int
    path: bytes
    boundary: bool


def parse_entries(out: bytes) -> list[BlameEntry]:
    """Every entry of `git blame --incremental` output, with its path and whether its commit is a boundary."""
    entries: list[BlameEntry] = []
    boundaries: set[str] = set()
    head: tuple[str, int, int, int] | None = None
    for line in out.split(b"\n"):
        m = _ENTRY.match(line)
        if m:
            sha, orig, final, count = line.split(b" ")
            head = (sha.decode(), int(orig), int(final), int(count))
        elif line == b"boundary" and head is not None:
            boundaries.add(head[0])
        elif line.startswith(b"filename ") and head is not None:
            entries.append(BlameEntry(*head, unquote_c(line[9:]), head[0] in boundaries))
            head = None
    return entries


def _expand(runs: Runs) -> list[str]:
    return [cid for cid, n in runs for _ in range(n)]


def resolve_entries(entries: list[BlameEntry], nlines: int, known: dict[tuple[str, bytes], Runs]) -> Runs | None:
    """The runs of a blame stopped at boundary commits, each boundary line looked up in the KNOWN blame of
    (boundary commit, its path there); None when a boundary is not known.

    Exact because git blame decides each line alone: at each commit it diffs whole blobs, so a line that
    reaches commit B at line L of PATH ends where blame of (B, PATH) puts line L.
    """
    owner: list[str | None] = [None] * nlines
    lines_of: dict[tuple[str, bytes], list[str]] = {}
    for e in entries:
        if e.boundary:
            key = (e.commit, e.path)
            if key not in lines_of:
                runs = known.get(key)
                if runs is None:
                    return None
                lines_of[key] = _expand(runs)
            got = lines_of[key][e.orig - 1 : e.orig - 1 + e.count]
            if len(got) != e.count:
                return None
            owner[e.final - 1 : e.final - 1 + e.count] = got
        else:
            owner[e.final - 1 : e.final - 1 + e.count] = [e.commit] * e.count
    return _owner_runs(owner)


def blame_pool(
    repo: Repo,
    todo: list[tuple[str, TreeFile]],
    cache: ReportCache | None = None,
    ignore: IgnoreRevs | None = None,
    jobs: int | None = None,
    on_done: Callable[[str, TreeFile, Runs], None] | None = None,
    bases: dict[tuple[str, bytes], str] | None = None,
    known: dict[tuple[str, bytes], Runs] | None = None,
    env: dict[str, str] | None = None,
    keep_entries: Callable[[Runs], bool] | None = None,
) -> dict[tuple[str, bytes], Runs]:
    """Blame each (start commit, file) of TODO in a pool of git processes, storing each answer in CACHE.

    With BASES (key -> an earlier commit whose blame of the file is KNOWN or also in TODO), blame stops at
    that commit (`git blame ^BASE START`) and takes the lines that reach it from the blame already there:
    a history's samples then walk only the commits between two samples. Any boundary that is not known
    falls back to a whole blame. Not with IGNORE (ignored revisions pass lines by a guess that looks at
    neighbouring lines, so a line is not decided alone). ENV: for the git processes (see commit_graph).
    KEEP_ENTRIES: whether a file's blame entries (its lines' original numbers and paths) are wanted, given
    its runs; those of whole blames are then cached too (report.origin would otherwise blame it again).
    """
    order = {(start, f.path): i for i, (start, f) in enumerate(todo)}
    files = {(start, f.path): f for start, f in todo}
    bases = {} if ignore is not None or bases is None else bases
    variant = ignore.key if ignore is not None else ""
    resolved: dict[tuple[str, bytes], Runs] = dict(known or {})
    found: dict[tuple[str, bytes], Runs] = {}
    workers = max(1, min(jobs or (os.cpu_count() or 1), len(todo) or 1))

    def blame(key: tuple[str, bytes], base: str | None) -> tuple[tuple[str, bytes], list[BlameEntry] | Runs]:
        start, path = key
        f = files[key]
        if f.lines == 0:
            return key, []
        if base is None and keep_entries is not None and cache is not None:
            out = blame_output(repo, start, path, ignore, env)
            runs = parse_incremental(out, f.lines)
            entries = entries_of(out, f.lines) if keep_entries(runs) else None
            if entries is not None:
                cache.put_entries(start, path, f.blob, f.lines, entries, variant)
            return key, runs
        if base is None:
            return key, blame_runs(repo, start, path, f.lines, ignore, env)
        return key, parse_entries(blame_output(repo, start, path, ignore, env, base))

    def finish(key: tuple[str, bytes], runs: Runs) -> None:
        found[key] = resolved[key] = runs
        if on_done:
            on_done(key[0], files[key], runs)

    # Biggest files first, so the pool does not end waiting on one long blame.
    first = sorted(files, key=lambda k: files[k].lines, reverse=True)
    ranged: dict[tuple[str, bytes], list[BlameEntry]] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for fut in as_completed([pool.submit(blame, k, bases.get(k)) for k in first]):
            key, got = fut.result()
            if key in bases and files[key].lines:
                ranged[key] = got  # type: ignore[assignment]
            else:
                finish(key, got)  # type: ignore[arg-type]
        # Resolve the ranged blames in TODO's order (a sample's base comes from an earlier sample); a
        # boundary still to be resolved waits a round, one that nobody will know costs a whole blame.
        pending = sorted(ranged, key=order.__getitem__)
        while pending:
            waiting, whole = [], []
            for key in pending:
                runs = resolve_entries(ranged[key], files[key].lines, resolved)
                if runs is not None:
                    finish(key, runs)
                    if cache:
                        cache.stats.ranged += 1
                elif any(e.boundary and (e.commit, e.path) in ranged and (e.commit, e.path) not in resolved
                         for e in ranged[key]):
                    waiting.append(key)
                else:
                    whole.append(key)
            for fut in as_completed([pool.submit(blame, k, None) for k in whole]):
                key, got = fut.result()
                finish(key, got)  # type: ignore[arg-type]
            if len(waiting) == len(pending):  # no progress: cannot happen with acyclic bases, but never spin
                whole = waiting
                for fut in as_completed([pool.submit(blame, k, None) for k in whole]):
                    key, got = fut.result()
                    finish(key, got)  # type: ignore[arg-type]
                waiting = []
            pending = waiting
        if cache:
            # Entry writes are file-system bound: spread them over the pool too.
            list(pool.map(lambda kv: cache.put_attribution(kv[0][0], kv[0][1], files[kv[0]].blob,
                                                           files[kv[0]].lines, kv[1], variant), found.items()))
            cache.stats.blamed.extend(path for _, path in found)
    return found


@dataclass
class Attribution:
    """Line runs per text file: `runs[path]` lists `(commit id, number of lines)` in line order; `starts[path]`
    is the commit where its blame starts (see start_points), the key of its cache entries."""

    runs: dict[bytes, Runs]
    starts: dict[bytes, str] = field(default_factory=dict)

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
    ignore: IgnoreRevs | None = None,
    keep_entries: Callable[[Runs], bool] | None = None,
) -> Attribution:
    """Attribute every line of FILES at commits[0]: cached where possible, else a pool of git blames.

    With IGNORE, as `git blame --ignore-revs-file` attributes them (cached apart from plain blame).
    KEEP_ENTRIES: see blame_pool.
    """
    starts = start_points(repo, commits, files, cache)
    variant = ignore.key if ignore is not None else ""
    runs: dict[bytes, Runs] = {}
    todo: list[tuple[str, TreeFile]] = []
    for f in files:
        got = cache.get_attribution(starts[f.path], f.path, f.blob, f.lines, variant) if cache else None
        if got is None:
            todo.append((starts[f.path], f))
        else:
            runs[f.path] = got
    done = len(runs)
    if on_progress:
        on_progress(done, len(files))

    def finished(_start: str, f: TreeFile, got: Runs) -> None:
        nonlocal done
        runs[f.path] = got
        done += 1
        if on_progress:
            on_progress(done, len(files))

    env = blame_env(repo, cache, commits[0].id, len(commits), len(todo)) if commits else None
    blame_pool(repo, todo, cache, ignore, jobs, finished, env=env, keep_entries=keep_entries)
    return Attribution(runs, starts)


def blame_entries(
    repo: Repo, files: list[tuple[str, TreeFile]], cache: ReportCache | None = None, ignore: IgnoreRevs | None = None,
    jobs: int | None = None,
) -> dict[bytes, Entries]:
    """For each (start commit, file), where each of its lines came from: the commit, the line's number and
    the file's path in that commit's version (`git blame`'s original line numbers), cached like attribution."""
    variant = ignore.key if ignore is not None else ""
    out: dict[bytes, Entries] = {}
    todo: list[tuple[str, TreeFile]] = []
    for start, f in files:
        got = cache.get_entries(start, f.path, f.blob, f.lines, variant) if cache else None
        if got is None:
            todo.append((start, f))
        else:
            out[f.path] = got

    def blame(item: tuple[str, TreeFile]) -> tuple[str, TreeFile, Entries]:
        start, f = item
        if f.lines == 0:
            return start, f, []
        entries = entries_of(blame_output(repo, start, f.path, ignore), f.lines)
        if entries is None:
            raise SrcprovError(f"git blame of {os.fsdecode(f.path)} did not account for every line")
        return start, f, entries

    if cache:
        cache.stats.entries_blamed += len(todo)
    workers = max(1, min(jobs or (os.cpu_count() or 1), len(todo) or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start, f, entries in pool.map(blame, todo):
            out[f.path] = entries
            if cache:
                cache.put_entries(start, f.path, f.blob, f.lines, entries, variant)
    return out
