"""The report as one self-contained HTML page with inline SVG charts (no scripts, no fetched fonts)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from html import escape

from srcprov.report.generated import generated_kind
from srcprov.report.model import Report
from srcprov.report.render_text import _pct, cell_text, evidence_note, half_life_text

# Newest to oldest: light to dark, so old code reads as "heavy" at a glance.
AGE_COLOURS = ["#c7e9c0", "#74c476", "#31a354", "#3182bd", "#756bb1", "#54278f", "#3f007d", "#25004d"]
# AI kinds in oranges (darker: more of the line from AI), human blue, unknown light grey; record-only kinds apart.
ORIGIN_COLOURS = {
    "ai-generated": "#a63603", "ai": "#e6550d", "ai-assisted": "#fd8d3c", "mixed": "#fdbe85", "human": "#3182bd",
    "generated": "#969696", "vendored": "#8c6d31", "third-party": "#bd9e39", "unknown": "#d9d9d9",
}
# For origins not named above: neither orange nor blue, so nothing else reads as AI or human.
OTHER_COLOURS = ["#9e9ac8", "#a1d99b", "#e7969c", "#66c2a5", "#c994c7"]
CHART_WIDTH = 760
MAX_GROUPS = 20

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:820px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
p.meta{color:#555;margin:0 0 8px} table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right} th:first-child,td:first-child{text-align:left}
svg{display:block;margin:6px 0} svg text{font-family:inherit;font-size:11px;fill:#333}
svg text.axis{fill:#555;font-style:italic} svg text.label{font-size:10px;fill:#222}
p.caption{color:#555;font-size:13px;margin:2px 0 6px}
span.flag{color:#777;font-size:11px;border:1px solid #ccc;border-radius:3px;padding:0 3px;margin-left:4px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0} .card{border:1px solid #ddd;border-radius:6px;padding:8px 12px}
.card b{display:block;font-size:20px}
"""


def _origin_colour(name: str, i: int) -> str:
    return ORIGIN_COLOURS.get(name, OTHER_COLOURS[i % len(OTHER_COLOURS)])


def _origin_colours(report: Report) -> dict[str, str]:
    """A colour per origin of the report, the same in every chart of the page."""
    return {o["origin"]: _origin_colour(o["origin"], i) for i, o in enumerate(report.doc["origin"])}


def _esc(text: str) -> str:
    """Text for the page: control characters (a newline in a path) shown as escapes, then HTML-escaped."""
    return escape(cell_text(text, "html"))


def _legend(items: list[tuple[str, str]], y: int, x: int = 0, title: str = "") -> str:
    parts = []
    if title:
        parts.append(f'<text x="{x}" y="{y + 10}" class="axis">{escape(title)}</text>')
        x += 8 + 7 * len(title)
    for label, colour in items:
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="{y + 10}">{escape(label)}</text>')
        x += 24 + 7 * len(label)
    return "".join(parts)


def _wrapped_legend(items: list[tuple[str, str]], title: str) -> tuple[str, int]:
    """_legend at the top of a chart, on as many rows as CHART_WIDTH needs; also the height it takes."""
    indent = 8 + 7 * len(title)
    rows: list[list[tuple[str, str]]] = [[]]
    x = indent
    for label, colour in items:
        if rows[-1] and x + 16 + 7 * len(label) > CHART_WIDTH:
            rows.append([])
            x = indent
        rows[-1].append((label, colour))
        x += 24 + 7 * len(label)
    svg = "".join(_legend(r, 18 * i, x=0 if i == 0 else indent, title=title if i == 0 else "")
                  for i, r in enumerate(rows))
    return svg, 18 * len(rows)


def _svg(cls: str, height: int, body: str, label: str) -> str:
    return (f'<svg class="chart {cls}" xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{height}" '
            f'viewBox="0 0 {CHART_WIDTH} {height}" role="img" aria-label="{escape(label)}">{body}</svg>')


def _caption(text: str) -> str:
    return f'<p class="caption">{escape(text)}</p>'


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least TOP (steps of 1, 2 or 5 times a power of ten)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def _number(v: float) -> str:
    """A tick label: 12, 1.5k, 2M (at most one decimal)."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            return f"{v / size:.1f}".removesuffix(".0") + suffix
    return f"{v:.1f}".removesuffix(".0")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _percent_axis(x0: float, width: float, y: float, title: str) -> str:
    """A 0-100% axis under a bar chart, with its title."""
    parts = [f'<line x1="{x0}" y1="{y}" x2="{x0 + width}" y2="{y}" stroke="#888"/>']
    for pct in (0, 25, 50, 75, 100):
        x = x0 + width * pct / 100
        parts.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="#888"/>'
                     f'<text x="{x:.1f}" y="{y + 16}" text-anchor="middle">{pct}%</text>')
    parts.append(f'<text x="{x0 + width / 2:.1f}" y="{y + 32}" text-anchor="middle" class="axis">{escape(title)}</text>')
    return "".join(parts)


def _stack_rows(body: list[str], groups: list[dict], top: int, label_w: int, bar_w: int, row_h: int,
                segments: Callable[[dict], list[tuple[int, str, str]]]) -> int:
    """One labelled 100% bar per group, split into SEGMENTS(group) = [(lines, colour, title text)]; appends to
    BODY and returns where the axis goes."""
    for r, g in enumerate(groups):
        y = top + r * row_h
        x = float(label_w)
        name = g["path"] if len(g["path"]) <= 30 else "…" + g["path"][-29:]
        body.append(f'<text x="0" y="{y + 14}">{_esc(name)}</text>')
        for n, colour, title in segments(g) if g["lines"] else []:
            w = bar_w * n / g["lines"]
            body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 4}" fill="{colour}">'
                        f'<title>{_esc(g["path"])}: {title}</title></rect>')
            x += w
        body.append(f'<text x="{label_w + bar_w + 8}" y="{y + 14}">{g["lines"]}</text>')
    if not groups:
        body.append(f'<text x="0" y="{top + 14}">no lines</text>')
    return top + max(1, len(groups)) * row_h + 2


def age_stack_chart(report: Report) -> str:
    """Horizontal 100% bars, one per directory (or file), split by age bucket."""
    doc = report.doc
    names = doc["buckets"]
    groups = sorted(doc["directories"], key=lambda g: -g["lines"])[:MAX_GROUPS]
    label_w, bar_w, row_h = 200, CHART_WIDTH - 290, 22
    body = [_legend([(b, AGE_COLOURS[i % len(AGE_COLOURS)]) for i, b in enumerate(names)], 0, title="age of line:"),
            f'<text x="0" y="36" class="axis">directory</text>'
            f'<text x="{label_w + bar_w + 8}" y="36" class="axis">lines</text>']
    top = 42
    axis_y = _stack_rows(body, groups, top, label_w, bar_w, row_h, lambda g: [
        (n, AGE_COLOURS[i % len(AGE_COLOURS)], f"{escape(b)} {n} lines") for i, b in enumerate(names)
        if (n := g["age"][b])])
    body.append(_percent_axis(label_w, bar_w, axis_y, f"share of the directory's lines, by age as of {doc['asOf'][:10]}"))
    return _svg("age-stack", axis_y + 40, "".join(body), "age of lines per directory")


# Bubbles named on the churn chart: the largest files, so the eye knows what the big circles are.
LABELLED_BUBBLES = 5


def churn_age_chart(report: Report) -> str:
    """Scatter: mean age of a file's lines (x) against its churn in the widest window (y, square-root
    scale), sized by lines, with a size legend and the largest files named."""
    doc = report.doc
    widest = doc["windows"][-1]
    pts = []
    for f in doc["files"]:
        c = f["churn"][widest]
        pts.append((report.mean_age_days.get(f["path"], 0.0), c["insertions"] + c["deletions"], f["lines"], f["path"]))
    left, top, w, h = 64, 40, CHART_WIDTH - 90, 260
    max_x = max([p[0] for p in pts] + [1.0])
    max_y = max([p[1] for p in pts] + [1])
    max_l = max([p[2] for p in pts] + [1])
    x_ticks = nice_ticks(max_x)
    max_x = x_ticks[-1]

    pad = 14  # bubbles at age 0 clear the y-axis labels

    def sx(v: float) -> float:
        return left + pad + (w - pad) * v / max_x

    # A square-root y scale keeps a few busy files from flattening the rest.
    def sy(v: float) -> float:
        return top + h - h * math.sqrt(v / max_y)

    def radius(n: int) -> float:
        return 2 + 10 * math.sqrt(n / max_l)

    body = [f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#888"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#888"/>']
    for xv in x_ticks:
        body.append(f'<text x="{sx(xv):.1f}" y="{top + h + 16}" text-anchor="middle">{_number(xv)}</text>')
    # Ticks at squares of even steps fall evenly on a square-root axis.
    y_digits = 1 if max_y < 10 else 0
    for i in range(5):
        yv = max_y * (i / 4) ** 2
        if yv >= 10:  # two significant digits, placed where that value falls: 3.2k, 1.8k, 810, 200
            yv = round(yv, 1 - int(math.floor(math.log10(yv))))
        label = _number(yv) if yv >= 1000 else f"{yv:.{y_digits}f}"
        body.append(f'<text x="{left - 6}" y="{sy(yv) + 4:.1f}" text-anchor="end">{label}</text>'
                    f'<line x1="{left}" y1="{sy(yv):.1f}" x2="{left + w}" y2="{sy(yv):.1f}" stroke="#f0f0f0"/>')
    body.append(f'<text x="{left + w / 2}" y="{top + h + 34}" text-anchor="middle" class="axis">'
                f'mean age of the file\'s lines (days)</text>')
    body.append(f'<text x="14" y="{top + h / 2}" transform="rotate(-90 14 {top + h / 2})" text-anchor="middle" '
                f'class="axis">lines changed in the last {escape(widest)} (square-root scale)</text>')
    # Size legend, top right: what a circle's size means.
    sizes = sorted({max_l, max(1, round(max_l / 4)), max(1, round(max_l / 25))}, reverse=True)
    lx: float = left + w - 10
    legend = []
    for n in sizes:
        r = radius(n)
        legend.append(f'<circle cx="{lx - r:.1f}" cy="{20 - r + 10:.1f}" r="{r:.1f}" fill="none" stroke="#a63603"/>'
                      f'<text x="{lx - 2 * r - 4:.1f}" y="{24:.1f}" text-anchor="end">{_number(n)}</text>')
        lx -= 2 * r + 12 + 7 * len(_number(n))
    body.append(f'<text x="{lx:.1f}" y="24" text-anchor="end" class="axis">circle area: lines in the file</text>')
    body.extend(legend)
    ordered = sorted(pts, key=lambda p: -p[2])
    for x, y, n, path in ordered:
        kind = generated_kind(path)
        fill, stroke = ("#bdbdbd", "#737373") if kind else ("#e6550d", "#a63603")
        note = f" ({kind})" if kind else ""
        body.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="{radius(n):.1f}" fill="{fill}" fill-opacity="0.45" '
                    f'stroke="{stroke}"><title>{_esc(path)}{note}: {n} lines, {y} changed, {x:.0f}d</title></circle>')
    placed: list[tuple[float, float, float]] = []  # (left, right, baseline) of the labels drawn
    for x, y, n, path in ordered[:LABELLED_BUBBLES]:
        name = path.rsplit("/", 1)[-1]
        name = name if len(name) <= 24 else name[:23] + "…"
        cx, cy, r = sx(x), sy(y), radius(n)
        anchor = "end" if cx > left + w * 0.75 else "start"
        tx = cx - r - 3 if anchor == "end" else cx + r + 3
        span = (tx - 6 * len(name), tx) if anchor == "end" else (tx, tx + 6 * len(name))
        if any(a < span[1] and span[0] < b and abs(base - (cy + 4)) < 12 for a, b, base in placed):
            continue  # it would print over a label already there (the tooltip still names it)
        placed.append((*span, cy + 4))
        body.append(f'<text x="{tx:.1f}" y="{cy + 4:.1f}" text-anchor="{anchor}" class="label">{_esc(name)}</text>')
    return _svg("churn-age", top + h + 44, "".join(body), "churn against age per file")


# Weeks the capture chart shows: two years, ending with the last week that has commits.
CAPTURE_WEEKS = 104


def _week_monday(week: str) -> date:
    y, w = week.split("-W")
    return date.fromisocalendar(int(y), int(w), 1)


def _iso_week(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def capture_chart(report: Report) -> tuple[str, str]:
    """Bars per ISO week over a continuous range of weeks: the share of that week's commits that verify.

    A week with commits and none verified gets a grey mark, a week without commits nothing. Returns the
    chart and its caption (the range it shows)."""
    doc = report.doc
    weekly = {wk["week"]: wk for wk in doc["coverage"]["weekly"]}
    left, top, w, h = 56, 10, CHART_WIDTH - 70, 160
    body = [f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#888"/>']
    for pct in (0, 25, 50, 75, 100):
        y = top + h - h * pct / 100
        body.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{pct}%</text>'
                    f'<line x1="{left}" y1="{y}" x2="{left + w}" y2="{y}" stroke="#eee"/>')
    body.append(f'<text x="12" y="{top + h / 2}" transform="rotate(-90 12 {top + h / 2})" text-anchor="middle" '
                f'class="axis">verified commits (%)</text>')
    if not weekly:
        body.append(f'<text x="{left + 10}" y="{top + h / 2}">no commits</text>')
        return _svg("capture", top + h + 40, "".join(body), "capture rate per week"), "No commits."
    last = _week_monday(max(weekly, key=_week_monday))
    first = max(_week_monday(min(weekly, key=_week_monday)), last - timedelta(weeks=CAPTURE_WEEKS - 1))
    weeks = [_iso_week(first + timedelta(weeks=i)) for i in range((last - first).days // 7 + 1)]
    n = len(weeks)
    bw = w / n
    bar = min(bw * 0.8, 40.0)  # a few weeks do not make a wall of green
    step = max(1, math.ceil(n / 8))
    shown = with_commits = 0
    for i, name in enumerate(weeks):
        x = left + i * bw
        wk = weekly.get(name)
        if wk is not None:
            with_commits += 1
            shown += wk["commits"]
            if wk["verified"]:
                bh = h * wk["share"]
                body.append(f'<rect x="{x + (bw - bar) / 2:.1f}" y="{top + h - bh:.1f}" width="{max(1.0, bar):.1f}" '
                            f'height="{bh:.1f}" fill="#31a354"><title>{name}: {wk["verified"]}/{wk["commits"]} '
                            f'verified</title></rect>')
            else:
                body.append(f'<rect x="{x + (bw - bar) / 2:.1f}" y="{top + h - 3:.1f}" width="{max(1.0, bar):.1f}" '
                            f'height="3" fill="#bdbdbd"><title>{name}: 0/{wk["commits"]} verified</title></rect>')
        if i % step == 0:
            body.append(f'<line x1="{x + bw / 2:.1f}" y1="{top + h}" x2="{x + bw / 2:.1f}" y2="{top + h + 4}" '
                        f'stroke="#888"/><text x="{x + bw / 2:.1f}" y="{top + h + 16}" text-anchor="middle">{name}</text>')
    body.append(f'<text x="{left + w / 2}" y="{top + h + 34}" text-anchor="middle" class="axis">'
                f'ISO week ({escape(doc["dateField"])} date of the commits)</text>')
    caption = (f"Weeks {weeks[0]} to {weeks[-1]} ({_plural(n, 'week')}, {with_commits} with commits, "
               f"{_plural(shown, 'commit')}). "
               f"Green bar: the share of that week's commits that verify; grey mark: commits, none verified; "
               f"nothing: no commits that week.")
    return _svg("capture", top + h + 40, "".join(body), "capture rate per week"), caption


def origin_chart(report: Report) -> str:
    """One 100% bar of lines by origin, with a legend and a percentage axis."""
    origins = report.doc["origin"]
    colours = _origin_colours(report)
    total = sum(o["lines"] for o in origins)
    x0, width = 12.0, CHART_WIDTH - 32
    legend, top = _wrapped_legend([(f"{o['origin']} {_pct(o['share'])}", colours[o["origin"]]) for o in origins],
                                  "origin:")
    body = [legend]
    y = top + 4
    x = x0
    for o in origins:
        w = width * o["lines"] / total if total else 0
        body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="28" fill="{colours[o["origin"]]}">'
                    f'<title>{_esc(o["origin"])}: {o["lines"]} lines</title></rect>')
        x += w
    if not total:
        body.append(f'<rect x="{x0}" y="{y}" width="{width}" height="28" fill="#eee"/>')
    body.append(_percent_axis(x0, width, y + 30, f"share of the {total} lines at the revision"))
    return _svg("origin", y + 72, "".join(body), "origin of lines")


def _groups(report: Report) -> tuple[str, list[dict]]:
    """What a group is ("directory" or "file", as --by chooses) and the groups."""
    doc = report.doc
    return ("directory", doc["directories"]) if report.by == "dir" else ("file", doc["files"])


def origin_stack_chart(report: Report) -> str:
    """Horizontal 100% bars, one per directory (or file, with --by file), split by origin; the MAX_GROUPS largest."""
    kind, all_groups = _groups(report)
    groups = sorted(all_groups, key=lambda g: -g["lines"])[:MAX_GROUPS]
    colours = _origin_colours(report)
    seen = {o for g in groups for o in g["origin"]}
    rank = {o: i for i, o in enumerate(colours)}  # every bar in the same order: the report's, largest overall first
    label_w, bar_w, row_h = 200, CHART_WIDTH - 290, 22
    legend, head = _wrapped_legend([(o, c) for o, c in colours.items() if o in seen], "origin of line:")
    body = [legend, f'<text x="0" y="{head + 18}" class="axis">{kind}</text>'
                    f'<text x="{label_w + bar_w + 8}" y="{head + 18}" class="axis">lines</text>']
    top = head + 24
    axis_y = _stack_rows(body, groups, top, label_w, bar_w, row_h, lambda g: [
        (n, colours.get(o, "#eee"), f"{_esc(o)} {_plural(n, 'line')} ({_pct(n / g['lines'])})")
        for o, n in sorted(g["origin"].items(), key=lambda kv: rank.get(kv[0], len(rank))) if n])
    body.append(_percent_axis(label_w, bar_w, axis_y, f"share of the {kind}'s lines, by the origin of each line"))
    return _svg("origin-stack", axis_y + 40, "".join(body), f"origin of lines per {kind}")


def origin_stack_caption(report: Report) -> str:
    """What the per-group origin chart shows: how many groups, and how many it leaves out."""
    kind, groups = _groups(report)
    plural = "directories" if kind == "directory" else "files"
    if len(groups) <= MAX_GROUPS:
        shown = f"All {len(groups)} {plural}" if len(groups) != 1 else f"The one {kind}"
    else:
        shown = f"The {MAX_GROUPS} largest of {len(groups)} {plural} ({len(groups) - MAX_GROUPS} more not shown)"
    return f"{shown}; each bar is 100% of the {kind}'s lines, split by the origin of each line in the legend's order."


# Cohorts from oldest to newest: dark purple to light green, as the age chart reads old code "heavy".
COHORT_STOPS = [(0x3f, 0x00, 0x7d), (0x31, 0x82, 0xbd), (0x31, 0xa3, 0x54), (0xc7, 0xe9, 0xc0)]


def cohort_colours(n: int) -> list[str]:
    """N colours from oldest (dark) to newest (light), interpolated along COHORT_STOPS."""
    out = []
    for i in range(n):
        t = i / (n - 1) if n > 1 else 1.0
        pos = t * (len(COHORT_STOPS) - 1)
        k = min(int(pos), len(COHORT_STOPS) - 2)
        f = pos - k
        a, b = COHORT_STOPS[k], COHORT_STOPS[k + 1]
        out.append("#" + "".join(f"{round(a[j] + (b[j] - a[j]) * f):02x}" for j in range(3)))
    return out


def _year_ticks(t0: int, t1: int) -> list[tuple[int, str]]:
    """Tick positions (epoch seconds) and labels for a time axis: years, or months for a short span."""
    start, end = datetime.fromtimestamp(t0, UTC), datetime.fromtimestamp(t1, UTC)
    ticks: list[tuple[int, str]] = []
    if end.year - start.year >= 2:
        every = max(1, math.ceil((end.year - start.year + 1) / 10))
        for y in range(start.year + 1, end.year + 1):
            if (y - start.year - 1) % every == 0:
                ticks.append((int(datetime(y, 1, 1, tzinfo=UTC).timestamp()), str(y)))
    else:
        m = datetime(start.year, start.month, 1, tzinfo=UTC)
        months = []
        while m <= end:
            m = datetime(m.year + (m.month == 12), m.month % 12 + 1, 1, tzinfo=UTC)
            if m <= end:
                months.append(m)
        every = max(1, math.ceil(len(months) / 8))
        ticks = [(int(d.timestamp()), d.strftime("%Y-%m")) for d in months[::every]]
    return ticks


def _stamp(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def cohort_chart(history: dict) -> str:
    """Stacked areas over the samples: lines alive by the year they were written (oldest at the bottom)."""
    samples = history["samples"]
    years = list(samples[-1]["cohorts"]) if samples else []
    colours = cohort_colours(len(years))
    left, top, w, h = 64, 30, CHART_WIDTH - 84, 260
    body = [_legend(list(zip(years, colours, strict=True)), 0, title="written in:")]
    if not samples:
        return _svg("cohorts", 80, "".join(body) + '<text x="0" y="40">no samples</text>', "cohorts over time")
    times = [_stamp(s["date"]) for s in samples]
    t0, t1 = times[0], times[-1] if times[-1] > times[0] else times[0] + 1
    totals = [sum(s["cohorts"].values()) for s in samples]
    y_ticks = nice_ticks(max(totals + [1]))
    max_y = y_ticks[-1]

    def sx(t: int) -> float:
        return left + w * (t - t0) / (t1 - t0) if len(samples) > 1 else left + w / 2

    def sy(v: float) -> float:
        return top + h - h * v / max_y

    for v in y_ticks:
        body.append(f'<line x1="{left}" y1="{sy(v):.1f}" x2="{left + w}" y2="{sy(v):.1f}" stroke="#eee"/>'
                    f'<text x="{left - 6}" y="{sy(v) + 4:.1f}" text-anchor="end">{_number(v)}</text>')
    below = [0] * len(samples)
    for year, colour in zip(years, colours, strict=True):
        above = [b + s["cohorts"].get(year, 0) for b, s in zip(below, samples, strict=True)]
        if len(samples) == 1:
            x = sx(times[0])
            pts = [(x - 4, above[0]), (x + 4, above[0]), (x + 4, below[0]), (x - 4, below[0])]
        else:
            pts = [(sx(t), v) for t, v in zip(times, above, strict=True)]
            pts += [(sx(t), v) for t, v in reversed(list(zip(times, below, strict=True)))]
        poly = " ".join(f"{x:.1f},{sy(v):.1f}" for x, v in pts)
        now = samples[-1]["cohorts"].get(year, 0)
        body.append(f'<polygon points="{poly}" fill="{colour}" stroke="{colour}" stroke-width="0.5">'
                    f'<title>written in {year}: {now} lines alive at the last sample</title></polygon>')
        below = above
    body.append(f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#888"/>'
                f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#888"/>')
    ticks = _year_ticks(t0, t1) if len(samples) > 1 else [(t0, samples[0]["date"][:10])]
    for t, label in ticks:
        if t0 <= t <= t1:
            body.append(f'<line x1="{sx(t):.1f}" y1="{top + h}" x2="{sx(t):.1f}" y2="{top + h + 4}" stroke="#888"/>'
                        f'<text x="{sx(t):.1f}" y="{top + h + 16}" text-anchor="middle">{label}</text>')
    body.append(f'<text x="{left + w / 2}" y="{top + h + 34}" text-anchor="middle" class="axis">'
                f'sample date (committer time, UTC)</text>')
    body.append(f'<text x="14" y="{top + h / 2}" transform="rotate(-90 14 {top + h / 2})" text-anchor="middle" '
                f'class="axis">lines alive at the sample</text>')
    return _svg("cohorts", top + h + 44, "".join(body), "lines alive by year written, over time")


def survival_chart(history: dict) -> str:
    """The share of lines still alive against the time since they were first seen, with the half-life."""
    curve = history["survival"]
    left, top, w, h = 64, 10, CHART_WIDTH - 84, 160
    body = [f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#888"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#888"/>']
    max_days = curve[-1]["days"] if curve and curve[-1]["days"] > 0 else 1.0
    use_years = max_days >= 730
    unit = 365.25 if use_years else 1.0
    x_ticks = nice_ticks(max_days / unit)
    span = x_ticks[-1] * unit

    def sx(days: float) -> float:
        return left + w * days / span

    def sy(share: float) -> float:
        return top + h - h * share

    for pct in (0, 25, 50, 75, 100):
        body.append(f'<line x1="{left}" y1="{sy(pct / 100):.1f}" x2="{left + w}" y2="{sy(pct / 100):.1f}" '
                    f'stroke="{"#fdae6b" if pct == 50 else "#eee"}"/>'
                    f'<text x="{left - 6}" y="{sy(pct / 100) + 4:.1f}" text-anchor="end">{pct}%</text>')
    for v in x_ticks:
        body.append(f'<text x="{sx(v * unit):.1f}" y="{top + h + 16}" text-anchor="middle">{v:g}</text>')
    if len(curve) < 2:
        body.append(f'<text x="{left + 12}" y="{top + 20}">too short a history: survival needs samples at least '
                    f'one step ({escape(history["step"])}) apart</text>')
    if curve:
        path = " ".join(f"{sx(p['days']):.1f},{sy(p['share']):.1f}" for p in curve)
        body.append(f'<polyline points="{path}" fill="none" stroke="#3182bd" stroke-width="2"/>')
    half = history["halfLifeDays"]
    if half is not None:
        body.append(f'<line x1="{sx(half):.1f}" y1="{top}" x2="{sx(half):.1f}" y2="{top + h}" stroke="#e6550d" '
                    f'stroke-dasharray="4 3"/><text x="{sx(half) + 4:.1f}" y="{top + 12}" class="label">'
                    f'half-life {half / 365.25:.1f} years ({half:g} days)</text>')
    body.append(f'<text x="{left + w / 2}" y="{top + h + 34}" text-anchor="middle" class="axis">'
                f'time since the lines were first seen at a sample ({"years" if use_years else "days"})</text>')
    body.append(f'<text x="14" y="{top + h / 2}" transform="rotate(-90 14 {top + h / 2})" text-anchor="middle" '
                f'class="axis">lines still alive (%)</text>')
    return _svg("survival", top + h + 44, "".join(body), "survival of lines")


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_esc(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _origin_cell(group: dict) -> str:
    """A group's origins, largest first, as shares of its lines: `human 75.0%, ai 25.0%`."""
    return ", ".join(f"{o} {_pct(n / group['lines'])}" for o, n in group["origin"].items() if n and group["lines"])


def _hotspots_table(hotspots: list[dict], widest: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in ["file", "lines", f"commits {widest}", "ratio", "score"])
    rows = []
    for h in hotspots:
        flag = f'<span class="flag">{escape(h["generated"])}</span>' if h.get("generated") else ""
        cells = [h["lines"], h["commits"], f"{h['ratio']:.2f}", h["score"]]
        rows.append(f"<tr><td>{_esc(h['path'])}{flag}</td>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells)
                    + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _history_parts(history: dict) -> list[str]:
    samples = history["samples"]
    span = f"{samples[0]['date'][:10]} to {samples[-1]['date'][:10]}" if samples else "no samples"
    rows = [[y, cs["peakLines"], cs["peakDate"][:10], cs["lines"], _pct(cs["share"])]
            for y, cs in history["cohortSurvival"].items()]
    return [
        "<h2>Code age over time</h2>",
        _caption(f"{_plural(len(samples), 'sample')}, one every {history['step']} along the first-parent history, {span}. "
                 f"Lines alive at each sample by the year (UTC) their commit was authored, as git blame at that "
                 f"sample attributes them; oldest at the bottom."),
        cohort_chart(history),
        "<h2>Survival of lines</h2>",
        _caption(f"Of the lines a commit had when a sample first saw it, the share still alive later (over the "
                 f"commits observed that long). {half_life_text(history['halfLifeDays'])}."),
        survival_chart(history),
        _table(["written in", "peak lines", "peak at", "lines now", "now / peak"], rows),
    ]


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
    history = doc.get("history")
    if history is not None:
        cards.append(("half-life", f"{history['halfLifeDays'] / 365.25:.1f} years"
                      if history["halfLifeDays"] is not None else "not reached"))
    capture, capture_caption = capture_chart(report)
    widest_files = len(doc["files"])
    groups = doc["directories"] if report.by == "dir" else doc["files"]
    group_rows = [
        [g["path"], g["lines"], *(g["age"][b] for b in doc["buckets"]), g["churn"][widest]["commits"], _origin_cell(g)]
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
        "<h2>Age of lines per directory</h2>",
        _caption(f"The {min(MAX_GROUPS, len(doc['directories']))} largest of {len(doc['directories'])} directories; "
                 f"each bar is 100% of the directory's lines, split by the age of each line's commit."),
        age_stack_chart(report),
        *(_history_parts(history) if history is not None else []),
        "<h2>Churn against age</h2>",
        _caption(f"{widest_files} files. Right: old code; up: busy in the last {widest}. Orange: code; "
                 f"grey: generated or vendored files. The y-axis is square-root scaled; the "
                 f"{min(LABELLED_BUBBLES, widest_files)} largest files are named."),
        churn_age_chart(report),
        "<h2>Capture rate over time</h2>", _caption(capture_caption), capture,
        "<h2>Origin of lines</h2>", origin_chart(report),
        _caption(evidence_note(doc.get("originEvidence")).strip()) if evidence_note(doc.get("originEvidence")) else "",
        f"<h2>Origin of lines per {'directory' if report.by == 'dir' else 'file'}</h2>",
        _caption(origin_stack_caption(report)), origin_stack_chart(report),
        "<h2>Age</h2>", _table(["age", "lines", "share"], [[a["bucket"], a["lines"], _pct(a["share"])] for a in doc["age"]]),
        "<h2>Churn</h2>", _table(["window", "commits", "insertions", "deletions", "ratio"],
                                 [[w, c["commits"], c["insertions"], c["deletions"], f"{c['ratio']:.2f}"]
                                  for w, c in doc["churn"].items()]),
        f"<h2>By {'directory' if report.by == 'dir' else 'file'}</h2>",
        _table([("directory" if report.by == "dir" else "file"), "lines", *doc["buckets"], f"commits {widest}",
                "origin (% of lines)"], group_rows),
        "<h2>Authors</h2>", _table(["author", "lines", "share"],
                                   [[a["author"], a["lines"], _pct(a["share"])] for a in doc["authors"][:20]]),
        "<h2>Coverage</h2>", _table(["status", "commits"], [[s, n] for s, n in cov["commits"].items()]),
        "<h2>Hotspots</h2>",
        _caption(f"Files with the most commits in the last {widest} times their lines; generated and vendored "
                 f"files (lock files, minified, vendored directories) are flagged and listed after the code."),
        _hotspots_table(doc["hotspots"], widest),
        "<h2>Legacy</h2>", _table(["file", "lines", doc["buckets"][-1]],
                                  [[x["path"], x["lines"], _pct(x["share"])] for x in doc["legacy"][:20]]),
        "</body></html>\n",
    ]
    return "\n".join(parts)
