"""Attribution against the oracle: every line of every text file must match `git blame REV -- FILE`."""

from __future__ import annotations

import random
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from report_repos import Builder, blame_oracle

from srcprov.git import Repo
from srcprov.report.attribution import attribute, list_tree
from srcprov.report.cache import ReportCache
from srcprov.report.history import list_commits


def attribution_at(repo: Repo, rev: str, cache: ReportCache | None = None):
    cid = str(repo.resolve_commit(rev).id)
    commits = list_commits(repo, cid)
    listing = list_tree(repo, cid)
    return commits, listing, attribute(repo, commits, listing.text, cache if cache is not None else ReportCache(repo))


def assert_matches_blame(path: Path, rev: str, cache: ReportCache | None = None) -> int:
    """Compare every line at REV with git blame; return how many lines were checked."""
    repo = Repo(path)
    commits, listing, attribution = attribution_at(repo, rev, cache)
    author = {c.id: c.author for c in commits}
    checked = 0
    for f in listing.text:
        expected = blame_oracle(path, rev, f.path)
        got = attribution.line_commits(f.path)
        assert len(got) == f.lines == len(expected), f.path
        assert got == [c for c, _ in expected], f"{f.path!r} at {rev}"
        # Authors come from git log's %aN/%aE: the same mailmap blame applies.
        assert [author[c] for c in got] == [a for _, a in expected], f.path
        checked += len(got)
    return checked


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_random_histories_match_blame_at_many_revisions(history, seed: int) -> None:
    path = history(seed, 90)
    revs = subprocess.run(["git", "rev-list", "main"], cwd=path, capture_output=True, text=True, check=True).stdout.split()
    merges = set(subprocess.run(["git", "rev-list", "--merges", "main"], cwd=path, capture_output=True, text=True,
                                check=True).stdout.split())
    assert merges, "the generated history should have merges"
    rnd = random.Random(seed)
    # Oldest first: later reports reuse the start points and attributions of earlier ones.
    sample = sorted(set(rnd.sample(revs, 6) + rnd.sample(sorted(merges), min(3, len(merges))) + [revs[0]]),
                    key=revs.index, reverse=True)
    checked = sum(assert_matches_blame(path, rev) for rev in sample)
    assert checked > 500


def test_attribution_without_cache_matches_blame(history) -> None:
    path = history(11, 60)
    assert assert_matches_blame(path, "main", ReportCache(Repo(path), enabled=False)) > 100


def test_single_commit_repository(builder: Builder) -> None:
    builder.write("a.txt", b"one\ntwo\n")
    builder.write("b.txt", b"no final newline")
    builder.write("empty", b"")
    builder.commit("only")
    assert assert_matches_blame(builder.path, "HEAD") == 3


def test_work_tree_zoo(builder: Builder) -> None:
    """Real `git merge`s, renames, criss-cross, delete and re-add, and the odd files, through the git CLI."""
    b = builder
    b.write(".mailmap", b"Bob Builder <bob@example.com> <bob@old.example.com>\n")
    b.write("src/main.py", b"".join(b"line %d\n" % i for i in range(20)))
    b.write("crlf.txt", b"a\r\nb\r\nc\r\n")
    b.write("bin.dat", b"\0\1\2")
    b.write(b"caf\xe9.txt", b"latin-1 name\n")
    b.commit("root")
    (b.path / "link").symlink_to("src/main.py")
    b.git("add", "link")
    b.git("update-index", "--add", "--cacheinfo", f"160000,{'2' * 40},vendor/sub")
    b.commit("link and submodule", author="Bob B. <bob@old.example.com>", add=False)
    (b.path / "vendor" / "sub").mkdir(parents=True)
    b.git("checkout", "-q", "-b", "side")
    b.write("src/main.py", b"side top\n" + b"".join(b"line %d\n" % i for i in range(20)))
    b.git("mv", "crlf.txt", "renamed.txt")
    b.commit("side edit", author="Cy Coder <cy@example.com>")
    b.git("checkout", "-q", "main")
    b.write("src/main.py", b"".join(b"line %d\n" % i for i in range(20)) + b"main bottom\n")
    b.write("gone.txt", b"to be deleted\n")
    b.commit("main edit")
    b.git("checkout", "-q", "-b", "side2")
    b.git("checkout", "-q", "main")
    b.merge("side")
    b.git("rm", "-q", "gone.txt")
    b.commit("delete")
    # criss-cross: main and side2 merge each other from the same heads
    b.git("checkout", "-q", "side2")
    b.write("src/other.py", b"x\ny\n")
    b.commit("side2 work")
    side2 = b.git("rev-parse", "HEAD")
    main = b.git("rev-parse", "main")
    b.merge("main")
    b.git("checkout", "-q", "main")
    b.merge(side2, {"src/other.py": b"x\nmerged\ny\n"})
    b.merge("side2", {"src/other.py": b"x\nmerged\ny\nafter criss-cross\n"})
    b.write("gone.txt", b"to be deleted\n")
    b.write("src/main.py", b"no newline at the end")
    b.commit("re-add and rewrite")
    assert main
    assert assert_matches_blame(b.path, "HEAD") > 10
    repo = Repo(b.path)
    _, listing, attribution = attribution_at(repo, "HEAD")
    assert [f.path for f in listing.symlinks] == [b"link"]
    assert [f.path for f in listing.submodules] == [b"vendor/sub"]
    assert [f.path for f in listing.binary] == [b"bin.dat"]
    assert b"caf\xe9.txt" in attribution.runs
    commits = list_commits(repo, str(repo.resolve_commit("HEAD").id))
    authors = Counter(c.author for c in commits)
    assert "Bob B. <bob@old.example.com>" not in authors  # mailmapped
    assert authors["Bob Builder <bob@example.com>"] == 1
