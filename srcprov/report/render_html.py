"""The report as one self-contained HTML page with inline SVG charts (no scripts, no fetched fonts)."""

from __future__ import annotations

import math
from html import escape

from srcprov.report.model import Report
from srcprov.report.render_text import _pct

# Newest to oldest: light to dark, so old code reads as "heavy" at a glance.
AGE_COLOURS = ["#c7e9c0", "#74c476", "#31a354", "#3182bd", "#756bb1", "#54278f", "#3f007d", "#25004d"]
ORIGIN_COLOURS = {
    "human": "#3182bd", "ai-assisted": "#fd8d3c", "ai-generated": "#e6550d", "generated": "#969696",
    "vendored": "#8c6d31", "third-party": "#bd9e39", "unknown": "#d9d9d9",
}
OTHER_COLOURS = ["#6baed6", "#9e9ac8", "#a1d99b", "#fdae6b", "#e7969c"]
CHART_WIDTH = 760
MAX_GROUPS = 20

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:820px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
p.meta{color:#555;margin:0 0 8px} table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right} th:first-child,td:first-child{text-align:left}
svg{display:block;margin:6px 0} svg text{font-family:inherit;font-size:11px;fill:#333}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0} .card{border:1px solid #ddd;border-radius:6px;padding:8px 12px}
.card b{display:block;font-size:20px}
"""


def _origin_colour(name: str, i: int) -> str:
    return ORIGIN_COLOURS.get(name, OTHER_COLOURS[i % len(OTHER_COLOURS)])


def _legend(items: list[tuple[str, str]], y: int) -> str:
    parts, x = [], 0
    for label, colour in items:
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="{y + 10}">{escape(label)}</text>')
        x += 24 + 7 * len(label)
    return "".join(parts)


def _svg(cls: str, height: int, body: str, label: str) -> str:
    return (f'<svg class="chart {cls}" xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{height}" '
            f'viewBox="0 0 {CHART_WIDTH} {height}" role="img" aria-label="{escape(label)}">{body}</svg>')


def age_stack_chart(report: Report) -> str:
    """Horizontal 100% bars, one per directory (or file), split by age bucket."""
    doc = report.doc
    names = doc["buckets"]
    groups = sorted(doc["directories"], key=lambda g: -g["lines"])[:MAX_GROUPS]
    label_w, bar_w, row_h = 200, CHART_WIDTH - 290, 22
    body = [_legend([(b, AGE_COLOURS[i % len(AGE_COLOURS)]) for i, b in enumerate(names)], 0)]
    for r, g in enumerate(groups):
        y = 24 + r * row_h
        x = float(label_w)
        name = g["path"] if len(g["path"]) <= 30 else "…" + g["path"][-29:]
        body.append(f'<text x="0" y="{y + 14}">{escape(name)}</text>')
        for i, b in enumerate(names):
            n = g["age"][b]
            if not n or not g["lines"]:
                continue
            w = bar_w * n / g["lines"]
            body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 4}" '
                        f'fill="{AGE_COLOURS[i % len(AGE_COLOURS)]}"><title>{escape(g["path"])}: {escape(b)} '
                        f'{n} lines</title></rect>')
            x += w
        body.append(f'<text x="{label_w + bar_w + 8}" y="{y + 14}">{g["lines"]} lines</text>')
    if not groups:
        body.append('<text x="0" y="40">no lines</text>')
    return _svg("age-stack", 30 + max(1, len(groups)) * row_h, "".join(body), "age of lines per directory")


def churn_age_chart(report: Report) -> str:
    """Scatter: mean age of a file's lines (x) against its churn in the widest window (y), sized by lines."""
    doc = report.doc
    widest = doc["windows"][-1]
    pts = []
    for f in doc["files"]:
        c = f["churn"][widest]
        pts.append((report.mean_age_days.get(f["path"], 0.0), c["insertions"] + c["deletions"], f["lines"], f["path"]))
    left, top, w, h = 60, 10, CHART_WIDTH - 80, 260
    max_x = max([p[0] for p in pts] + [1.0])
    max_y = max([p[1] for p in pts] + [1])
    max_l = max([p[2] for p in pts] + [1])

    # A square-root y scale keeps a few busy files from flattening the rest.
    def sx(v: float) -> float:
        return left + w * v / max_x

    def sy(v: float) -> float:
        return top + h - h * math.sqrt(v / max_y)

    body = [f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#888"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#888"/>']
    # Short spans (a young repository) get a decimal, or the ticks would read 0d 0d 1d 1d.
    x_digits = 1 if max_x < 10 else 0
    y_digits = 1 if max_y < 10 else 0
    for i in range(5):
        xv = max_x * i / 4
        body.append(f'<text x="{sx(xv):.1f}" y="{top + h + 16}" text-anchor="middle">{xv:.{x_digits}f}d</text>')
        yv = max_y * (i / 4) ** 2
        body.append(f'<text x="{left - 6}" y="{sy(yv) + 4:.1f}" text-anchor="end">{yv:.{y_digits}f}</text>')
    body.append(f'<text x="{left + w / 2}" y="{top + h + 34}" text-anchor="middle">mean age of lines (days)</text>')
    body.append(f'<text x="12" y="{top + h / 2}" transform="rotate(-90 12 {top + h / 2})" text-anchor="middle">'
                f'lines changed in {escape(widest)}</text>')
    for x, y, n, path in pts:
        r = 2 + 10 * math.sqrt(n / max_l)
        body.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="{r:.1f}" fill="#e6550d" fill-opacity="0.45" '
                    f'stroke="#a63603"><title>{escape(path)}: {n} lines, {y} changed, {x:.0f}d</title></circle>')
    return _svg("churn-age", top + h + 44, "".join(body), "churn against age per file")


def capture_chart(report: Report) -> str:
    """Bars per ISO week: the share of that week's commits that are verified."""
    weekly = report.doc["coverage"]["weekly"][-104:]
    left, top, w, h = 40, 10, CHART_WIDTH - 50, 160
    body = [f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#888"/>']
    for pct in (0, 50, 100):
        y = top + h - h * pct / 100
        body.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{pct}%</text>'
                    f'<line x1="{left}" y1="{y}" x2="{left + w}" y2="{y}" stroke="#eee"/>')
    n = max(1, len(weekly))
    bw = w / n
    step = max(1, math.ceil(n / 8))
    for i, wk in enumerate(weekly):
        bh = max(1.0, h * wk["share"])  # a 1px stub shows that the week had commits
        x = left + i * bw
        body.append(f'<rect x="{x + bw * 0.1:.1f}" y="{top + h - bh:.1f}" width="{max(1.0, bw * 0.8):.1f}" '
                    f'height="{bh:.1f}" fill="#31a354"><title>{wk["week"]}: {wk["verified"]}/{wk["commits"]} '
                    f'verified</title></rect>')
        if i % step == 0:
            body.append(f'<text x="{x + bw / 2:.1f}" y="{top + h + 16}" text-anchor="middle">{wk["week"]}</text>')
    if not weekly:
        body.append(f'<text x="{left + 10}" y="{top + h / 2}">no commits</text>')
    return _svg("capture", top + h + 24, "".join(body), "capture rate per week")


def origin_chart(report: Report) -> str:
    """One 100% bar of lines by origin, with a legend."""
    origins = report.doc["origin"]
    total = sum(o["lines"] for o in origins)
    body = [_legend([(f"{o['origin']} {_pct(o['share'])}", _origin_colour(o["origin"], i))
                     for i, o in enumerate(origins)], 0)]
    x = 0.0
    for i, o in enumerate(origins):
        w = (CHART_WIDTH - 2) * o["lines"] / total if total else 0
        body.append(f'<rect x="{x:.1f}" y="22" width="{w:.1f}" height="28" fill="{_origin_colour(o["origin"], i)}">'
                    f'<title>{escape(o["origin"])}: {o["lines"]} lines</title></rect>')
        x += w
    if not total:
        body.append('<rect x="0" y="22" width="758" height="28" fill="#eee"/>')
    return _svg("origin", 56, "".join(body), "origin of lines")


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Report) -> str:
    """One HTML page: summary cards, the four charts and the main tables."""
    doc = report.doc
    t = doc["totals"]
    cov = doc["coverage"]
    widest = doc["windows"][-1]
    old = next((a for a in doc["age"] if a["bucket"] == doc["buckets"][-1]), {"share": 0})
    cards = [
        ("lines", t["lines"]), ("files", t["files"]), ("commits", t["commits"]),
        ("verified commits", _pct(cov["verifiedCommitShare"])), ("lines verified", _pct(cov["verifiedLineShare"])),
        ("lines reviewed", _pct(doc["review"]["share"])), (f"lines {doc['buckets'][-1]}", _pct(old["share"])),
    ]
    groups = doc["directories"] if report.by == "dir" else doc["files"]
    group_rows = [
        [g["path"], g["lines"], *(g["age"][b] for b in doc["buckets"]), g["churn"][widest]["commits"]]
        for g in groups
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Provenance report {escape(doc['revision'][:12])}</title><style>{CSS}</style></head><body>",
        f"<h1>Provenance report</h1><p class=\"meta\">revision <code>{escape(doc['revision'])}</code>, "
        f"as of {escape(doc['asOf'])} ({escape(doc['dateField'])} dates)</p>",
        '<div class="cards">' + "".join(f'<div class="card"><b>{escape(str(v))}</b>{escape(k)}</div>' for k, v in cards)
        + "</div>",
        "<h2>Age of lines per directory</h2>", age_stack_chart(report),
        "<h2>Churn against age</h2>", churn_age_chart(report),
        "<h2>Capture rate over time</h2>", capture_chart(report),
        "<h2>Origin of lines</h2>", origin_chart(report),
        "<h2>Age</h2>", _table(["age", "lines", "share"], [[a["bucket"], a["lines"], _pct(a["share"])] for a in doc["age"]]),
        "<h2>Churn</h2>", _table(["window", "commits", "insertions", "deletions", "ratio"],
                                 [[w, c["commits"], c["insertions"], c["deletions"], f"{c['ratio']:.2f}"]
                                  for w, c in doc["churn"].items()]),
        f"<h2>By {'directory' if report.by == 'dir' else 'file'}</h2>",
        _table([("directory" if report.by == "dir" else "file"), "lines", *doc["buckets"], f"commits {widest}"], group_rows),
        "<h2>Authors</h2>", _table(["author", "lines", "share"],
                                   [[a["author"], a["lines"], _pct(a["share"])] for a in doc["authors"][:20]]),
        "<h2>Coverage</h2>", _table(["status", "commits"], [[s, n] for s, n in cov["commits"].items()]),
        "<h2>Hotspots</h2>", _table(["file", "lines", f"commits {widest}", "ratio", "score"],
                                    [[h["path"], h["lines"], h["commits"], f"{h['ratio']:.2f}", h["score"]]
                                     for h in doc["hotspots"]]),
        "<h2>Legacy</h2>", _table(["file", "lines", doc["buckets"][-1]],
                                  [[x["path"], x["lines"], _pct(x["share"])] for x in doc["legacy"][:20]]),
        "</body></html>\n",
    ]
    return "\n".join(parts)
