"""Churn against `git log --numstat --no-merges` over the same history."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path

from srcprov.git import Repo
from srcprov.report.cache import ReportCache
from srcprov.report.churn import compute_churn, numstat, parse_numstat, window_commits
from srcprov.report.history import list_commits
from srcprov.report.model import parse_windows

START = 1_600_000_000


def oracle(path: Path, lo: int, hi: int) -> tuple[dict, dict]:
    """Totals and per-path churn from one `git log --numstat --no-merges` run, author time in [lo, hi]."""
    out = subprocess.run(["git", "log", "--numstat", "--no-merges", "-z", "--format=%x01%H %at", "main"], cwd=path,
                         capture_output=True, check=True).stdout
    # The same parser would hide its own bugs, so split by hand here.
    total = {"commits": 0, "insertions": 0, "deletions": 0}
    per: dict[bytes, dict[str, int]] = defaultdict(lambda: {"commits": 0, "insertions": 0, "deletions": 0})
    for chunk in out.split(b"\x01")[1:]:
        head, _, rest = chunk.partition(b"\0")
        _cid, at = head.split()
        if not lo <= int(at) <= hi:
            continue
        total["commits"] += 1
        toks = rest.split(b"\0")
        i = 0
        while i < len(toks):
            tok = toks[i].lstrip(b"\n")
            i += 1
            if not tok:
                continue
            ins, dels, p = tok.split(b"\t", 2)
            if not p:
                p = toks[i + 1]
                i += 2
            n_ins = 0 if ins == b"-" else int(ins)
            n_del = 0 if dels == b"-" else int(dels)
            per[p]["commits"] += 1
            per[p]["insertions"] += n_ins
            per[p]["deletions"] += n_del
            total["insertions"] += n_ins
            total["deletions"] += n_del
    return total, dict(per)


def test_churn_matches_git_log_numstat(history) -> None:
    path = history(31, 120)
    repo = Repo(path)
    cid = str(repo.resolve_commit("main").id)
    commits = list_commits(repo, cid)
    as_of = max(c.author_time for c in commits) - 86400
    windows = parse_windows("1d,3d,30d")
    changes = numstat(repo, [c.id for c in window_commits(commits, windows, as_of)], ReportCache(repo))
    total, per_file, _ = compute_churn(commits, changes, windows, as_of)
    for w in windows:
        want_total, want_per = oracle(path, as_of - w.seconds, as_of)
        assert total[w.name].as_json() == want_total, w
        got_per = {p: c[w.name].as_json() for p, c in per_file.items() if c[w.name].commits}
        assert got_per == want_per, w
    assert any(ins is None for fcs in changes.values() for _, ins, _ in fcs), "expected a binary change"


def test_numstat_cache_returns_the_same(history) -> None:
    path = history(32, 50)
    repo = Repo(path)
    commits = list_commits(repo, str(repo.resolve_commit("main").id))
    ids = [c.id for c in commits if len(c.parents) == 1]
    fresh = numstat(repo, ids, ReportCache(repo))
    assert numstat(repo, ids, ReportCache(repo)) == fresh == numstat(repo, ids, None)


def test_parse_numstat_renames_and_binary() -> None:
    out = b"\x01" + b"a" * 40 + b"\0\n-\t-\tb.bin\0" + b"1\t0\t\0old name\0new\tname\0\x01" + b"b" * 40 + b"\0"
    assert parse_numstat(out) == {"a" * 40: [(b"b.bin", None, None), (b"new\tname", 1, 0)], "b" * 40: []}
