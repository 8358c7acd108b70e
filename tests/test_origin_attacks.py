"""Attacks on line-level AI origin evidence by someone who can push notes refs (refs/notes/ai,
refs/notes/agent-trace, refs/notes/srcprov), open a pull request, or hand srcprov a file (`record --trace`).

Every test runs srcprov as a subprocess on a real repository. What srcprov already resisted is kept as a
regression test; what it did not is fixed, and the test says what the attack did before.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from srcprov.model.evidence import EvidenceError, parse_agent_trace, parse_git_ai
from testing import forge
from testing.repos import GitRepo, make_repo
from testing.run import run_srcprov, srcprov_argv

SESSION = "s_c9883b05a2487d::t_9f8e7d6c5b4a32"
HUMAN = "h_31dce776f88375"
META = {"schema_version": "authorship/3.0.0", "base_commit_sha": "0" * 40, "prompts": {},
        "humans": {HUMAN: {"author": "Alice <alice@example.com>"}},
        "sessions": {"s_c9883b05a2487d": {"agent_id": {"tool": "claude", "id": "c", "model": "opus"}}}}


# --- helpers ---------------------------------------------------------------------------------------------
def git_ai_log(files: dict[str, list[tuple[str, str]]], meta: dict | None = None) -> str:
    """A git-ai authorship log: path -> [(key, ranges)]; a path with a space is quoted as git-ai does."""
    out = []
    for path, keys in files.items():
        out.append(f'"{path}"' if " " in path else path)
        out += [f"  {k} {spec}" for k, spec in keys]
    return "\n".join(out) + "\n---\n" + json.dumps(meta or META)


def trace(revision: str | None, files: list[tuple[str, list[tuple[int, int, str]]]], tool: str = "agent") -> bytes:
    """An Agent Trace record (v0.1): [(path, [(start, end, kind)])]."""
    doc: dict = {"version": "0.1", "id": "8f5c3d6a-4f95-4fa9-8d11-2d54f12e6f01", "timestamp": "2026-11-25T10:00:00Z",
                 "tool": {"name": tool, "version": "1"},
                 "files": [{"path": p, "conversations": [{"ranges": [
                     {"start_line": s, "end_line": e, "contributor": {"type": k}} for s, e, k in ranges]}]}
                     for p, ranges in files]}
    if revision is not None:
        doc["vcs"] = {"type": "git", "revision": revision}
    return json.dumps(doc).encode()


def commit_files(r: GitRepo, files: dict[str | bytes, int], message: str = "work", *, hook: bool = False) -> str:
    """Write each file with N lines (a bytes name for a name that is not UTF-8) and commit them."""
    for name, n in files.items():
        p = r.path / (os.fsdecode(name) if isinstance(name, bytes) else name)
        p.parent.mkdir(parents=True, exist_ok=True)
        tag = hashlib.sha256(os.fsencode(p)).hexdigest()[:8].encode()  # a name may hold a newline: not in the text
        p.write_bytes(b"".join(b"%s %d\n" % (tag, i) for i in range(1, n + 1)))
    r.git("add", "-A")
    r.git("commit", "-qm", message, env=None if hook else {**os.environ, "SRCPROV_SKIP": "1"})
    return r.head()


def add_note(r: GitRepo, ref: str, commit: str, data: bytes, force: bool = False) -> None:
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=r.path, input=data, capture_output=True,
                          check=True).stdout.decode().strip()
    r.git("notes", "--ref", ref, "add", *(["-f"] if force else []), "-C", blob, commit)


def provenance(r: GitRepo, commit: str) -> list[dict]:
    out = []
    for line in r.note(commit).splitlines():
        if line.strip():
            st = forge.decode(line)[2]
            if st["predicateType"].endswith("commit-provenance:v1"):
                out.append(st["predicate"])
    return out


def no_traceback(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def warnings_of(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [ln for ln in proc.stderr.splitlines() if ln.startswith("srcprov: warning:")]


def report(r: GitRepo, *args: str) -> tuple[dict, str]:
    proc = no_traceback(r.srcprov("report", "--format", "json", *args))
    return json.loads(proc.stdout), proc.stderr


def file_origin(doc: dict, path: str) -> dict[str, int]:
    return next(f["origin"] for f in doc["files"] if f["path"] == path)


def require_ai_reviews(r: GitRepo) -> None:
    text = (r.path / ".srcprov" / "policy.toml").read_text().replace("reviews = 0\n", "reviews = 0\nai_reviews = 1\n")
    (r.path / ".srcprov" / "policy.toml").write_text(text)
    r.git("commit", "-qam", "ai_reviews = 1")


def status_of(r: GitRepo, commit: str) -> str:
    proc = no_traceback(r.srcprov("verify", "--json", commit, check=False))
    return json.loads(proc.stdout)["commits"][0]["status"]


def resign(r: GitRepo, commit: str, edit, key: str | None = None) -> None:
    """Replace COMMIT's note by its commit-provenance record with EDIT applied to the statement, signed
    again by KEY (default alice, a key the policy trusts: a record an older or other srcprov wrote)."""
    line = next(ln for ln in r.note(commit).splitlines() if "commit-provenance" in forge.decode(ln)[2]["predicateType"])
    st = forge.decode(line)[2]
    edit(st)
    body = json.dumps(st, separators=(",", ":"), sort_keys=True).encode()
    k = key or r.keys.alice
    r.set_note(commit, forge.envelope(body, [(k, forge.detached(r.keys.home, k, forge.pae(body)))]).decode() + "\n")


# --- notes refs that are not notes -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["blob", "tree", "tag-of-blob", "symref-loop"])
def test_a_notes_ref_naming_no_notes_commit_breaks_neither_record_nor_report(tmp_path, keys, kind):
    """Before: refs/notes/ai pushed as a blob, tree or annotated tag of a blob, or a symbolic-ref loop, made
    every record (hooks included) and every report end in a traceback (AttributeError / GitError in note_blob)."""
    r = make_repo(tmp_path / "r", keys)
    c = commit_files(r, {"app.py": 4})
    blob = r.git("hash-object", "-w", "--stdin", input="app.py\n  x 1\n").stdout.strip()
    if kind == "blob":
        target = blob
    elif kind == "tree":
        target = r.git("rev-parse", "HEAD^{tree}").stdout.strip()
    elif kind == "tag-of-blob":
        target = r.git("mktag", input=f"object {blob}\ntype blob\ntag t\ntagger A <a@x> 0 +0000\n\nm\n").stdout.strip()
    if kind == "symref-loop":
        for a, b in (("ai", "agent-trace"), ("agent-trace", "ai")):
            r.git("symbolic-ref", f"refs/notes/{a}", f"refs/notes/{b}")
    else:
        for ref in ("refs/notes/ai", "refs/notes/agent-trace"):
            r.git("update-ref", ref, target)
    proc = no_traceback(r.srcprov("record", c))
    assert proc.returncode == 0 and "attribution" not in provenance(r, c)[0]
    hooked = commit_files(r, {"b.py": 2}, hook=True)  # the sync post-commit hook records it
    assert provenance(r, hooked) and "attribution" not in provenance(r, hooked)[0]
    doc, _ = report(r)
    assert file_origin(doc, "app.py") == {"human": 4}
    no_traceback(r.srcprov("show", c))


# --- size: a note, a file, ranges ------------------------------------------------------------------------------
def max_rss_mb(cwd: Path, *args: str) -> tuple[int, subprocess.CompletedProcess[str]]:
    """Run srcprov ARGS and the largest resident size (MiB) of any of its processes."""
    probe = textwrap.dedent("""
        import json, resource, subprocess, sys
        p = subprocess.run(json.loads(sys.argv[1]), capture_output=True, text=True, stdin=subprocess.DEVNULL)
        sys.stdout.write(json.dumps([resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
                                     p.returncode, p.stdout, p.stderr]))
    """)
    out = subprocess.run([sys.executable, "-c", probe, json.dumps(srcprov_argv(*args))], cwd=cwd,
                         capture_output=True, text=True, check=True, timeout=300).stdout
    rss, rc, stdout, stderr = json.loads(out)
    return rss, subprocess.CompletedProcess(args, rc, stdout, stderr)


def test_an_evidence_note_of_hundreds_of_mib_is_refused_unread(tmp_path, keys):
    """Before: a 128 MiB note of zeros (a few hundred KiB pushed) was inflated whole, twice over (libgit2's
    buffer and a Python copy), by every record and report before the 4 MiB check: ~300 MiB and seconds each."""
    r = make_repo(tmp_path / "r", keys)
    c = commit_files(r, {"app.py": 4})
    zeros = subprocess.Popen(["head", "-c", str(128 << 20), "/dev/zero"], stdout=subprocess.PIPE)
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=r.path, stdin=zeros.stdout,
                          capture_output=True, check=True).stdout.decode().strip()
    zeros.wait()
    r.git("notes", "--ref", "ai", "add", "-C", blob, c)
    rss, proc = max_rss_mb(r.path, "record", c)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert [w for w in warnings_of(proc) if "over 4 MiB" in w and "malformed" in w]
    assert "attribution" not in provenance(r, c)[0]
    assert rss < 100, f"{rss} MiB"
    # A record that signed a real log, whose note is then swapped for the big one: changed, unread.
    d = commit_files(r, {"d.py": 3})
    add_note(r, "ai", d, git_ai_log({"d.py": [(SESSION, "1-3")]}).encode())
    r.srcprov("record", d)
    r.git("notes", "--ref", "ai", "add", "-f", "-C", blob, d)
    rss, proc = max_rss_mb(r.path, "report", "--format", "json")
    assert proc.returncode == 0 and rss < 100, (rss, proc.stderr)
    doc = json.loads(proc.stdout)
    assert doc["originEvidence"]["unusable"] == [{"commit": d, "reason": "changed"}]
    assert file_origin(doc, "d.py") == {"ai-assisted": 3}


def test_record_trace_from_an_endless_file_is_refused_not_read_forever(tmp_path, keys):
    """Before: `record --trace /dev/zero` read until memory ran out. Now one byte past 4 MiB is read."""
    r = make_repo(tmp_path / "r", keys)
    c = commit_files(r, {"app.py": 4})
    proc = no_traceback(run_srcprov(r.path, "record", "--trace", "/dev/zero", c, check=True, timeout=60))
    assert [w for w in warnings_of(proc) if "over 4 MiB" in w]
    assert "attribution" not in provenance(r, c)[0]
    assert r.git("notes", "--ref", "agent-trace", "list", check=False).stdout == ""  # nothing kept
    for bad in (str(tmp_path), str(tmp_path / "missing.json")):
        proc = no_traceback(r.srcprov("record", "--force", "--trace", bad, c, check=2))
        assert proc.stderr.startswith("srcprov: error: cannot read --trace")


def test_ranges_marking_millions_of_lines_are_refused_at_once():
    """Before: each range could mark a million lines and nothing bounded their sum, so a 1 KiB trace held
    10 million lines (3 s, 700 MiB) and a 4 MiB one billions; repeating one range cost as much."""
    many = trace("a" * 40, [("p.py", [(i * 1_000_002 + 1, i * 1_000_002 + 1_000_001, "ai") for i in range(9)])])
    repeated = trace("a" * 40, [("p.py", [(1, 1_000_000, "ai")] * 500)])
    paths = trace("a" * 40, [(f"p{i}.py", [(1, 900_000, "human")]) for i in range(50)])
    for data in (many, repeated, paths):
        with pytest.raises(EvidenceError, match="over 1,000,000 lines"):
            parse_agent_trace(data, "a" * 40)
    log = git_ai_log({f"f{i}.py": [(SESSION, "1-900000"), (HUMAN, "1-900000")] for i in range(50)})
    with pytest.raises(EvidenceError, match="over 1,000,000 lines"):
        parse_git_ai(log.encode())
    # A million lines in all is still evidence.
    assert parse_agent_trace(trace("a" * 40, [("p.py", [(1, 1_000_000, "ai")])]), "a" * 40).counts()["ai"] == 1_000_000


def test_giant_ranges_in_a_note_or_trace_cost_the_record_nothing(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    c = commit_files(r, {"app.py": 4})
    add_note(r, "ai", c, git_ai_log({f"f{i}.py": [(SESSION, "1-1000000")] for i in range(300)}).encode())
    proc = no_traceback(run_srcprov(r.path, "record", c, check=True, timeout=60))
    assert [w for w in warnings_of(proc) if "over 1,000,000 lines" in w and "refs/notes/ai" in w]
    assert "attribution" not in provenance(r, c)[0]
    d = commit_files(r, {"d.py": 4})
    f = tmp_path / "trace.json"
    f.write_bytes(trace(d, [("d.py", [(1, 1_000_000, "ai")] * 3000)]))
    proc = no_traceback(run_srcprov(r.path, "record", "--trace", str(f), d, check=True, timeout=60))
    assert [w for w in warnings_of(proc) if "over 1,000,000 lines" in w]
    assert "attribution" not in provenance(r, d)[0]


def test_a_line_number_of_thousands_of_digits_is_malformed_not_a_traceback(tmp_path, keys):
    """Before: int() of a 5000-digit range end raised Python's ValueError (int max str digits), uncaught:
    the record (and a post-commit hook) ended in a traceback."""
    r = make_repo(tmp_path / "r", keys)
    c = commit_files(r, {"app.py": 4})
    add_note(r, "ai", c, git_ai_log({"app.py": [(SESSION, "1-" + "9" * 5000)]}).encode())
    proc = no_traceback(r.srcprov("record", c))
    assert [w for w in warnings_of(proc) if "malformed" in w and "bad line range" in w]
    assert "attribution" not in provenance(r, c)[0]


# --- paths -------------------------------------------------------------------------------------------------------
def test_a_path_with_a_nul_claims_no_files_lines(tmp_path, keys):
    """Before: pygit2 cuts a path at NUL, so `app.py\\u0000x` counted as app.py at record time: a trace could
    sign "human" counts (no AI, no ai_reviews) for lines the report then never maps to them."""
    r = make_repo(tmp_path / "r", keys)
    c = commit_files(r, {"app.py": 5})
    f = tmp_path / "trace.json"
    f.write_bytes(trace(c, [("app.py\0x", [(1, 5, "human")]), ("app.py\0y", [(1, 5, "human")])]))
    proc = no_traceback(r.srcprov("record", "--trace", str(f), c))
    assert [w for w in warnings_of(proc) if "malformed" in w and "NUL" in w]
    assert "attribution" not in provenance(r, c)[0]
    with pytest.raises(EvidenceError, match="no file's"):
        parse_agent_trace(trace(None, [("", [(1, 1, "ai")])]))
    with pytest.raises(EvidenceError, match="no file's"):
        parse_git_ai(git_ai_log({"a\0b": [(SESSION, "1")]}).encode())


def test_odd_paths_and_a_rename_map_each_line_by_its_own_files_evidence(tmp_path, keys):
    """Spaces, a double quote, a newline, non-ASCII (git quotes it in octal), a name that is not UTF-8 (no
    evidence can name it: its lines are untracked), then a rename: every line keeps its original file's kind."""
    r = make_repo(tmp_path / "r", keys)
    names = {"a b.py": 4, 'q"uote.py': 4, "new\nline.py": 4, "é.py": 4, b"\xff.py": 4, "plain.py": 4}
    c1 = commit_files(r, names)
    f = tmp_path / "trace.json"
    # Each file's evidence differs, so a line mapped through the wrong path shows.
    f.write_bytes(trace(c1, [("a b.py", [(1, 4, "ai")]), ('q"uote.py', [(1, 2, "human"), (3, 4, "ai")]),
                             ("new\nline.py", [(1, 1, "mixed")]), ("é.py", [(2, 3, "human")]),
                             ("\xff.py", [(1, 4, "ai")]),  # U+00FF: UTF-8 c3 bf, not the file's ff
                             ("plain.py", [(1, 4, "human")])]))
    no_traceback(r.srcprov("record", "--trace", str(f), c1))
    assert provenance(r, c1)[0]["attribution"]["lines"] == {"ai": 6, "human": 8, "mixed": 1, "unknown": 9}
    (r.path / "renamed dir").mkdir()
    r.git("mv", "a b.py", "renamed dir/c d.py")
    r.git("mv", "plain.py", 'renamed dir/"q.py')
    r.git("commit", "-qm", "human renames")  # recorded by the hook: human, no evidence
    doc, _ = report(r)
    paths = {f["path"]: f["origin"] for f in doc["files"]}
    assert paths["renamed dir/c d.py"] == {"ai": 4}
    assert paths['q"uote.py'] == {"human": 2, "ai": 2}
    assert paths["new\nline.py"] == {"mixed": 1, "unknown": 3}
    assert paths["é.py"] == {"human": 2, "unknown": 2}
    assert paths['renamed dir/"q.py'] == {"human": 4}
    odd = [p for p in paths if p.endswith(".py") and p not in ("renamed dir/c d.py", 'q"uote.py', "new\nline.py",
                                                                "é.py", 'renamed dir/"q.py')]
    assert len(odd) == 1, paths
    odd = odd[0]
    assert paths[odd] == {"unknown": 4}  # not UTF-8: the latin-1 "ÿ.py" of the trace is another name
    assert doc["originEvidence"] == {"commits": 1, "unusable": []}


# --- one commit's evidence for another ---------------------------------------------------------------------
def test_signed_evidence_moved_to_another_commit_is_changed_there(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    a = commit_files(r, {"a.py": 4})
    log_a = git_ai_log({"a.py": [(SESSION, "1-4")], "b.py": [(HUMAN, "1-4")]}).encode()
    add_note(r, "ai", a, log_a)
    r.srcprov("record", a)
    b = commit_files(r, {"b.py": 4}, "b\n\nProvenance-Origin: ai-generated")
    add_note(r, "ai", b, git_ai_log({"b.py": [(SESSION, "1-4")]}).encode())
    r.srcprov("record", b)
    add_note(r, "ai", b, log_a, force=True)  # A's signed log (which calls b.py human) now sits on B
    doc, err = report(r)
    assert file_origin(doc, "a.py") == {"ai": 4}
    assert file_origin(doc, "b.py") == {"ai-generated": 4}  # B's claims.origin, never A's ranges
    assert doc["originEvidence"] == {"commits": 1, "unusable": [{"commit": b, "reason": "changed"}]}
    assert "no longer hashes" in err


def test_an_agent_trace_about_another_commit_is_not_this_commits_evidence(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    a = commit_files(r, {"a.py": 4})
    b = commit_files(r, {"b.py": 4})
    add_note(r, "agent-trace", b, trace(a, [("b.py", [(1, 4, "human")])]))  # pushed for B, about A
    proc = no_traceback(r.srcprov("record", b))
    assert [w for w in warnings_of(proc) if "malformed" in w and a[:12] in w]
    assert "attribution" not in provenance(r, b)[0]
    # And --trace about A given for B: not signed, not kept.
    c = commit_files(r, {"c.py": 2})
    f = tmp_path / "t.json"
    f.write_bytes(trace(a, [("c.py", [(1, 2, "human")])]))
    no_traceback(r.srcprov("record", "--trace", str(f), c))
    assert "attribution" not in provenance(r, c)[0]
    assert r.git("notes", "--ref", "agent-trace", "list", c, check=False).returncode != 0


def test_fanned_out_signed_note_beside_a_flat_forgery(tmp_path, keys):
    """The note is read where git-ai may have put it (a fan-out path): signed there, used there. A flat
    entry pushed beside it makes the commit's note ambiguous: neither is used (the lines count by the
    record's claims.origin), and a record made now signs no evidence."""
    r = make_repo(tmp_path / "r", keys)
    c = commit_files(r, {"app.py": 4})
    signed = git_ai_log({"app.py": [(SESSION, "1-4")]}).encode()
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=r.path, input=signed, capture_output=True,
                          check=True).stdout.decode().strip()
    inner = r.git("mktree", input=f"100644 blob {blob}\t{c[2:]}\n").stdout.strip()
    outer = r.git("mktree", input=f"040000 tree {inner}\t{c[:2]}\n").stdout.strip()
    r.git("update-ref", "refs/notes/ai", r.git("commit-tree", outer, "-m", "fan-out").stdout.strip())
    r.srcprov("record", c)
    assert provenance(r, c)[0]["attribution"]["sha256"] == hashlib.sha256(signed).hexdigest()
    doc, _ = report(r)
    assert file_origin(doc, "app.py") == {"ai": 4}
    forged = git_ai_log({"app.py": [(HUMAN, "1-4")]}).encode()
    fblob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=r.path, input=forged, capture_output=True,
                           check=True).stdout.decode().strip()
    both = r.git("mktree", input=f"040000 tree {inner}\t{c[:2]}\n100644 blob {fblob}\t{c}\n").stdout.strip()
    r.git("update-ref", "refs/notes/ai", r.git("commit-tree", both, "-p", "refs/notes/ai", "-m", "flat").stdout.strip())
    doc, _ = report(r)
    assert file_origin(doc, "app.py") == {"ai-assisted": 4}
    assert doc["originEvidence"]["unusable"] == [{"commit": c, "reason": "changed"}]
    proc = r.srcprov("record", "--force", c)
    assert "ambiguous note" in proc.stderr
    assert sum("attribution" in p for p in provenance(r, c)) == 1  # only the first record has it


# --- records: odd attribution, forged ones, ai_reviews ------------------------------------------------------
@pytest.mark.parametrize("edit, shown", [
    (lambda a: a.update(sha256=a["sha256"].upper()), "changed since it was signed"),
    (lambda a: a.update(format="git-ai/authorship/9.9.9"), "cannot be read"),
])
def test_a_trusted_record_with_an_uppercase_digest_or_unknown_format(tmp_path, keys, edit, shown):
    """Signed by a trusted key (an older or other srcprov): the evidence is not mapped (the lines count by
    claims.origin), show says why without a traceback, and its AI line counts still bring ai_reviews."""
    r = make_repo(tmp_path / "r", keys)
    require_ai_reviews(r)
    c = commit_files(r, {"app.py": 4})
    add_note(r, "ai", c, git_ai_log({"app.py": [(SESSION, "1-2"), (HUMAN, "3-4")]}).encode())
    r.srcprov("record", c)
    resign(r, c, lambda st: edit(st["predicate"]["attribution"]))
    assert status_of(r, c) == "unreviewed"
    doc, _ = report(r)
    assert file_origin(doc, "app.py") == {"ai-assisted": 4}
    assert doc["originEvidence"] == {"commits": 0, "unusable": []}
    text = no_traceback(r.srcprov("show", c)).stdout
    assert "2 ai, 2 human" in text and shown in text


def test_a_forged_record_cannot_lend_its_evidence_or_unsay_ai(tmp_path, keys):
    """Mallory (no key in the policy) adds a record binding her own log that calls every line human, and
    an unsigned one: the report keeps the verified record's word, ai_reviews still applies, and show does
    not read her log (nor print the tools it names)."""
    r = make_repo(tmp_path / "r", keys)
    require_ai_reviews(r)
    c = commit_files(r, {"app.py": 4}, "ai work\n\nProvenance-Origin: ai-generated")
    r.srcprov("record", c)  # no evidence: claims.origin ai-generated
    evil = git_ai_log({"app.py": [(HUMAN, "1-4")]}, {**META, "sessions": {"s_c9883b05a2487d": {
        "agent_id": {"tool": "evil\x1b]0;owned\x07", "id": "c", "model": "m"}}}}).encode()
    add_note(r, "ai", c, evil)
    line = r.note(c).strip()
    st = forge.decode(line)[2]
    st["predicate"]["claims"]["origin"] = "human"
    st["predicate"]["attribution"] = {"format": "git-ai/authorship/3.0.0", "source": "refs/notes/ai",
                                      "sha256": hashlib.sha256(evil).hexdigest(),
                                      "lines": {"ai": 0, "human": 4, "mixed": 0, "unknown": 0}}
    body = json.dumps(st, separators=(",", ":"), sort_keys=True).encode()
    forged = forge.envelope(body, [(keys.mallory, forge.detached(keys.home, keys.mallory, forge.pae(body)))])
    unsigned = forge.envelope(body, [])
    r.set_note(c, "\n".join(sorted([line, forged.decode(), unsigned.decode()])) + "\n")
    assert status_of(r, c) == "unreviewed"
    doc, _ = report(r)
    assert file_origin(doc, "app.py") == {"ai-generated": 4}
    assert doc["originEvidence"] == {"commits": 0, "unusable": []}
    text = no_traceback(r.srcprov("show", c)).stdout
    assert "evidence not checked: the record is not verified" in text
    assert "matches its signed digest" not in text and "\x1b" not in text
    assert "evidence" not in json.loads(r.srcprov("show", "--json", c).stdout)


def test_removing_or_rewriting_the_evidence_after_recording_does_not_lift_ai_reviews(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    require_ai_reviews(r)
    c = commit_files(r, {"app.py": 4}, "work\n\nProvenance-Origin: human")
    add_note(r, "ai", c, git_ai_log({"app.py": [(SESSION, "1")]}).encode())
    r.srcprov("record", c)
    assert status_of(r, c) == "unreviewed"
    add_note(r, "ai", c, git_ai_log({"app.py": [(HUMAN, "1-4")]}).encode(), force=True)
    assert status_of(r, c) == "unreviewed"
    r.git("notes", "--ref", "ai", "remove", c)
    assert status_of(r, c) == "unreviewed"
    doc, _ = report(r)
    assert file_origin(doc, "app.py") == {"human": 4}  # the trailer: evidence gone, claims.origin counts


def test_a_tool_name_with_control_characters_never_reaches_the_terminal(tmp_path, keys):
    """Before: `show` printed the tool names of verified evidence as they were, escape sequences included."""
    r = make_repo(tmp_path / "r", keys)
    c = commit_files(r, {"app.py": 2})
    f = tmp_path / "t.json"
    f.write_bytes(trace(c, [("app.py", [(1, 2, "ai")])], tool="agent\x1b[2J\x1b]0;pwned\x07"))
    r.srcprov("record", "--trace", str(f), c)
    text = no_traceback(r.srcprov("show", c)).stdout
    assert "evidence matches its signed digest" in text and "\x1b" not in text and "\x07" not in text


# --- the report cache's blame entries ----------------------------------------------------------------------------
def _reseal(body: bytes) -> bytes:
    return body + b"#sha256 " + hashlib.sha256(body).hexdigest().encode() + b"\n"


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda cid, rest: rest.replace(cid, "z" * len(cid), 1), id="commit-not-hex"),
    pytest.param(lambda cid, rest: rest.replace(f"{cid} 1 1 ", f"{cid} 0 1 ", 1), id="line-zero"),
    pytest.param(lambda cid, rest: rest + rest.splitlines(keepends=True)[-1], id="overlap"),
    pytest.param(lambda cid, rest: "".join(rest.splitlines(keepends=True)[1:]), id="gap"),
    pytest.param(lambda cid, rest: rest.replace(f"{cid} 1 1 ", f"{cid} +1 1 ", 1), id="signed-number"),
])
def test_report_cache_entries_that_fail_a_check_are_recomputed(tmp_path, keys, mutate):
    """A blame-entries file rewritten and sealed again (its checksum is no secret) but not well-formed is a
    miss: the report is the same. Before: a commit id that was not hex passed and the report crashed
    (KeyError) looking up its facts."""
    r = make_repo(tmp_path / "r", keys)
    c = commit_files(r, {"app.py": 6})
    add_note(r, "ai", c, git_ai_log({"app.py": [(SESSION, "1-3"), (HUMAN, "4-5")]}).encode())
    r.srcprov("record", c)
    commit_files(r, {"other.py": 1}, hook=True)
    first, _ = report(r, "--as-of", "2030-01-01")
    (entry,) = [p for p in (r.path / ".git").rglob("*") if p.is_file() and "entries" in p.parts]
    data = entry.read_bytes()
    body = data[: data.rindex(b"#sha256 ")]
    header, _, rest = body.decode().partition("\n")
    mutated = mutate(c, rest)
    assert mutated != rest
    entry.write_bytes(_reseal((header + "\n" + mutated).encode()))
    again, _ = report(r, "--as-of", "2030-01-01")
    assert again == first and file_origin(again, "app.py") == {"ai": 3, "human": 2, "unknown": 1}
