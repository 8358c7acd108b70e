"""The HTML page rendered by headless Chromium: not blank, and the four SVG charts are there and sized."""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from pathlib import Path

from srcprov.git import Repo
from srcprov.report import CommitFacts, run_report

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows (RGB or RGBA bytes) of an 8-bit, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i:i + 3]) for r in rows for i in range(0, len(r), bpp)]  # type: ignore[misc]


def test_html_page_renders_with_its_charts(history, tmp_path: Path) -> None:
    path = history(41, 150)
    ids = subprocess.run(["git", "rev-list", "main"], cwd=path, capture_output=True, text=True, check=True).stdout.split()
    origins = ["human", "ai-assisted", "generated", None]
    facts = {c: CommitFacts("verified" if i % 3 else "missing", origins[i % 4] if i % 3 else None, i % 5 == 0)
             for i, c in enumerate(ids)}
    page = tmp_path / "report.html"
    run_report(Repo(path), fmt="html", output=str(page), as_of="main", facts_for=lambda cs: facts)
    html = page.read_text()
    # Self-contained: nothing fetched, nothing run.
    assert "<script" not in html and "@import" not in html and "url(" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)

    shot = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=900,1400",
                    page.as_uri()], check=True, capture_output=True, timeout=120)
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()], check=True,
                         capture_output=True, timeout=120, text=True).stdout
    for cls in ("age-stack", "churn-age", "capture", "origin", "origin-stack"):
        m = re.search(rf'<svg class="chart {cls}"[^>]*width="(\d+)" height="(\d+)"', dom)
        assert m, cls
        assert int(m.group(1)) >= 300 and int(m.group(2)) >= 50, cls
    assert dom.count("<rect") > 20 and dom.count("<circle") >= 10

    width, height, pixels = png_pixels(shot.read_bytes())
    assert (width, height) == (900, 1400)
    colours = set(pixels[:: 7])
    assert len(colours) > 50, "the page looks blank"
    # The age chart's greens and the capture chart's bars are drawn, not only text on white.
    assert any(g > r + 40 and g > b + 20 for r, g, b in colours)


def test_charts_read_at_a_glance(builder, tmp_path: Path) -> None:
    """Axis titles everywhere, the square-root scale said, a size legend, named bubbles, the capture range,
    no green for weeks without a verified commit, and generated files flagged after the code."""
    b = builder
    b.write("src/app.py", b"".join(b"line %d\n" % i for i in range(40)))
    b.write("package-lock.json", b"".join(b'"dep%d": "1.0"\n' % i for i in range(400)))
    b.write("static/app.min.js", b"x" * 50 + b"\n")
    b.commit("root")
    for i in range(6):
        b.write("package-lock.json", b"".join(b'"dep%d": "1.%d"\n' % (j, i) for j in range(400)))
        b.write("src/app.py", b"".join(b"line %d\n" % j for j in range(40)) + b"more %d\n" % i)
        b.commit(f"bump {i}", days=10)
    page = tmp_path / "r.html"
    run_report(Repo(b.path), fmt="html", output=str(page), history=True, step="20d",
               as_of=b.git("rev-parse", "HEAD"), facts_for=lambda cs: {})
    html = page.read_text()
    charts = re.findall(r'<svg class="chart ([a-z-]+)".*?</svg>', html, re.S)
    assert charts == ["age-stack", "cohorts", "survival", "churn-age", "capture", "origin", "origin-stack"]
    for m in re.finditer(r'<svg class="chart ([a-z-]+)".*?</svg>', html, re.S):
        assert 'class="axis"' in m.group(0), f"{m.group(1)} has no axis title"
    churn = re.search(r'<svg class="chart churn-age".*?</svg>', html, re.S).group(0)
    assert "square-root scale" in churn and "circle area: lines in the file" in churn
    assert 'class="label">package-lock.json<' in churn  # the largest bubble is named
    capture = re.search(r'<svg class="chart capture".*?</svg>', html, re.S).group(0)
    assert "#31a354" not in capture, "no week has a verified commit: nothing may be green"
    assert "#bdbdbd" in capture
    assert re.search(r"Weeks \d{4}-W\d\d to \d{4}-W\d\d \(\d+ weeks", html)
    hot = re.search(r"<h2>Hotspots</h2>.*?</table>", html, re.S).group(0)
    rows = re.findall(r"<tr><td>(.*?)</td>", hot)
    assert rows[0] == "src/app.py"  # the lock file scores higher, but comes after the code, flagged
    assert rows[1] == 'package-lock.json<span class="flag">lock file</span>'
