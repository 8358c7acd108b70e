"""The fleet's pure parts and its bad input: the list of repositories, merging summaries, renderers, CLI errors."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import pytest

from srcprov.errors import SrcprovError
from srcprov.fleet.clones import open_entry, scrubbed
from srcprov.fleet.render import by_attention, render
from srcprov.fleet.sources import Entry, parse_list, read_entries, repositories_below
from srcprov.fleet.summary import Outcome, fleet_doc, merge
from testing.run import run_srcprov

BUCKETS = ["<1d", "1d-14d", ">=14d"]
WINDOWS = ["14d"]


def _git(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_a_list_skips_comments_resolves_paths_and_strips_credentials(tmp_path: Path) -> None:
    text = ("# fleet\n\n  a/b  \n/abs/repo\nhttps://user:tok3n@git.example.com/org/r.git?private_token=x#f\n"
            "git@github.com:org/s.git\n../up\na/b\n")
    entries = parse_list(text, tmp_path)
    assert [e.name for e in entries] == ["a/b", "/abs/repo", "https://git.example.com/org/r.git", "ssh://github.com/org/s.git",
                                         "../up"]
    assert entries[0].location == str(tmp_path / "a" / "b") and not entries[0].is_url
    assert entries[2].is_url and entries[2].location.startswith("https://user:tok3n@")  # kept, to fetch with
    assert entries[2].source == "https://git.example.com/org/r.git"
    assert entries[4].location == str(tmp_path.parent / "up")


def test_a_list_file_that_names_nothing_or_is_missing_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(SrcprovError, match="lists no repository"):
        read_entries(str(tmp_path / "empty.txt"))
    with pytest.raises(SrcprovError, match="no such file or directory"):
        read_entries(str(tmp_path / "nope.txt"))


def test_a_directory_yields_every_repository_below_it_and_none_inside_one(tmp_path: Path) -> None:
    _git("init", "-q", str(tmp_path / "team" / "app"))
    _git("init", "-q", str(tmp_path / "team" / "app" / "vendor" / "inner"))  # inside a repository: not entered
    _git("init", "-q", "--bare", str(tmp_path / "mirrors" / "lib.git"))
    (tmp_path / "docs").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "team")  # not followed: no repository twice
    names = [e.name for e in repositories_below(tmp_path)]
    assert names == ["mirrors/lib.git", "team/app"]
    with pytest.raises(SrcprovError, match="no git repository below"):
        repositories_below(tmp_path / "docs")


def test_a_path_inside_a_repository_is_not_that_repository(tmp_path: Path) -> None:
    _git("init", "-q", str(tmp_path / "r"))
    (tmp_path / "r" / "sub").mkdir()
    with pytest.raises(SrcprovError, match="not a git repository: .*sub .it lies inside"):
        open_entry(Entry("sub", str(tmp_path / "r" / "sub"), False))
    assert open_entry(Entry("r", str(tmp_path / "r"), False)).workdir == (tmp_path / "r").resolve()


def test_git_errors_never_carry_credentials() -> None:
    url = "https://me:t0p-s3cret@host.example/org/x.git"
    text = f"unable to access '{url}/': Could not resolve host; also https://other:pw@h/x"
    assert scrubbed(text, url) == "unable to access 'https://host.example/org/x.git/': Could not resolve host; also https://h/x"


def _summary(lines: dict[str, int], author: str, status: dict[str, int], verified: int, origin: dict[str, int]) -> dict:
    total = sum(lines.values())
    return {
        "revision": "r" * 40,
        "totals": {"files": 2, "lines": total, "commits": sum(status.values()), "binaryFiles": 1, "symlinks": 0,
                   "submodules": 0},
        "age": lines, "churn": {"14d": {"commits": 1, "insertions": 3, "deletions": 1}},
        "authors": {author: total}, "coverage": {"commits": status, "verifiedLines": verified,
                                                 "weekly": {"2025-W01": [2, 1]}},
        "origin": origin, "review": {"reviewedLines": 1, "reviewedCommits": 1}, "legacyFiles": 0,
        "originEvidence": {"commits": 2, "unusable": 1},
    }


def test_merging_summaries_adds_every_section() -> None:
    a = _summary({"<1d": 3, "1d-14d": 0, ">=14d": 7}, "Ann", {"verified": 2}, 10, {"human": 10})
    b = _summary({"<1d": 0, "1d-14d": 5, ">=14d": 5}, "Ann", {"missing": 3, "verified": 1}, 4, {"unknown": 6, "human": 4})
    m = merge([a, b], BUCKETS, WINDOWS)
    assert m["age"] == {"<1d": 3, "1d-14d": 5, ">=14d": 12}
    assert m["totals"]["lines"] == 20 and m["totals"]["commits"] == 6 and m["totals"]["binaryFiles"] == 2
    assert m["authors"] == {"Ann": 20}
    assert m["coverage"] == {"commits": {"verified": 3, "missing": 3}, "verifiedLines": 14, "weekly": {"2025-W01": [4, 2]}}
    assert m["origin"] == {"human": 14, "unknown": 6}
    assert m["originEvidence"] == {"commits": 4, "unusable": 2}
    assert m["churn"] == {"14d": {"commits": 2, "insertions": 6, "deletions": 2}}
    assert merge([], BUCKETS, WINDOWS)["age"] == {"<1d": 0, "1d-14d": 0, ">=14d": 0}


def _doc() -> dict:
    outcomes = [
        Outcome("=calc()", "/x/=calc()", _summary({"<1d": 1, "1d-14d": 0, ">=14d": 9}, "A", {"verified": 1}, 9, {"human": 10})),
        Outcome("big|pipe", "/x/big", _summary({"<1d": 50, "1d-14d": 0, ">=14d": 50}, "B", {"missing": 1}, 10, {"unknown": 100})),
        Outcome("small", "/x/small", _summary({"<1d": 10, "1d-14d": 0, ">=14d": 0}, "C", {"missing": 1}, 1, {"unknown": 10})),
        Outcome("gone", "/x/gone", error="no such directory: /x/gone"),
    ]
    total = merge([o.summary for o in outcomes if o.summary is not None], BUCKETS, WINDOWS)
    return fleet_doc(outcomes, total, as_of="2026-01-01T00:00:00Z", date_field="author", buckets=BUCKETS, windows=WINDOWS,
                     revision="HEAD")


def test_repositories_needing_attention_come_first() -> None:
    # failed; then 10% verified of 100 lines, 10% of 10 lines (fewer unverified lines), 90% verified
    assert [r["name"] for r in by_attention(_doc())] == ["gone", "big|pipe", "small", "=calc()"]


def test_every_format_has_each_repository_and_the_total() -> None:
    doc = _doc()
    table = render(doc, "table")
    assert "3 reported, 1 failed" in table and "no such directory: /x/gone" in table and "120 lines" in table
    md = render(doc, "markdown")
    assert "big\\|pipe" in md and "| gone " in md
    rows = list(csv.reader(io.StringIO(render(doc, "csv"))))
    header, body = rows[0], rows[1:]
    assert [r[0] for r in body] == ["'=calc()", "big|pipe", "small", "gone", "(total)"]  # a formula is neutralised
    total = dict(zip(header, body[-1], strict=True))
    assert total["lines"] == "120" and total["age <1d"] == "61" and total["verified lines"] == "20"
    assert total["origin unknown"] == "110" and total["commits missing"] == "2"
    html = render(doc, "html")
    assert html.count("<tr class=\"repo\">") == 3 and html.count('<tr class="failed">') == 1
    assert "&lt;1d" in html and "=calc()" in html and "<script" not in html
    with pytest.raises(SrcprovError, match="bad --format"):
        render(doc, "xml")


@pytest.mark.parametrize("args, message", [
    (["--repos", "no-such-list.txt"], "bad --repos: no such file or directory"),
    (["--repos", ".", "--format", "xml"], "bad --format"),
    (["--repos", ".", "--as-of", "HEAD~1"], "bad --as-of"),
    (["--repos", ".", "--buckets", "14d,1d"], "bad --buckets"),
    (["--repos", ".", "--workers", "0"], "bad --workers"),
    (["--repos", ".", "--output", "/no/such/dir/out.html"], "cannot write --output"),
])
def test_bad_input_is_one_line_and_exit_2_before_any_worker_starts(tmp_path: Path, args: list[str], message: str) -> None:
    proc = run_srcprov(tmp_path, "fleet", "report", *args, check=2, timeout=60)
    assert proc.stderr.startswith(f"srcprov: error: {message}") and proc.stderr.count("\n") == 1
    assert proc.stdout == ""


def test_a_scheduler_that_is_no_address_or_does_not_answer_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from fleet_kit import free_port

    (tmp_path / "fleet.txt").write_text("some/repository\n")
    for address, message in [("nonsense:::x", "bad --scheduler 'nonsense:::x': expected tcp://HOST:PORT"),
                             (f"tcp://127.0.0.1:{free_port()}", "cannot reach the Dask scheduler at tcp://127.0.0.1:")]:
        proc = run_srcprov(tmp_path, "fleet", "report", "--repos", "fleet.txt", "--scheduler", address, check=2, timeout=60)
        assert proc.stderr.startswith(f"srcprov: error: {message}") and proc.stderr.count("\n") == 1, proc.stderr


def test_an_entry_git_would_read_as_an_option_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SrcprovError, match="line 2: .*starts with '-'"):
        parse_list("ok/repo\n--upload-pack=touch$IFS/tmp/pwned:x\n", tmp_path)
    assert [e.name for e in parse_list("./-odd-name\n", tmp_path)] == ["./-odd-name"]
