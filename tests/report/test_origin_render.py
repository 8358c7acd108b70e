"""Origin per directory and per file in every format, and the HTML's per-directory origin chart."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from report_repos import Builder

from srcprov.git import Repo
from srcprov.report import CommitFacts, run_report

ODD = "a|<b>\nc"  # a directory whose name would break a Markdown table, HTML and a terminal line


@pytest.fixture
def mixed(builder: Builder) -> tuple[Builder, dict[str, CommitFacts]]:
    """Nine lines: `.` 1 human + 1 unknown, `src` 3 human + 1 ai-assisted + 1 ai-generated, ODD 2 ai-generated."""
    b = builder
    b.write("README.md", b"r1\n")
    b.write("src/app.py", b"a\nb\nc\n")
    c1 = b.commit("human")
    b.write("src/app.py", b"a\nb\nc\nd\n")
    c2 = b.commit("assisted")
    b.write("src/lib.py", b"x\n")
    b.write(f"{ODD}/x.py", b"1\n2\n")
    c3 = b.commit("generated")
    b.write("README.md", b"r1\nr2\n")
    b.commit("no record")
    facts = {c1: CommitFacts("verified", "human", False), c2: CommitFacts("verified", "ai-assisted", False),
             c3: CommitFacts("verified", "ai-generated", False)}
    return b, facts


def render(b: Builder, facts: dict[str, CommitFacts], capsys: pytest.CaptureFixture[str], fmt: str,
           by: str = "dir") -> str:
    run_report(Repo(b.path), fmt=fmt, by=by, as_of="HEAD", facts_for=lambda cs: facts)
    return capsys.readouterr().out


def section(text: str, title: str) -> str:
    """The body of a section, from its title to the next blank line after its table."""
    start = text.index(title + "\n")
    return text[start:].split("\n\n", 2)[1] if text.startswith("#", start) else text[start:].split("\n\n", 1)[0]


def svg(page: str, cls: str) -> str:
    m = re.search(rf'<svg class="chart {cls}".*?</svg>', page, re.S)
    assert m, cls
    return m.group(0)


def test_table_and_markdown_show_origin_per_directory_and_file(mixed, capsys: pytest.CaptureFixture[str]) -> None:
    b, facts = mixed
    table = render(b, facts, capsys, "table")
    assert section(table, "Origin by directory (% of lines)") == (
        "Origin by directory (% of lines)\n"
        "================================\n"
        "directory  lines  human        ai-       ai-  unknown\n"
        "                         generated  assisted\n"
        "---------  -----  -----  ---------  --------  -------\n"
        ".              2     50          0         0       50\n"
        "a|<b>\\nc       2      0        100         0        0\n"
        "src            5     60         20        20        0"
    )
    assert max(len(line) for line in table.splitlines()) <= 80

    md = render(b, facts, capsys, "markdown")
    assert section(md, "## Origin by directory (% of lines)") == (
        "| directory       | lines | human | ai-generated | ai-assisted | unknown |\n"
        "|-----------------|-------|-------|--------------|-------------|---------|\n"
        "| .               |     2 |    50 |            0 |           0 |      50 |\n"
        "| a\\|&lt;b&gt;\\nc |     2 |     0 |          100 |           0 |       0 |\n"
        "| src             |     5 |    60 |           20 |          20 |       0 |"
    )
    assert "<b>" not in md

    md = render(b, facts, capsys, "markdown", by="file")
    assert section(md, "## Origin by file (% of lines)").splitlines()[2:] == [
        "| README.md            |     2 |    50 |            0 |           0 |      50 |",
        "| a\\|&lt;b&gt;\\nc/x.py |     2 |     0 |          100 |           0 |       0 |",
        "| src/app.py           |     4 |    75 |            0 |          25 |       0 |",
        "| src/lib.py           |     1 |     0 |          100 |           0 |       0 |",
    ]


def test_csv_and_json_carry_origin_per_group(mixed, capsys: pytest.CaptureFixture[str]) -> None:
    b, facts = mixed
    rows = {r["path"]: r for r in csv.DictReader(io.StringIO(render(b, facts, capsys, "csv")))}
    assert {p: (r["origin human"], r["origin ai-assisted"], r["origin ai-generated"], r["origin unknown"])
            for p, r in rows.items()} == {".": ("1", "0", "0", "1"), ODD: ("0", "0", "2", "0"), "src": ("3", "1", "1", "0")}
    doc = json.loads(render(b, facts, capsys, "json"))
    assert {f["path"]: f["origin"] for f in doc["files"]}["src/app.py"] == {"human": 3, "ai-assisted": 1}


def test_html_origin_chart_per_directory(mixed, capsys: pytest.CaptureFixture[str]) -> None:
    b, facts = mixed
    page = render(b, facts, capsys, "html")
    charts = re.findall(r'<svg class="chart ([a-z-]+)"', page)
    assert charts.index("origin-stack") == charts.index("origin") + 1
    assert "a|<b>" not in page
    chart = svg(page, "origin-stack")
    assert "All 3 directories; each bar is 100% of the directory&#x27;s lines" in page
    # Legend in the report's order (most lines first), then one bar per directory, largest first.
    assert re.findall(r'fill="(#[0-9a-f]{6})"/><text x="\d+" y="10">([a-z-]+)</text>', chart) == [
        ("#3182bd", "human"), ("#a63603", "ai-generated"), ("#fd8d3c", "ai-assisted"), ("#d9d9d9", "unknown")]
    assert re.findall(r'<text x="0" y="\d+">([^<]*)</text>', chart) == ["src", ".", "a|&lt;b&gt;\\nc"]
    bars = re.findall(r'<rect x="([\d.]+)" y="(\d+)" width="([\d.]+)" height="18" fill="(#\w+)"><title>(.*?)</title>',
                      chart)
    assert bars == [
        ("200.0", "42", "282.0", "#3182bd", "src: human 3 lines (60.0%)"),
        ("482.0", "42", "94.0", "#a63603", "src: ai-generated 1 line (20.0%)"),
        ("576.0", "42", "94.0", "#fd8d3c", "src: ai-assisted 1 line (20.0%)"),
        ("200.0", "64", "235.0", "#3182bd", ".: human 1 line (50.0%)"),
        ("435.0", "64", "235.0", "#d9d9d9", ".: unknown 1 line (50.0%)"),
        ("200.0", "86", "470.0", "#a63603", "a|&lt;b&gt;\\nc: ai-generated 2 lines (100.0%)"),
    ]
    assert "100%</text>" in chart and "share of the directory&#x27;s lines, by the origin of each line" in chart
    table = re.search(r"<h2>By directory</h2>.*?</table>", page, re.S).group(0)
    assert "<th>origin (% of lines)</th>" in table
    assert re.findall(r"<tr><td>([^<]*)</td>.*?<td>([^<]*)</td></tr>", table) == [
        (".", "human 50.0%, unknown 50.0%"), ("a|&lt;b&gt;\\nc", "ai-generated 100.0%"),
        ("src", "human 60.0%, ai-assisted 20.0%, ai-generated 20.0%")]

    page = render(b, facts, capsys, "html", by="file")
    chart = svg(page, "origin-stack")
    assert "<h2>Origin of lines per file</h2>" in page and "All 4 files; each bar" in page
    assert re.findall(r'<text x="0" y="\d+">([^<]*)</text>', chart) == [
        "src/app.py", "README.md", "a|&lt;b&gt;\\nc/x.py", "src/lib.py"]
    assert '<text x="0" y="36" class="axis">file</text>' in chart


def test_html_origin_chart_shows_the_20_largest(builder: Builder, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(23):
        builder.write(f"f{i:02d}.txt", b"x\n" * (i + 1))
    builder.commit("files")
    run_report(Repo(builder.path), fmt="html", by="file", facts_for=lambda cs: {})
    page = capsys.readouterr().out
    assert "The 20 largest of 23 files (3 more not shown); each bar" in page
    chart = svg(page, "origin-stack")
    assert re.findall(r'<text x="0" y="\d+">([^<]*)</text>', chart) == [f"f{i:02d}.txt" for i in range(22, 2, -1)]
    assert chart.count('width="470.0" height="18" fill="#d9d9d9"') == 20  # all unknown: one full grey bar each


# Line-level and claimed origins, one commit (and file) each, fewer lines each; the last commit has no record.
ORIGINS = ["ai", "human", "mixed", "ai-assisted", "ai-generated", "generated", "vendored", "third-party", "unknown"]
AI_KINDS = ("ai", "ai-generated", "ai-assisted", "mixed")


def test_many_origins(builder: Builder, capsys: pytest.CaptureFixture[str]) -> None:
    facts = {}
    for i, origin in enumerate(ORIGINS):
        builder.write(f"d/f{i}.py", b"x\n" * (9 - i))
        c = builder.commit(origin)
        if origin != "unknown":
            facts[c] = CommitFacts("verified", origin, False)

    def out(fmt: str) -> str:
        run_report(Repo(builder.path), fmt=fmt, as_of="HEAD", facts_for=lambda cs: facts)
        return capsys.readouterr().out

    # The terminal: the five largest origins and the rest as "other" (10 of 45 lines), named under the table.
    table = out("table")
    body = section(table, "Origin by directory (% of lines)").splitlines()
    assert body[2].split() == ["directory", "lines", "ai", "human", "mixed", "ai-", "ai-", "other"]
    assert body[5].split() == ["d", "45", "20", "18", "16", "13", "11", "22"]
    assert body[6] == "other: generated, vendored, third-party, unknown"
    assert max(len(line) for line in table.splitlines()) <= 80
    # Markdown has no width to keep: every origin.
    md = section(out("markdown"), "## Origin by directory (% of lines)").splitlines()
    assert [c.strip() for c in md[0].split("|")[3:-1]] == ORIGINS
    assert [c.strip() for c in md[2].split("|")[1:-1]] == ["d", "45", "20", "18", "16", "13", "11", "9", "7", "4", "2"]

    page = out("html")
    fills = {o: f for f, o in re.findall(r'fill="(#[0-9a-f]{6})"><title>d: ([a-z-]+) ', svg(page, "origin-stack"))}
    assert list(fills) == ORIGINS and len(set(fills.values())) == len(ORIGINS)
    for origin, colour in fills.items():
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        if origin in AI_KINDS:
            assert r > g > b, origin  # oranges
        elif origin == "human":
            assert b > g > r
        elif origin == "unknown":
            assert r == g == b
    # Nine labelled origins do not fit one row of the legend: it wraps, and the bar moves down under it.
    chart = svg(page, "origin")
    legend = re.findall(r'<text x="(\d+)" y="(\d+)">([^<]*)</text>', chart.split("<line", 1)[0])
    assert {y for _, y, _ in legend} == {"10", "28"}
    assert all(int(x) + 7 * len(label) <= 760 for x, _, label in legend)
    assert '<rect x="12.0" y="40" width="145.6" height="28" fill="#e6550d"><title>ai: 9 lines</title>' in chart
