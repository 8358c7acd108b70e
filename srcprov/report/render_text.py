"""The report as a terminal table, Markdown, CSV and JSON."""

from __future__ import annotations

import csv
import html
import io
import json
import textwrap
from typing import Any

import tabulate as _tabulate_module
from tabulate import tabulate as _tabulate

from srcprov.report.model import Report

WIDTH = 80
TOP = 10


def render_json(report: Report) -> str:
    """The SPEC's JSON document, indented, one trailing newline."""
    return json.dumps(report.doc, indent=2, ensure_ascii=False) + "\n"


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _pct0(n: int, total: int) -> str:
    return f"{round(100 * n / total)}" if total else "-"


def tabulate(rows: list[list[Any]], **kw: Any) -> str:
    """tabulate without its two spaces of header padding, which would push six bucket columns past 80."""
    saved = _tabulate_module.MIN_PADDING
    _tabulate_module.MIN_PADDING = 0
    try:
        return _tabulate(rows, **kw)
    finally:
        _tabulate_module.MIN_PADDING = saved


_CONTROL = {c: f"\\x{c:02x}" for c in range(32)} | {0x7F: "\\x7f", ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def cell_text(value: Any, fmt: str) -> Any:
    """A cell that cannot break its table: control characters (a newline in a path) shown as escapes;
    for Markdown also HTML (`<`, `>`, `&`) and the column separator escaped."""
    if not isinstance(value, str):
        return value
    value = value.translate(_CONTROL)
    if fmt == "github":
        value = html.escape(value, quote=False).replace("|", "\\|")
    return value


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run as a formula (one starting =, +, -, @, tab or CR gets a leading ')."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _fit(rows: list[list[Any]], headers: list[str], fmt: str, width: int | None, **kw: Any) -> str:
    """A tabulate table; for the terminal, shorten the first column (from the left) until it fits WIDTH."""
    rows = [[cell_text(v, fmt) for v in r] for r in rows]
    text = tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True, **kw)
    if width is None or not rows:
        return text
    excess = max(len(line) for line in text.splitlines()) - width
    if excess <= 0:
        return text
    longest = max(len(str(r[0])) for r in rows)
    keep = max(8, longest - excess)
    short = [[(s if len(s := str(r[0])) <= keep else "…" + s[-(keep - 1):]), *r[1:]] for r in rows]
    return tabulate(short, headers=headers, tablefmt=fmt, disable_numparse=True, **kw)


def _sections(report: Report, fmt: str, width: int | None) -> list[tuple[str, str]]:
    """(title, body) pairs shared by the terminal table and Markdown."""
    doc = report.doc
    t = doc["totals"]
    names = doc["buckets"]
    widest = doc["windows"][-1]
    out: list[tuple[str, str]] = []

    summary = (
        f"revision {doc['revision'][:12]}, as of {doc['asOf']} ({doc['dateField']} dates)\n"
        f"{t['files']} text files, {t['lines']} lines, {t['commits']} commits\n"
        f"left out: {len(t['binaryFiles'])} binary files, {len(t['symlinks'])} symlinks, "
        f"{len(t['submodules'])} submodules"
    )
    out.append(("Provenance report", summary))

    rows = [[a["bucket"], a["lines"], _pct(a["share"])] for a in doc["age"]]
    out.append(("Age of lines", _fit(rows, ["age", "lines", "share"], fmt, width, colalign=("left", "right", "right"))))

    rows = [[w, c["commits"], c["insertions"], c["deletions"], f"{c['ratio']:.2f}"] for w, c in doc["churn"].items()]
    out.append(
        ("Churn", _fit(rows, ["window", "commits", "insertions", "deletions", "ratio"], fmt, width,
                       colalign=("left", "right", "right", "right", "right")))
    )

    groups = doc["directories"] if report.by == "dir" else doc["files"]
    headers = ["directory" if report.by == "dir" else "file", "lines"]
    # Two-line headers keep six bucket columns inside 80 columns on a terminal.
    headers += [b.replace("-", "-\n", 1) if fmt != "github" else b for b in names]
    headers += [f"commits\n{widest}" if fmt != "github" else f"commits {widest}", "ratio"]
    rows = []
    for g in groups:
        c = g["churn"][widest]
        ratio = (c["insertions"] + c["deletions"]) / g["lines"] if g["lines"] else 0.0
        rows.append([g["path"], g["lines"], *(_pct0(g["age"][b], g["lines"]) for b in names), c["commits"], f"{ratio:.2f}"])
    title = f"By {'directory' if report.by == 'dir' else 'file'} (age as % of lines)"
    out.append((title, _fit(rows, headers, fmt, width, colalign=("left",) + ("right",) * (len(headers) - 1))))

    rows = [[a["author"], a["lines"], _pct(a["share"])] for a in doc["authors"][:TOP]]
    more = len(doc["authors"]) - TOP
    body = _fit(rows, ["author", "lines", "share"], fmt, width, colalign=("left", "right", "right"))
    out.append(("Authors", body + (f"\n... and {more} more" if more > 0 else "")))

    cov = doc["coverage"]
    rows = [[s, n] for s, n in cov["commits"].items()]
    body = _fit(rows, ["status", "commits"], fmt, width, colalign=("left", "right"))
    body += (
        f"\n\nverified commits: {_pct(cov['verifiedCommitShare'])}; "
        f"lines from verified commits: {cov['verifiedLines']} ({_pct(cov['verifiedLineShare'])})"
    )
    weekly = cov["weekly"][-8:]
    if weekly:
        rows = [[w["week"], w["commits"], w["verified"], _pct(w["share"])] for w in weekly]
        body += "\n\n" + _fit(rows, ["week", "commits", "verified", "capture"], fmt, width,
                              colalign=("left", "right", "right", "right"))
    out.append(("Coverage", body))

    rows = [[o["origin"], o["lines"], _pct(o["share"])] for o in doc["origin"]]
    body = _fit(rows, ["origin", "lines", "share"], fmt, width, colalign=("left", "right", "right"))
    out.append(("Origin of lines", body + evidence_note(doc.get("originEvidence"))))
    out.append(_origin_section(report, fmt, width))

    r = doc["review"]
    out.append(("Review", f"lines from reviewed commits: {r['reviewedLines']} ({_pct(r['share'])}); "
                          f"reviewed commits: {r['reviewedCommits']}"))

    rows = [[_flagged(h), h["lines"], h["commits"], f"{h['ratio']:.2f}", h["score"]] for h in doc["hotspots"]]
    body = _fit(rows, ["file", "lines", f"commits {widest}", "ratio", "score"], fmt, width,
                colalign=("left", "right", "right", "right", "right")) if rows else "none"
    out.append(("Hotspots (commits x lines)", body))

    rows = [[x["path"], x["lines"], _pct(x["share"])] for x in doc["legacy"][:TOP]]
    body = _fit(rows, ["file", "lines", f"{names[-1]}"], fmt, width, colalign=("left", "right", "right")) if rows else "none"
    more = len(doc["legacy"]) - TOP
    out.append((f"Legacy (mostly {names[-1]})", body + (f"\n... and {more} more" if more > 0 else "")))

    if "history" in doc:
        out.append(_history_section(doc["history"], fmt, width))

    left_out = t["binaryFiles"] + t["symlinks"] + [s["path"] for s in t["submodules"]]
    if left_out:
        rows = (
            [[p, "binary"] for p in t["binaryFiles"]]
            + [[p, "symlink"] for p in t["symlinks"]]
            + [[s["path"], f"submodule {s['commit'][:12]}"] for s in t["submodules"]]
        )
        out.append(("Left out", _fit(rows, ["path", "kind"], fmt, width)))
    return out


# Origin columns the terminal shows at most: the largest origins, the rest summed as "other" (Markdown shows all).
ORIGIN_COLUMNS = 6


def _origin_section(report: Report, fmt: str, width: int | None) -> tuple[str, str]:
    """Each directory's (or file's) lines by origin as % of its lines: one column per origin that occurs,
    largest overall first."""
    doc = report.doc
    groups = doc["directories"] if report.by == "dir" else doc["files"]
    origins = [o["origin"] for o in doc["origin"]]
    shown = origins if width is None or len(origins) <= ORIGIN_COLUMNS else origins[:ORIGIN_COLUMNS - 1]
    rest = origins[len(shown):]
    headers = ["directory" if report.by == "dir" else "file", "lines"]
    headers += [cell_text(o, fmt).replace("-", "-\n", 1) if fmt != "github" else cell_text(o, fmt) for o in shown]
    headers += ["other"] if rest else []
    rows = []
    for g in groups:
        counts = [g["origin"].get(o, 0) for o in shown]
        counts += [g["lines"] - sum(counts)] if rest else []
        rows.append([g["path"], g["lines"], *(_pct0(n, g["lines"]) for n in counts)])
    body = _fit(rows, headers, fmt, width, colalign=("left",) + ("right",) * (len(headers) - 1))
    if rest:
        body += "\nother: " + ", ".join(cell_text(o, fmt) for o in rest)
    return (f"Origin by {'directory' if report.by == 'dir' else 'file'} (% of lines)", body)


def _flagged(hotspot: dict[str, Any]) -> str:
    """A hotspot's path, marked when the file looks generated or vendored."""
    kind = hotspot.get("generated")
    return f"{hotspot['path']} [{kind}]" if kind else hotspot["path"]


# Columns of the history table: at most this many samples, evenly spread, the first and the last included.
HISTORY_COLUMNS = 4


def spread(n: int, k: int) -> list[int]:
    """K indices spread evenly over range(N), first and last included (all of them when N <= K)."""
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def half_life_text(days: float | None) -> str:
    """The half-life for a reader: days and years, or why there is none."""
    if days is None:
        return "half-life: not reached (more than half of the lines seen at each sample are still alive)"
    return f"half-life: {days:g} days ({days / 365.25:.1f} years)"


def _history_section(history: dict[str, Any], fmt: str, width: int | None) -> tuple[str, str]:
    """Lines alive by the year they were written, at a few samples, with each cohort's peak and survival."""
    samples = history["samples"]
    cols = spread(len(samples), HISTORY_COLUMNS)
    years = list(samples[-1]["cohorts"]) if samples else []
    headers = ["written"] + [samples[i]["date"][:10] for i in cols] + ["peak", "now/peak"]
    rows = []
    for y in years:
        cs = history["cohortSurvival"][y]
        rows.append([y, *(samples[i]["cohorts"].get(y, 0) for i in cols), cs["peakLines"], _pct(cs["share"])])
    rows.append(["all", *(sum(samples[i]["cohorts"].values()) for i in cols), "", ""])
    body = _fit(rows, headers, fmt, width, colalign=("left",) + ("right",) * (len(headers) - 1)) if samples else "none"
    first, last = (samples[0]["date"][:10], samples[-1]["date"][:10]) if samples else ("-", "-")
    count = f"{len(samples)} sample" + ("" if len(samples) == 1 else "s")
    intro = (f"{count} every {history['step']} along the first-parent history, {first} to {last}: "
             f"lines alive at each by the year (UTC) their commit was authored, as git blame at the sample says.")
    half = half_life_text(history["halfLifeDays"])
    if width is not None:
        intro, half = textwrap.fill(intro, width), textwrap.fill(half, width)
    body = f"{intro}\n\n{body}\n\n{half}"
    return ("Code age over time", body)


def render_table(report: Report) -> str:
    """The report for a terminal: plain tables, each line at most 80 columns where paths allow."""
    parts = []
    for title, body in _sections(report, "simple", WIDTH):
        parts.append(f"{title}\n{'=' * len(title)}\n{body}\n")
    return "\n".join(parts)


def render_markdown(report: Report) -> str:
    """The report as Markdown (GitHub tables)."""
    parts = []
    for i, (title, body) in enumerate(_sections(report, "github", None)):
        if i == 0:
            parts.append(f"# {title}\n\n" + body.replace("\n", "  \n") + "\n")
        elif body.lstrip().startswith("|"):
            parts.append(f"## {title}\n\n{body}\n")
        else:
            # Free text inside a section (coverage's summary line) keeps its paragraphs.
            parts.append(f"## {title}\n\n{body}\n")
    return "\n".join(parts)


def render_history_csv(history: dict[str, Any]) -> str:
    """One row per history sample: revision, date and the lines alive by year written."""
    samples = history["samples"]
    years = list(samples[-1]["cohorts"]) if samples else []
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["revision", "date", *years, "lines"])
    for s in samples:
        writer.writerow([s["revision"], s["date"], *(s["cohorts"].get(y, 0) for y in years), sum(s["cohorts"].values())])
    return buf.getvalue()


def evidence_note(ev: dict[str, Any] | None) -> str:
    """Under the origin table: whose line-level evidence gave the lines' origin, and whose could not."""
    if not ev or not (ev["commits"] or ev["unusable"]):
        return ""
    text = f"\n\nline-level evidence (signed, unchanged) gave the origin of the lines of {ev['commits']} commit(s)"
    if ev["unusable"]:
        text += f"; {len(ev['unusable'])} commit(s) count by their claimed origin: evidence changed, absent or unreadable"
    return text


def render_csv(report: Report) -> str:
    """One row per directory or file (as --by chooses): lines, age buckets, churn per window, origins.

    With --history, the history instead: one row per sample (a spreadsheet reads one table a file).
    """
    doc = report.doc
    if "history" in doc:
        return render_history_csv(doc["history"])
    groups = doc["directories"] if report.by == "dir" else doc["files"]
    origins = sorted({o for g in groups for o in g["origin"]})
    header = ["path", "lines"] + [f"age {b}" for b in doc["buckets"]]
    for w in doc["windows"]:
        header += [f"commits {w}", f"insertions {w}", f"deletions {w}"]
    header += [f"origin {o}" for o in origins]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for g in groups:
        row: list[Any] = [g["path"], g["lines"]] + [g["age"][b] for b in doc["buckets"]]
        for w in doc["windows"]:
            c = g["churn"][w]
            row += [c["commits"], c["insertions"], c["deletions"]]
        row += [g["origin"].get(o, 0) for o in origins]
        writer.writerow([csv_cell(v) for v in row])
    return buf.getvalue()
