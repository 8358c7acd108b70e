"""The fleet report as a terminal table, Markdown, CSV, JSON and one self-contained HTML page."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from html import escape
from typing import Any

from srcprov.errors import SrcprovError
from srcprov.report.render_html import AGE_COLOURS, CSS, ORIGIN_COLOURS, OTHER_COLOURS
from srcprov.report.render_text import cell_text, csv_cell, tabulate

FORMATS = ("table", "json", "markdown", "csv", "html")
TOP = 10
NAME_WIDTH = 32


def by_attention(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-repository rows, most in need of attention first: failed ones, then the lowest share of lines
    from verified commits, then the most lines not from verified commits, then by name."""
    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        lines = r["totals"]["lines"]
        verified = r["coverage"]["verifiedLines"]
        return (verified / lines if lines else 1.0, -(lines - verified), r["name"])

    failed = sorted(doc["failed"], key=lambda r: r["name"])
    return [{**r, "failedWith": r["error"]} for r in failed] + sorted(doc["perRepository"], key=key)


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _pct0(n: int, total: int) -> str:
    return f"{round(100 * n / total)}" if total else "-"


def _short(name: str, width: int | None) -> str:
    return name if width is None or len(name) <= width else "…" + name[-(width - 1):]


def _tab(rows: list[list[Any]], headers: list[str], fmt: str) -> str:
    rows = [[cell_text(v, fmt) for v in r] for r in rows]
    align = ("left",) + ("right",) * (len(headers) - 1)
    return tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True, colalign=align)


def _sections(doc: dict[str, Any], fmt: str) -> list[tuple[str, str]]:
    """(title, body) pairs shared by the terminal table and Markdown."""
    width = NAME_WIDTH if fmt != "github" else None
    t = doc["totals"]
    r = doc["repositories"]
    names = doc["buckets"]
    widest = doc["windows"][-1]
    out = [("Fleet provenance report",
            f"{r['listed']} repositories: {r['reported']} reported, {r['failed']} failed\n"
            f"revision {doc['revision']} of each, as of {doc['asOf']} ({doc['dateField']} dates)\n"
            f"{t['files']} text files, {t['lines']} lines, {t['commits']} commits")]
    out.append(("Age of lines", _tab([[a["bucket"], a["lines"], _pct(a["share"])] for a in doc["age"]],
                                     ["age", "lines", "share"], fmt)))
    out.append(("Churn", _tab([[w, c["commits"], c["insertions"], c["deletions"], f"{c['ratio']:.2f}"]
                               for w, c in doc["churn"].items()],
                              ["window", "commits", "insertions", "deletions", "ratio"], fmt)))
    more = len(doc["authors"]) - TOP
    out.append(("Authors", _tab([[a["author"], a["lines"], _pct(a["share"])] for a in doc["authors"][:TOP]],
                                ["author", "lines", "share"], fmt) + (f"\n... and {more} more" if more > 0 else "")))
    cov = doc["coverage"]
    out.append(("Coverage", _tab([[s, n] for s, n in cov["commits"].items()], ["status", "commits"], fmt)
                + f"\n\nverified commits: {_pct(cov['verifiedCommitShare'])}; lines from verified commits: "
                  f"{cov['verifiedLines']} ({_pct(cov['verifiedLineShare'])})"))
    out.append(("Origin of lines", _tab([[o["origin"], o["lines"], _pct(o["share"])] for o in doc["origin"]],
                                        ["origin", "lines", "share"], fmt)))
    rv = doc["review"]
    out.append(("Review", f"lines from reviewed commits: {rv['reviewedLines']} ({_pct(rv['share'])}); "
                          f"reviewed commits: {rv['reviewedCommits']}"))

    rows_all = by_attention(doc)
    ok_rows = [x for x in rows_all if "failedWith" not in x]
    headers = ["repository", "lines"] + [b.replace("-", "-\n", 1) if fmt != "github" else b for b in names]
    headers += ["verified\nlines" if fmt != "github" else "verified lines"]
    rows = [[_short(x["name"], width), x["totals"]["lines"], *(_pct0(a["lines"], x["totals"]["lines"]) for a in x["age"]),
             _pct(x["coverage"]["verifiedLineShare"])] for x in ok_rows]
    out.append(("Repositories, most in need of attention first (age as % of lines)",
                _tab(rows, headers, fmt) if rows else "none"))
    origins = [o["origin"] for o in doc["origin"]]
    headers = ["repository", "commits", f"commits\n{widest}" if fmt != "github" else f"commits {widest}"]
    headers += [f"{o} %" for o in origins] + ["reviewed %"]
    rows = []
    for x in ok_rows:
        lines = x["totals"]["lines"]
        got = {o["origin"]: o["lines"] for o in x["origin"]}
        rows.append([_short(x["name"], width), x["totals"]["commits"], x["churn"][widest]["commits"],
                     *(_pct0(got.get(o, 0), lines) for o in origins), _pct0(x["review"]["reviewedLines"], lines)])
    out.append(("Repositories: churn, origin and review", _tab(rows, headers, fmt) if rows else "none"))
    failed = [[x["name"], x["failedWith"]] for x in rows_all if "failedWith" in x]
    if failed:
        out.append(("Failed repositories", _tab(failed, ["repository", "error"], fmt)))
    warned = [[x["name"], w] for x in ok_rows for w in x["warnings"]]
    if warned:
        out.append(("Warnings", _tab(warned, ["repository", "warning"], fmt)))
    return out


def render_table(doc: dict[str, Any]) -> str:
    """The fleet report for a terminal."""
    return "\n".join(f"{title}\n{'=' * len(title)}\n{body}\n" for title, body in _sections(doc, "simple"))


def render_markdown(doc: dict[str, Any]) -> str:
    """The fleet report as Markdown (GitHub tables)."""
    parts = []
    for i, (title, body) in enumerate(_sections(doc, "github")):
        parts.append(f"# {title}\n\n" + body.replace("\n", "  \n") + "\n" if i == 0 else f"## {title}\n\n{body}\n")
    return "\n".join(parts)


def render_json(doc: dict[str, Any]) -> str:
    """The fleet report's JSON document, indented, one trailing newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render_csv(doc: dict[str, Any]) -> str:
    """One row per repository (list order), then failed ones, then the fleet's total: every section's counts."""
    names = doc["buckets"]
    statuses = sorted({s for x in doc["perRepository"] for s in x["coverage"]["commits"]})
    origins = sorted({o["origin"] for x in doc["perRepository"] for o in x["origin"]})
    header = ["repository", "source", "revision", "error", "files", "lines", "commits"]
    header += [f"age {b}" for b in names]
    for w in doc["windows"]:
        header += [f"commits {w}", f"insertions {w}", f"deletions {w}"]
    header += [f"commits {s}" for s in statuses] + ["verified lines"] + [f"origin {o}" for o in origins]
    header += ["reviewed lines", "reviewed commits", "authors"]

    def row(name: str, source: str, revision: str, x: dict[str, Any]) -> list[Any]:
        t = x["totals"]
        out: list[Any] = [name, source, revision, "", t["files"], t["lines"], t["commits"]]
        out += [a["lines"] for a in x["age"]]
        for w in doc["windows"]:
            c = x["churn"][w]
            out += [c["commits"], c["insertions"], c["deletions"]]
        got = {o["origin"]: o["lines"] for o in x["origin"]}
        out += [x["coverage"]["commits"].get(s, 0) for s in statuses] + [x["coverage"]["verifiedLines"]]
        out += [got.get(o, 0) for o in origins]
        out += [x["review"]["reviewedLines"], x["review"]["reviewedCommits"], x["authorCount"]]
        return out

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    rows = [row(x["name"], x["source"], x["revision"], x) for x in doc["perRepository"]]
    rows += [[f["name"], f["source"], "", f["error"]] + [""] * (len(header) - 4) for f in doc["failed"]]
    rows.append(row("(total)", "", "", doc))
    for r in rows:
        writer.writerow([csv_cell(v) for v in r])
    return buf.getvalue()


def _colour(origin: str, i: int) -> str:
    return ORIGIN_COLOURS.get(origin, OTHER_COLOURS[i % len(OTHER_COLOURS)])


def _stack(parts: list[tuple[str, int, str]], total: int, width: int, label: str) -> str:
    """An inline SVG 100% bar of (name, count, colour) parts, each with a tooltip."""
    body, x = [], 0.0
    for name, n, colour in parts:
        if not n or not total:
            continue
        w = width * n / total
        body.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="14" fill="{colour}">'
                    f'<title>{escape(name)}: {n} lines ({_pct(n / total)})</title></rect>')
        x += w
    if not total:
        body.append(f'<rect x="0" y="0" width="{width}" height="14" fill="#eee"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="14" viewBox="0 0 {width} 14" '
            f'role="img" aria-label="{escape(label)}">{"".join(body)}</svg>')


def _legend(items: list[tuple[str, str]]) -> str:
    return " ".join(f'<span class="key"><i style="background:{c}"></i>{escape(n)}</span>' for n, c in items)


def render_html(doc: dict[str, Any]) -> str:
    """One self-contained page: the fleet's cards and bars, then one row per repository (age stack, coverage,
    origin), most in need of attention first, then the failed repositories with their errors."""
    names = doc["buckets"]
    t = doc["totals"]
    cov = doc["coverage"]
    origins = [o["origin"] for o in doc["origin"]]
    age_colours = {b: AGE_COLOURS[i % len(AGE_COLOURS)] for i, b in enumerate(names)}
    origin_colours = {o: _colour(o, i) for i, o in enumerate(origins)}
    old = doc["age"][-1]["share"] if doc["age"] else 0.0
    cards = [("repositories", doc["repositories"]["reported"]), ("failed", doc["repositories"]["failed"]),
             ("lines", t["lines"]), ("commits", t["commits"]), ("lines verified", _pct(cov["verifiedLineShare"])),
             ("commits verified", _pct(cov["verifiedCommitShare"])), (f"lines {names[-1]}", _pct(old))]

    def age_bar(x: dict[str, Any], width: int) -> str:
        return _stack([(a["bucket"], a["lines"], age_colours[a["bucket"]]) for a in x["age"]], x["totals"]["lines"],
                      width, "age of lines")

    def origin_bar(x: dict[str, Any], width: int) -> str:
        return _stack([(o["origin"], o["lines"], origin_colours[o["origin"]]) for o in x["origin"]],
                      x["totals"]["lines"], width, "origin of lines")

    def coverage_bar(x: dict[str, Any], width: int) -> str:
        lines, v = x["totals"]["lines"], x["coverage"]["verifiedLines"]
        return _stack([("verified", v, "#31a354"), ("not verified", lines - v, "#e6550d")], lines, width,
                      "lines from verified commits")

    rows = []
    for x in by_attention(doc):
        if "failedWith" in x:
            rows.append(f'<tr class="failed"><td>{escape(x["name"])}</td><td colspan="5">failed: '
                        f'{escape(x["failedWith"] or "")}</td></tr>')
            continue
        rows.append(
            f'<tr class="repo"><td title="{escape(x["source"])}">{escape(x["name"])}</td><td>{x["totals"]["lines"]}</td>'
            f'<td>{age_bar(x, 220)}</td><td>{coverage_bar(x, 90)}</td>'
            f'<td>{_pct(x["coverage"]["verifiedLineShare"])}</td><td>{origin_bar(x, 160)}</td></tr>'
        )
    extra_css = (".key{margin-right:10px;font-size:12px}.key i{display:inline-block;width:10px;height:10px;"
                 "margin-right:4px}tr.failed td{color:#a50f15} td svg{display:inline;margin:0}")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Fleet provenance report</title><style>{CSS}{extra_css} body{{max-width:980px}}</style></head><body>",
        "<h1>Fleet provenance report</h1>",
        f'<p class="meta">{doc["repositories"]["listed"]} repositories, revision {escape(doc["revision"])} of each, '
        f'as of {escape(doc["asOf"])} ({escape(doc["dateField"])} dates)</p>',
        '<div class="cards">' + "".join(f'<div class="card"><b>{escape(str(v))}</b>{escape(k)}</div>' for k, v in cards)
        + "</div>",
        "<h2>The fleet</h2>",
        f"<p>Age of lines (share of all lines, 0-100%) {_legend(list(age_colours.items()))}</p>", age_bar(doc, 760),
        f"<p>Origin of lines (share of all lines, 0-100%) {_legend(list(origin_colours.items()))}</p>", origin_bar(doc, 760),
        "<h2>Repositories, most in need of attention first</h2>",
        "<p>Bars are shares of each repository's lines (0-100%). Coverage: lines from verified commits (green) "
        "and from commits that are not verified (red).</p>",
        "<table><thead><tr><th>repository</th><th>lines</th><th>age</th><th>coverage</th><th>verified</th>"
        "<th>origin</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>",
        "</body></html>\n",
    ]
    return "\n".join(parts)


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "table": render_table, "json": render_json, "markdown": render_markdown, "csv": render_csv, "html": render_html,
}


def render(doc: dict[str, Any], fmt: str) -> str:
    """The fleet report in FMT (table, json, markdown, csv or html)."""
    if fmt not in RENDERERS:
        raise SrcprovError(f"bad --format: {fmt!r} (expected {', '.join(FORMATS)})")
    return RENDERERS[fmt](doc)
