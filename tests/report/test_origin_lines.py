"""The report's origin per line from signed line-level evidence, mapped through git blame's original line
numbers and paths of the blamed commit; the oracle is `git blame --line-porcelain` and the test's own ranges."""

from __future__ import annotations

import json
import os
from collections import Counter

from testing.repos import make_repo

SKIP = {**os.environ, "SRCPROV_SKIP": "1"}
APP = "src/app.py"
SPACED = "my dir/a file.py"
MOVED = "other/a file.py"

# What the git-ai log of the first commit says, as (path, first, last, kind); lines no range covers are untracked.
RANGES = [(APP, 1, 8, "ai"), (APP, 9, 12, "human"), (APP, 13, 14, "ai"), (SPACED, 1, 3, "ai")]


def git_ai_log() -> str:
    """A Git AI Standard v3.0.0 authorship log: two sessions, a known human, a legacy prompt key, and a
    quoted path with a space; APP's lines 15-20 and SPACED's 4-6 are untracked."""
    return "\n".join([
        APP,
        "  s_c9883b05a2487d::t_9f8e7d6c5b4a32 1-5",
        "  s_e7f2a90b31cc48::t_deadbeef012345 6-8",
        "  h_31dce776f88375 9-12",
        "  abcd1234abcd1234 13-14",
        f'"{SPACED}"',
        "  s_c9883b05a2487d::t_a1b2c3d4e5f678 1-3",
        "---",
        json.dumps({
            "schema_version": "authorship/3.0.0", "git_ai_version": "1.4.5", "base_commit_sha": "0" * 40,
            "prompts": {"abcd1234abcd1234": {"agent_id": {"tool": "cursor", "id": "p", "model": "gpt"}}},
            "humans": {"h_31dce776f88375": {"author": "Alice <alice@example.com>"}},
            "sessions": {"s_c9883b05a2487d": {"agent_id": {"tool": "claude", "id": "a", "model": "opus"}},
                         "s_e7f2a90b31cc48": {"agent_id": {"tool": "cursor", "id": "b", "model": "gpt"}}},
        }, indent=2),
    ])


def write(repo, path: str, lines: list[str]) -> None:
    f = repo.path / path
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text("".join(x + "\n" for x in lines))


def blame_lines(repo, path: str) -> list[tuple[str, int, str]]:
    """(commit, original line number, original path) of each line, from `git blame --line-porcelain`."""
    out = repo.git("blame", "--line-porcelain", "HEAD", "--", path).stdout.split("\n")
    found, head, name = [], None, None
    for line in out:
        if line.startswith("\t"):
            found.append((head[0], int(head[1]), name))
        elif line.startswith("filename "):
            name = line[len("filename "):]
        elif len(line) > 41 and line[40] == " " and all(c in "0123456789abcdef" for c in line[:40]):
            head = line.split(" ")
    return found


def expected(repo, path: str, evidence_commit: str | None, ranges, other: dict[str, str]) -> Counter:
    """Lines of PATH by origin: the ranges' kind at each original line of EVIDENCE_COMMIT's lines
    ("unknown" where none covers it), OTHER[commit] for the rest."""
    out: Counter = Counter()
    for cid, orig, name in blame_lines(repo, path):
        if cid == evidence_commit:
            kinds = [k for p, a, b, k in ranges if p == name and a <= orig <= b]
            out[kinds[0] if kinds else "unknown"] += 1
        else:
            out[other[cid]] += 1
    return out


def report(repo, *args: str) -> tuple[dict, str]:
    proc = repo.srcprov("report", "--format", "json", *args)
    return json.loads(proc.stdout), proc.stderr


def file_origin(doc: dict, path: str) -> dict[str, int]:
    return next(f["origin"] for f in doc["files"] if f["path"] == path)


def make_history(tmp_path, keys):
    """C1 (AI work with a git-ai log, recorded) then C2 (a human moves, deletes, edits and renames it)."""
    r = make_repo(tmp_path / "r", keys)
    write(r, APP, [f"app {i}" for i in range(1, 21)])
    write(r, SPACED, [f"spaced {i}" for i in range(1, 7)])
    r.git("add", "-A")
    r.git("commit", "-qm", "ai work", env=SKIP)
    c1 = r.head()
    r.git("notes", "--ref", "ai", "add", "-F", "-", c1, input=git_ai_log())
    r.srcprov("record", c1)
    old = [f"app {i}" for i in range(1, 21)]
    new = [f"top {i}" for i in range(1, 6)] + [x for i, x in enumerate(old, 1) if i not in (3, 4, 10)]
    new[new.index("app 13")] = "app 13 edited"
    write(r, APP, new)
    (r.path / "other").mkdir()
    r.git("mv", SPACED, MOVED)
    write(r, MOVED, [f"spaced {i}" for i in range(1, 7)] + ["spaced 7"])
    r.git("add", "-A")
    r.git("commit", "-qm", "human edits")  # the sync hook records it: origin human
    return r, c1, r.head()


def test_origin_per_line_follows_blames_original_lines_and_paths(tmp_path, keys):
    r, c1, c2 = make_history(tmp_path, keys)
    doc, _ = report(r)
    other = {c2: "human"}
    want_app = expected(r, APP, c1, RANGES, other)
    want_moved = expected(r, MOVED, c1, RANGES, other)
    # The oracle's own answer, spelled out: APP keeps 5 of 8 session lines (3, 4 deleted), 3 of 4 human lines
    # (10 deleted), 1 of 2 legacy-key lines (13 edited), all 6 untracked lines; MOVED keeps its 3 AI lines.
    assert want_app == {"ai": 6 + 1, "human": 3 + 1 + 5, "unknown": 6}
    assert want_moved == {"ai": 3, "unknown": 3, "human": 1}
    assert file_origin(doc, APP) == dict(want_app)
    assert file_origin(doc, MOVED) == dict(want_moved)
    totals = {o["origin"]: o["lines"] for o in doc["origin"]}
    assert totals["ai"] == want_app["ai"] + want_moved["ai"]
    assert doc["originEvidence"] == {"commits": 1, "unusable": []}
    other_dir = next(d for d in doc["directories"] if d["path"] == "other")
    assert other_dir["origin"] == dict(want_moved)
    # Every format carries the per-file origin: CSV has a column per origin.
    csv = r.srcprov("report", "--format", "csv", "--by", "file").stdout.splitlines()
    header = csv[0].split(",")
    row = next(x.split(",") for x in csv if x.startswith(APP + ","))
    assert int(row[header.index("origin ai")]) == want_app["ai"]


def test_warm_report_reads_the_entries_from_the_cache(tmp_path, keys):
    r, _c1, _c2 = make_history(tmp_path, keys)
    first, _ = report(r, "--as-of", "2030-01-01")
    cache = r.path / ".git" / "srcprov" / "cache"
    entries = [p for p in cache.rglob("*") if p.is_file() and "entries" in p.parts]
    assert len(entries) == 2  # APP and MOVED: the two files with lines of a commit with evidence
    before = {p: p.stat().st_mtime_ns for p in entries}
    second, _ = report(r, "--as-of", "2030-01-01")
    assert second == first
    assert {p: p.stat().st_mtime_ns for p in entries} == before
    # A corrupt entry is a miss, recomputed: the report stays the same.
    entries[0].write_bytes(entries[0].read_bytes().replace(b" 1 ", b" 2 ", 1))
    third, _ = report(r, "--as-of", "2030-01-01")
    assert third == first


def test_evidence_edited_after_signing_is_not_used(tmp_path, keys):
    r, c1, c2 = make_history(tmp_path, keys)
    # Someone who can push notes rewrites the log to call every line human.
    forged = git_ai_log().replace("s_c9883b05a2487d::t_9f8e7d6c5b4a32 1-5", "h_31dce776f88375 1-5")
    r.git("notes", "--ref", "ai", "add", "-f", "-F", "-", c1, input=forged)
    doc, err = report(r)
    claimed = expected(r, APP, None, [], {c1: "ai-assisted", c2: "human"})
    assert file_origin(doc, APP) == dict(claimed)  # the record's claims.origin, line for line
    assert doc["originEvidence"] == {"commits": 0, "unusable": [{"commit": c1, "reason": "changed"}]}
    assert "no longer hashes to the digest its record signed" in err and c1[:12] in err
    # Deleting the log: absent, the same fallback.
    r.git("notes", "--ref", "ai", "remove", c1)
    doc, err = report(r)
    assert doc["originEvidence"]["unusable"] == [{"commit": c1, "reason": "absent"}]
    assert file_origin(doc, APP) == dict(claimed)


def test_evidence_no_verified_record_signed_is_not_used(tmp_path, keys):
    """A git-ai log pushed for a commit whose record binds no evidence (or that has no verified record)
    changes nothing: only a signed digest lets evidence speak."""
    r = make_repo(tmp_path / "r", keys)
    write(r, APP, [f"app {i}" for i in range(1, 21)])
    write(r, SPACED, [f"spaced {i}" for i in range(1, 7)])
    r.git("add", "-A")
    r.git("commit", "-qm", "plain work")  # recorded by the hook, before any log exists: no attribution
    c = r.head()
    r.git("notes", "--ref", "ai", "add", "-F", "-", c, input=git_ai_log())
    write(r, "unrecorded.py", ["x", "y"])
    r.git("add", "-A")
    r.git("commit", "-qm", "no record", env=SKIP)
    u = r.head()
    r.git("notes", "--ref", "ai", "add", "-F", "-", u, input=git_ai_log().replace(APP, "unrecorded.py", 1))
    doc, _ = report(r)
    assert file_origin(doc, APP) == {"human": 20}
    assert file_origin(doc, "unrecorded.py") == {"unknown": 2}
    assert doc["originEvidence"] == {"commits": 0, "unusable": []}


def test_agent_trace_given_with_record_trace_maps_lines_too(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    write(r, "tool.py", [f"t {i}" for i in range(1, 11)])
    r.git("add", "-A")
    r.git("commit", "-qm", "agent work", env=SKIP)
    c1 = r.head()
    trace = json.dumps({
        "version": "0.1", "id": "8f5c3d6a-4f95-4fa9-8d11-2d54f12e6f01", "timestamp": "2026-11-25T10:00:00Z",
        "vcs": {"type": "git", "revision": c1}, "tool": {"name": "agent", "version": "1"},
        "files": [{"path": "tool.py", "conversations": [
            {"contributor": {"type": "ai", "model_id": "anthropic/claude"},
             "ranges": [{"start_line": 1, "end_line": 6}, {"start_line": 5, "end_line": 7, "contributor": {"type": "human"}}]}]}],
    }).encode()
    f = tmp_path / "trace.json"
    f.write_bytes(trace)
    r.srcprov("record", "--trace", str(f), c1)
    f.unlink()  # a temporary file: the trace is kept on refs/notes/agent-trace, byte for byte
    assert r.git("cat-file", "blob", f"refs/notes/agent-trace:{c1}").stdout.encode() == trace
    write(r, "tool.py", ["new 1"] + [f"t {i}" for i in range(1, 11) if i != 2])
    r.git("commit", "-qam", "human edit")
    c2 = r.head()
    ranges = [("tool.py", 1, 4, "ai"), ("tool.py", 5, 6, "mixed"), ("tool.py", 7, 7, "human")]
    want = expected(r, "tool.py", c1, ranges, {c2: "human"})
    assert want == {"ai": 3, "mixed": 2, "human": 1 + 1, "unknown": 3}
    doc, _ = report(r)
    assert file_origin(doc, "tool.py") == dict(want)
    assert doc["originEvidence"] == {"commits": 1, "unusable": []}


def test_show_prints_the_attribution_and_whether_its_evidence_stands(tmp_path, keys):
    r, c1, _c2 = make_history(tmp_path, keys)
    text = r.srcprov("show", c1).stdout
    assert "attribution (git-ai/authorship/3.0.0 from refs/notes/ai): 13 ai, 4 human, 0 mixed, 9 unknown lines" in text
    assert "evidence matches its signed digest; tools: claude (opus), cursor (gpt)" in text
    shown = json.loads(r.srcprov("show", "--json", c1).stdout)
    assert [e["status"] for e in shown["evidence"]] == ["matches"]
    assert shown["evidence"][0]["tools"] == ["claude (opus)", "cursor (gpt)"]
    r.git("notes", "--ref", "ai", "add", "-f", "-F", "-", c1, input=git_ai_log().replace("1-5", "1-4"))
    text = r.srcprov("show", c1).stdout
    assert "evidence changed since it was signed: the report uses the claimed origin instead" in text
    assert json.loads(r.srcprov("show", "--json", c1).stdout)["evidence"][0] == {
        "sha256": shown["evidence"][0]["sha256"], "status": "changed", "tools": []}


def test_a_cold_report_keeps_the_entries_of_its_own_blames(tmp_path, keys):
    """The blames the attribution runs anyway yield the original lines: a cold report blames no file twice,
    and a warm one blames nothing."""
    from srcprov.commands import policy_for
    from srcprov.commands.report import report_evidence, report_facts
    from srcprov.git import Repo
    from srcprov.report.cache import ReportCache
    from srcprov.report.model import parse_buckets, parse_windows
    from srcprov.report.summary import build_report

    r, c1, _c2 = make_history(tmp_path, keys)
    repo = Repo(r.path)
    facts_for = report_facts(repo, policy_for(repo, None, None, []))
    docs = []
    for _ in range(2):
        cache = ReportCache(repo)
        docs.append(build_report(repo, r.head(), as_of=2_000_000_000, date_field="author",
                                 buckets=parse_buckets("1d,14d"), windows=parse_windows("14d"), facts_for=facts_for,
                                 evidence_for=report_evidence(repo), cache=cache).doc)
        assert cache.stats.entries_blamed == 0
    assert docs[0] == docs[1] and docs[0]["originEvidence"]["commits"] == 1
    assert file_origin(docs[0], APP)["ai"] == 7


def test_table_markdown_and_html_say_whose_evidence_was_used(tmp_path, keys):
    r, c1, _c2 = make_history(tmp_path, keys)
    used = "line-level evidence (signed, unchanged) gave the origin of the lines of 1 commit(s)"
    for fmt in ("table", "markdown"):
        assert used in r.srcprov("report", "--format", fmt).stdout
    page = tmp_path / "r.html"
    r.srcprov("report", "--format", "html", "--output", str(page))
    assert used in page.read_text()
    r.git("notes", "--ref", "ai", "remove", c1)
    text = r.srcprov("report").stdout
    assert "0 commit(s); 1 commit(s) count by their claimed origin: evidence changed, absent or unreadable" in text
