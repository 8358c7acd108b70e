"""run_report end to end on small repositories: the JSON contract, the formats, the facts, bad input."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from report_repos import Builder

from srcprov.errors import SrcprovError
from srcprov.git import Repo
from srcprov.progress import ProgressBar
from srcprov.report import CommitFacts, run_report

DAY = 86400
KEYS = ["revision", "asOf", "dateField", "buckets", "windows", "totals", "age", "churn", "authors", "coverage",
        "origin", "review", "files", "directories", "hotspots", "legacy", "originEvidence"]


@pytest.fixture
def small(builder: Builder) -> Builder:
    """Three commits at known dates; as of T0 + 800 days the first is >=730d, the second 1 day old exactly."""
    b = builder
    b.time = 1_600_000_000
    b.write("src/app.py", b"a\nb\nc\n")
    b.write("README.md", b"hello\n")
    b.write("logo.png", b"\x89PNG\0\0")
    b.commit("root", days=0)
    b.time = 1_600_000_000 + 799 * DAY
    b.write("src/app.py", b"a\nb\nc\nd\n")
    b.commit("add d", days=0, author="Bob Builder <bob@example.com>")
    b.time = 1_600_000_000 + 900 * DAY  # after AS-OF: counts as age 0
    b.write("src/util/deep.py", b"x\n")
    b.commit("future", days=0, author="Cy Coder <cy@example.com>")
    return b


AS_OF = "2022-11-22T12:26:40+00:00"  # 1_600_000_000 + 800 days


def run_json(path: Path, capsys: pytest.CaptureFixture[str], **kw: object) -> dict:
    run_report(Repo(path), fmt="json", **kw)  # type: ignore[arg-type]
    return json.loads(capsys.readouterr().out)


def test_json_document(small: Builder, capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(small.path, capsys, as_of=AS_OF)
    assert list(doc) == KEYS
    assert doc["revision"] == small.git("rev-parse", "HEAD")
    assert doc["asOf"] == "2022-11-22T12:26:40Z"
    assert doc["dateField"] == "author"
    assert doc["buckets"] == ["<1d", "1d-14d", "14d-90d", "90d-365d", "365d-730d", ">=730d"]
    assert doc["windows"] == ["14d", "90d", "365d"]
    assert doc["totals"]["files"] == 3 and doc["totals"]["lines"] == 6 and doc["totals"]["commits"] == 3
    assert doc["totals"]["binaryFiles"] == ["logo.png"]
    age = {a["bucket"]: a["lines"] for a in doc["age"]}
    # a, b, c and hello are 800 days old; d exactly 1 day (lower edge included); x is in the future.
    assert age == {"<1d": 1, "1d-14d": 1, "14d-90d": 0, "90d-365d": 0, "365d-730d": 0, ">=730d": 4}
    assert [a["bucket"] for a in doc["age"]] == doc["buckets"]
    assert doc["age"][-1]["share"] == round(4 / 6, 4)
    files = {f["path"]: f for f in doc["files"]}
    assert set(files) == {"README.md", "src/app.py", "src/util/deep.py"}
    app = files["src/app.py"]
    assert set(app) == {"path", "lines", "age", "churn", "origin"}
    assert app["lines"] == 4 and app["age"][">=730d"] == 3 and app["age"]["1d-14d"] == 1
    assert app["churn"]["14d"] == {"commits": 1, "insertions": 1, "deletions": 0}
    assert app["origin"] == {"unknown": 4}
    assert doc["churn"]["14d"]["commits"] == 1  # the future commit is outside every window
    assert {d["path"] for d in doc["directories"]} == {".", "src"}
    assert {a["author"]: a["lines"] for a in doc["authors"]} == {
        "Ann Author <ann@example.com>": 4, "Bob Builder <bob@example.com>": 1, "Cy Coder <cy@example.com>": 1}
    assert doc["coverage"]["commits"] == {"missing": 3}
    assert doc["origin"] == [{"origin": "unknown", "lines": 6, "share": 1.0}]
    assert [x["path"] for x in doc["legacy"]] == ["src/app.py", "README.md"]  # most old lines first
    assert [h["path"] for h in doc["hotspots"]] == ["src/app.py"]


def test_committer_dates_and_as_of_revision(small: Builder, capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(small.path, capsys, as_of="HEAD~1", date_field="committer")
    assert doc["dateField"] == "committer"
    assert doc["asOf"] == "2022-11-21T12:26:40Z"
    age = {a["bucket"]: a["lines"] for a in doc["age"]}
    assert age["<1d"] == 2 and age[">=730d"] == 4  # d is 0 days old, x in the future


def test_by_depth_and_path(small: Builder, capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(small.path, capsys, as_of=AS_OF, depth=2, paths=["src"])
    assert [f["path"] for f in doc["files"]] == ["src/app.py", "src/util/deep.py"]
    assert [d["path"] for d in doc["directories"]] == ["src", "src/util"]
    doc = run_json(small.path, capsys, as_of=AS_OF, paths=["*.md"])
    assert [f["path"] for f in doc["files"]] == ["README.md"]
    assert doc["churn"]["365d"]["commits"] == 0


def test_facts_drive_coverage_origin_and_review(small: Builder, capsys: pytest.CaptureFixture[str]) -> None:
    ids = small.git("rev-list", "HEAD").split()
    calls = []

    def facts_for(commits: list[str]) -> dict[str, CommitFacts]:
        calls.append(list(commits))
        return {ids[0]: CommitFacts("verified", "ai-assisted", True),
                ids[1]: CommitFacts("unreviewed", None, False),
                ids[2]: CommitFacts("verified", "human", False)}

    doc = run_json(small.path, capsys, as_of=AS_OF, facts_for=facts_for)
    assert len(calls) == 1 and sorted(calls[0]) == sorted(ids)
    assert doc["coverage"]["commits"] == {"verified": 2, "unreviewed": 1}
    assert doc["coverage"]["verifiedLines"] == 5
    assert {o["origin"]: o["lines"] for o in doc["origin"]} == {"human": 4, "ai-assisted": 1, "unknown": 1}
    assert doc["review"]["reviewedLines"] == 1
    weekly = doc["coverage"]["weekly"]
    assert sum(w["commits"] for w in weekly) == 3 and sum(w["verified"] for w in weekly) == 2
    assert all(w["week"][4:6] == "-W" for w in weekly)


def test_text_formats(small: Builder, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo = Repo(small.path)
    run_report(repo, as_of=AS_OF)
    table = capsys.readouterr().out
    assert "Age of lines" in table and ">=730d" in table
    assert max(len(line) for line in table.splitlines()) <= 80
    run_report(repo, as_of=AS_OF, by="file")
    assert "src/util/deep.py" in capsys.readouterr().out
    run_report(repo, as_of=AS_OF, fmt="markdown")
    md = capsys.readouterr().out
    assert md.startswith("# Provenance report") and "| age" in md
    out = tmp_path / "r.csv"
    run_report(repo, as_of=AS_OF, fmt="csv", by="file", output=str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["path"] for r in rows] == ["README.md", "src/app.py", "src/util/deep.py"]
    assert rows[1]["age >=730d"] == "3" and rows[1]["commits 14d"] == "1"
    assert capsys.readouterr().out == ""


def test_long_paths_still_fit_80_columns(builder: Builder, capsys: pytest.CaptureFixture[str]) -> None:
    builder.write("a/" + "very-long-directory-name/" * 4 + "file.py", b"x\n")
    builder.commit("deep")
    run_report(Repo(builder.path), by="file")
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= 80


def test_non_utf8_path_is_backslash_escaped(builder: Builder, capsys: pytest.CaptureFixture[str]) -> None:
    builder.write(b"caf\xe9.txt", b"x\n")
    builder.commit("latin-1")
    doc = run_json(builder.path, capsys)
    assert [f["path"] for f in doc["files"]] == ["caf\\xe9.txt"]


def test_progress_only_on_a_terminal(small: Builder, capsys: pytest.CaptureFixture[str]) -> None:
    run_report(Repo(small.path), progress=True)
    assert capsys.readouterr().err == ""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    bar = ProgressBar("attributing", stream=tty)
    bar(3, 10)
    bar(10, 10)
    bar.close()
    assert "10/10 files" in tty.getvalue()
    quiet = ProgressBar("attributing", stream=Tty(), enabled=False)
    quiet(1, 2)
    assert quiet.stream.getvalue() == ""  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"rev": "no-such-rev"}, "unknown revision"),
        ({"as_of": "yesterday-ish"}, "bad --as-of"),
        ({"buckets": "14d,1d"}, "bad --buckets"),
        ({"buckets": "0d"}, "bad --buckets"),
        ({"windows": "-3d"}, "bad --windows"),
        ({"windows": "soon"}, "bad --windows"),
        ({"fmt": "pdf"}, "bad --format"),
        ({"date_field": "commit"}, "bad --date"),
        ({"by": "author"}, "bad --by"),
        ({"depth": 0}, "bad --depth"),
        ({"paths": ["nothing/*"]}, "matches --path"),
    ],
)
def test_bad_input(small: Builder, kw: dict, message: str) -> None:
    with pytest.raises(SrcprovError, match=message):
        run_report(Repo(small.path), **kw)


def test_unwritable_output(small: Builder, tmp_path: Path) -> None:
    with pytest.raises(SrcprovError, match="cannot write --output"):
        run_report(Repo(small.path), output=str(tmp_path / "missing-dir" / "r.txt"))
    with pytest.raises(SrcprovError, match="cannot write --output"):
        run_report(Repo(small.path), output=str(tmp_path))
    if os.geteuid() != 0:  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(SrcprovError, match="cannot write --output"):
            run_report(Repo(small.path), output=str(ro / "r.txt"))


def test_empty_repository_and_empty_revision(builder: Builder) -> None:
    with pytest.raises(SrcprovError, match="no commits"):
        run_report(Repo(builder.path))
    builder.commit("nothing")
    with pytest.raises(SrcprovError, match="has no files"):
        run_report(Repo(builder.path))


def test_table_of_a_larger_history_fits_80_columns(history, capsys: pytest.CaptureFixture[str]) -> None:
    path = history(51, 120)
    for by in ("dir", "file"):
        run_report(Repo(path), by=by, as_of="main")
        out = capsys.readouterr().out
        assert max(len(line) for line in out.splitlines()) <= 80, by
        assert "Hotspots" in out and "Left out" in out
