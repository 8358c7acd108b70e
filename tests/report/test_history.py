"""`report --history` and `--ignore-revs-file` against git itself: at every sample, the lines alive by year
written must equal what `git blame --line-porcelain` says at that sample; ignored revisions as `git blame
--ignore-revs-file`; a warm second run redoes nothing."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from report_repos import Builder, blame_oracle

from srcprov.errors import SrcprovError
from srcprov.git import Repo
from srcprov.report import run_report
from srcprov.report.attribution import attribute, list_tree, load_ignore_revs
from srcprov.report.cache import ReportCache
from srcprov.report.cohorts import half_life_days, sample_commits, survival_curve
from srcprov.report.history import CommitRow, list_commits
from srcprov.report.model import parse_buckets, parse_step, parse_windows
from srcprov.report.summary import build_report
from testing.run import run_srcprov

DAY = 86400
YEARS_APART = (5 * DAY, 40 * DAY)  # commit spacing that makes a history span several years


def git(path: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=path, capture_output=True, check=True).stdout


def oracle_cohorts(path: Path, rev: str, *extra: str) -> dict[str, int]:
    """Lines of every text file at REV by the UTC year of the author time `git blame --line-porcelain` names."""
    years: Counter[str] = Counter()
    for entry in git(path, "ls-tree", "-r", "-z", rev).split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, _, oid = meta.decode().split(" ")
        if mode not in ("100644", "100755") or b"\0" in git(path, "cat-file", "blob", oid)[:8000]:
            continue
        out = git(path, "blame", "--line-porcelain", *extra, rev, "--", os.fsdecode(name))
        for line in out.split(b"\n"):
            if line.startswith(b"author-time "):
                years[str(datetime.fromtimestamp(int(line[12:]), UTC).year)] += 1
    return dict(years)


def expected_samples(path: Path, rev: str, step: int) -> list[str]:
    """git-of-theseus's rule from `git rev-list --first-parent`: the tip, then each commit at least STEP older."""
    taken, last = [], None
    for line in git(path, "rev-list", "--first-parent", "--format=%H %ct", "--no-commit-header", rev).split(b"\n"):
        if not line:
            continue
        cid, ct = line.decode().split()
        if last is None or int(ct) <= last - step:
            taken.append(cid)
            last = int(ct)
    return taken[::-1]


def history_of(path: Path, step: str = "120d", cache: ReportCache | None = None, **kw: object):
    repo = Repo(path)
    cache = cache if cache is not None else ReportCache(repo)
    report = build_report(repo, str(repo.resolve_commit("main").id), as_of=2_000_000_000, date_field="author",
                          buckets=parse_buckets("1d,14d,90d,365d,730d"), windows=parse_windows("14d,90d,365d"),
                          cache=cache, history_step=parse_step(step), **kw)  # type: ignore[arg-type]
    return report.doc, cache


def assert_samples_match_blame(path: Path, history: dict, *extra: str) -> int:
    """Every sample's cohorts equal the oracle's (zero cohorts left out); return how many lines were checked."""
    checked = 0
    for s in history["samples"]:
        got = {y: n for y, n in s["cohorts"].items() if n}
        assert got == oracle_cohorts(path, s["revision"], *extra), s["revision"]
        checked += sum(got.values())
    return checked


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_cohorts_at_every_sample_equal_git_blame(history, seed: int) -> None:
    """Generated histories with renames, deletions, re-adds, merges and criss-cross merges, over years."""
    path = history(seed, 70, gap=YEARS_APART)
    doc, cache = history_of(path)
    h = doc["history"]
    assert [s["revision"] for s in h["samples"]] == expected_samples(path, "main", 120 * DAY)
    assert len(h["samples"]) >= 6
    years = {y for s in h["samples"] for y, n in s["cohorts"].items() if n}
    assert len(years) >= 3, "the history should span several years"
    assert assert_samples_match_blame(path, h) > 300
    assert cache.stats.derived > 0, "single-parent steps should be derived from git's diff"
    assert cache.stats.ranged > 0, "merges should be blamed only back to the previous sample"
    # The last sample is the revision: its cohorts are the report's own lines.
    assert sum(h["samples"][-1]["cohorts"].values()) == doc["totals"]["lines"]
    # Without a cache (no start points): the same answer.
    uncached, _ = history_of(path, cache=ReportCache(Repo(path), enabled=False))
    assert uncached["history"] == h


def test_a_sample_reuses_every_file_unchanged_since_the_previous_sample(history) -> None:
    path = history(34, 80, gap=YEARS_APART)
    doc, cache = history_of(path, step="60d")
    samples = [s["revision"] for s in doc["history"]["samples"]]
    # The most blames a run needs: every file of the first sample, then the files whose blob changed.
    bound, before = 0, {}
    for rev in samples:
        now = {f.path: f.blob for f in list_tree(Repo(path), rev).text}
        bound += sum(1 for p, b in now.items() if before.get(p) != b)
        before = now
    listed = sum(len(list_tree(Repo(path), rev).text) for rev in samples)
    assert 0 < len(cache.stats.blamed) + cache.stats.derived
    assert len(cache.stats.blamed) <= bound < listed


def test_warm_history_redoes_nothing(history, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = history(35, 60, gap=YEARS_APART)
    cold, c1 = history_of(path)
    assert c1.stats.samples_computed == len(cold["history"]["samples"]) and c1.stats.blamed
    # Count the git blame processes of the warm run with a git on PATH that logs each one.
    real = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True, check=True).stdout.strip()
    shim = tmp_path / "bin"
    shim.mkdir()
    log = tmp_path / "git-calls"
    (shim / "git").write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {real} "$@"\n')
    (shim / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim}{os.pathsep}{os.environ['PATH']}")
    warm, c2 = history_of(path)
    assert warm == cold
    assert c2.stats.blamed == [] and c2.stats.samples_computed == 0
    assert c2.stats.samples_cached == len(cold["history"]["samples"])
    calls = log.read_text().splitlines()
    assert calls, "the shim should see the report's other git calls"
    assert not [c for c in calls if " blame " in f" {c} " or " diff-tree " in f" {c} "]


def test_a_real_git_merge_with_renames_and_deletions(builder: Builder) -> None:
    b = builder
    b.time = 1_410_000_000  # 2014-09-06
    b.write("core.py", b"".join(b"core %d\n" % i for i in range(30)))
    b.write("old.txt", b"old\nlines\nhere\n")
    b.write("gone.py", b"short lived\n")
    b.commit("root", days=1)
    b.git("checkout", "-q", "-b", "feature")
    b.write("core.py", b"".join(b"core %d\n" % i for i in range(30)) + b"feature tail\n")
    b.git("mv", "old.txt", "renamed.txt")
    b.commit("feature: tail and rename", days=200, author="Cy Coder <cy@example.com>")
    b.git("checkout", "-q", "main")
    b.write("core.py", b"main head\n" + b"".join(b"core %d\n" % i for i in range(30)))
    b.git("rm", "-q", "gone.py")
    b.commit("main: head, delete", days=200)
    b.merge("feature", days=200)
    b.write("core.py", b"main head\n" + b"".join(b"core %d\n" % i for i in range(0, 30, 2)) + b"feature tail\n")
    b.write("new.py", b"new\n" * 5)
    b.commit("prune", days=400, author="Bob Builder <bob@example.com>")
    b.write("renamed.txt", b"old\nrewritten\nhere\n")
    b.commit("rewrite", days=300)
    doc, cache = history_of(b.path, step="150d")
    h = doc["history"]
    merges = set(b.git("rev-list", "--merges", "main").split())
    assert merges & {s["revision"] for s in h["samples"]}, "a sample should be the merge"
    assert assert_samples_match_blame(b.path, h) > 100
    assert len(h["samples"]) == 5  # every first-parent commit: they are more than 150 days apart
    assert list(h["samples"][-1]["cohorts"]) == ["2014", "2015", "2017", "2018"]  # the merge adds no line
    assert h["cohortSurvival"]["2014"]["peakLines"] == 34  # core.py's 30 lines, old.txt's 3, gone.py's 1
    assert h["samples"][-1]["cohorts"]["2014"] == 15 + 2  # half of core.py, and 2 lines of the renamed file


def formatted(builder: Builder) -> tuple[Builder, str]:
    """A file written in 2019, reindented by a formatting commit in 2021, then edited in 2022."""
    b = builder
    b.time = 1_550_000_000
    body = [b"def f%d(x):" % i + b"\n  return x + %d\n" % i for i in range(8)]
    b.write("mod.py", b"".join(body))
    b.write("other.py", b"a = 1\nb = 2\n")
    b.commit("write", days=1)
    b.write("mod.py", b"".join(x.replace(b"  return", b"    return") for x in body))
    b.write("other.py", b"a = 1\n\nb = 2\n")
    fmt = b.commit("reformat", days=700, author="Bob Builder <bob@example.com>")
    b.write("mod.py", (b.path / "mod.py").read_bytes() + b"def g():\n    pass\n")
    b.commit("edit", days=400)
    return b, fmt


def test_ignore_revs_file_equals_git_blame(builder: Builder, tmp_path: Path) -> None:
    b, fmt = formatted(builder)
    ignore_file = tmp_path / "ignore-revs"
    ignore_file.write_text(f"# formatting\n{fmt}  # black\n\n")
    repo = Repo(b.path)
    head = str(repo.resolve_commit("HEAD").id)
    commits = list_commits(repo, head)
    listing = list_tree(repo, head)
    cache = ReportCache(repo)
    plain = attribute(repo, commits, listing.text, cache)  # fills the cache with plain blame first
    ignore = load_ignore_revs(repo, str(ignore_file))
    ignored = attribute(repo, commits, listing.text, cache, ignore=ignore)
    for f in listing.text:
        assert plain.line_commits(f.path) == [c for c, _ in blame_oracle(b.path, head, f.path)]
        want = [c for c, _ in blame_oracle(b.path, head, f.path, f"--ignore-revs-file={ignore_file}")]
        assert ignored.line_commits(f.path) == want, f.path
    assert plain.line_commits(b"mod.py").count(fmt) == 8
    assert ignored.line_commits(b"mod.py").count(fmt) == 0  # the reindented lines go back to 2019
    # A history under the ignore list: every sample as git blame --ignore-revs-file at it.
    doc, _ = history_of(b.path, step="200d", ignore=ignore)
    assert assert_samples_match_blame(b.path, doc["history"], f"--ignore-revs-file={ignore_file}") > 0
    assert doc["history"]["samples"][-1]["cohorts"]["2019"] == 18


def test_ignore_revs_on_a_generated_history(history, tmp_path: Path) -> None:
    """Ignored commits among merges and renames, through start points and the cache."""
    path = history(36, 60)
    revs = git(path, "rev-list", "--no-merges", "main").decode().split()
    ignore_file = tmp_path / "ignore"
    ignore_file.write_text("\n".join(revs[3::4]) + "\n")
    repo = Repo(path)
    ignore = load_ignore_revs(repo, str(ignore_file))
    for rev in ("main~7", "main"):
        cid = str(repo.resolve_commit(rev).id)
        listing = list_tree(repo, cid)
        got = attribute(repo, list_commits(repo, cid), listing.text, ReportCache(repo), ignore=ignore)
        changed = 0
        for f in listing.text:
            want = [c for c, _ in blame_oracle(path, cid, f.path, f"--ignore-revs-file={ignore_file}")]
            assert got.line_commits(f.path) == want, (rev, f.path)
            changed += want != [c for c, _ in blame_oracle(path, cid, f.path)]
        assert changed, "the ignore list should change some file's blame"


@pytest.mark.parametrize(
    ("content", "message"),
    [("1234abcd\n", "not a full object id"), ("main\n", "not a full object id")],
)
def test_bad_ignore_revs_file(builder: Builder, tmp_path: Path, content: str, message: str) -> None:
    b, _ = formatted(builder)
    f = tmp_path / "ignore"
    f.write_text(content)
    with pytest.raises(SrcprovError, match=message):
        run_report(Repo(b.path), ignore_revs_file=str(f))
    with pytest.raises(SrcprovError, match="cannot read --ignore-revs-file"):
        run_report(Repo(b.path), ignore_revs_file=str(tmp_path / "missing"))


def test_cli_history_options(builder: Builder, tmp_path: Path) -> None:
    b, fmt = formatted(builder)
    out = run_srcprov(b.path, "report", "--step", "30d", check=2)
    assert "srcprov: error: --step needs --history" in out.stderr
    out = run_srcprov(b.path, "report", "--history", "--step", "soon", check=2)
    assert "bad --step" in out.stderr
    (tmp_path / "ig").write_text(fmt[:8] + "\n")
    out = run_srcprov(b.path, "report", "--ignore-revs-file", str(tmp_path / "ig"), check=2)
    assert "srcprov: error: bad --ignore-revs-file" in out.stderr
    (tmp_path / "ig").write_text(fmt + "\n")
    out = run_srcprov(b.path, "report", "--history", "--step", "200d", "--ignore-revs-file", str(tmp_path / "ig"),
                      "--json", check=True)
    doc = json.loads(out.stdout)
    assert doc["history"]["step"] == "200d"
    assert doc["history"]["samples"][-1]["cohorts"] == {"2019": 18, "2021": 1, "2022": 2}


def test_history_in_every_format(history, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = history(37, 50, gap=YEARS_APART)
    repo = Repo(path)
    run_report(repo, fmt="json", history=True, step="90d")
    h = json.loads(capsys.readouterr().out)["history"]
    assert set(h) >= {"step", "samples", "halfLifeDays"}
    assert set(h["samples"][0]) == {"revision", "date", "cohorts"}
    run_report(repo, fmt="table", history=True, step="90d")
    table = capsys.readouterr().out
    assert "Code age over time" in table and "half-life" in table
    assert max(len(line) for line in table.splitlines()) <= 80
    run_report(repo, fmt="markdown", history=True, step="90d")
    assert "## Code age over time" in capsys.readouterr().out
    run_report(repo, fmt="csv", history=True, step="90d")
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    years = list(h["samples"][-1]["cohorts"])
    assert rows[0] == ["revision", "date", *years, "lines"]
    assert [r[0] for r in rows[1:]] == [s["revision"] for s in h["samples"]]
    assert [int(n) for n in rows[-1][2:-1]] == list(h["samples"][-1]["cohorts"].values())
    page = tmp_path / "r.html"
    run_report(repo, fmt="html", history=True, step="90d", output=str(page))
    html = page.read_text()
    assert '<svg class="chart cohorts"' in html and '<svg class="chart survival"' in html
    assert html.count("<polygon") == len(years)
    assert "lines alive at the sample" in html and "sample date (committer time, UTC)" in html


def row(cid: str, t: int, parents: tuple[str, ...] = ()) -> CommitRow:
    return CommitRow(cid, parents, "A", "a@x", t, t)


def test_sampling_follows_first_parents_every_step() -> None:
    # d (t=100d) <- c (90d) <- b (40d) <- a (0); x (95d) is a second parent of d: never sampled.
    commits = [row("d", 100 * DAY, ("c", "x")), row("x", 95 * DAY, ("b",)), row("c", 90 * DAY, ("b",)),
               row("b", 40 * DAY, ("a",)), row("a", 0)]
    assert [c.id for c in sample_commits(commits, 30 * DAY)] == ["a", "b", "d"]
    assert [c.id for c in sample_commits(commits, 5 * DAY)] == ["a", "b", "c", "d"]
    assert [c.id for c in sample_commits(commits, 1000 * DAY)] == ["d"]


def test_survival_and_half_life() -> None:
    samples = [row("s0", 0), row("s1", 30 * DAY), row("s2", 60 * DAY)]
    # A: 100 lines first seen at s0, 60 at s1, 40 at s2; B: 100 first seen at s1, 50 at s2.
    counts = [{"A": 100}, {"A": 60, "B": 100}, {"A": 40, "B": 50}]
    curve = survival_curve(samples, counts, 30 * DAY)
    # 30 days on: A 60/100 and B 50/100; 60 days on only A was seen that long: 40/100.
    assert [(p.days, p.share) for p in curve] == [(0, 1.0), (30, 0.55), (60, 0.4)]
    assert half_life_days(curve) == 40.0  # 30 + 30 * (0.55 - 0.5) / (0.55 - 0.4)
    assert half_life_days(survival_curve(samples, [{"A": 10}, {"A": 10}, {"A": 9}], 30 * DAY)) is None


def test_dense_samples_derived_from_git_diffs_equal_git_blame(history) -> None:
    """Samples a few commits apart: most blames are derived along single-parent steps from git's diffs
    (repeated lines, CRLF, lines without a final newline), the rest blamed by git; all equal git blame."""
    path = history(38, 70)
    doc, cache = history_of(path, step="6h")
    h = doc["history"]
    assert len(h["samples"]) >= 15
    assert cache.stats.derived >= 20 and cache.stats.ranged >= 10
    assert assert_samples_match_blame(path, h) > 1000


def test_linear_edits_with_ambiguous_diffs(builder: Builder) -> None:
    """Every commit a sample: each step derived from git's diff, on edits where a diff has choices."""
    b = builder
    b.time = 1_500_000_000
    versions = [
        b"a\nb\na\nb\na\nb\n",
        b"a\nb\na\nb\na\nb\na\nb\n",  # a repeated pair appended: which pair is new?
        b"}\n\n}\n\na\nb\na\nb\na\nb\na\nb\n",  # blank lines and braces, where the indent heuristic slides
        b"}\n\n}\n\na\nb\na\nb\n",
        b"}\n\n}\n\na\nb\na\nb",  # the final newline goes
        b"}\r\n\n}\n\na\nb\na\nb\n",  # CRLF on one line, the newline back
        b"x\n}\r\n\n}\n\na\nb\na\nb\nx\n",
        b"",
        b"new\nnew\nnew\n",
    ]
    for i, v in enumerate(versions):
        b.write("f.txt", v)
        b.write("g.txt", b"".join(b"line %d\n" % j for j in range(i + 1)))
        b.commit(f"v{i}", days=200)
    doc, cache = history_of(b.path, step="100d")
    assert len(doc["history"]["samples"]) == len(versions)
    assert cache.stats.derived >= 10
    assert assert_samples_match_blame(b.path, doc["history"]) > 40
    repo = Repo(b.path)
    for rev in b.git("rev-list", "main").split():
        listing = list_tree(repo, rev)
        got = attribute(repo, list_commits(repo, rev), listing.text, cache)
        for f in listing.text:
            assert got.line_commits(f.path) == [c for c, _ in blame_oracle(b.path, rev, f.path)], (rev, f.path)
