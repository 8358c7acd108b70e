"""Line-level AI origin: git-ai authorship logs and Agent Trace records, read at record time, signed as
`attribution`, and put under policy (`ai_reviews`)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time

import pytest

from srcprov.model.evidence import EvidenceError, parse_agent_trace, parse_git_ai
from testing.repos import make_repo

# The Git AI Standard v3.0.0's own examples, shaped as the standard writes them.
SESSIONS = b"""src/main.rs
  s_c9883b05a2487d::t_9f8e7d6c5b4a32 1-10,15-20
  s_c9883b05a2487d::t_a1b2c3d4e5f678 25,30-35
  h_31dce776f88375 42-50
src/lib.rs
  s_e7f2a90b31cc48::t_deadbeef012345 1-50
---
{"schema_version": "authorship/3.0.0", "git_ai_version": "1.4.5",
 "base_commit_sha": "7734793b756b3921c88db5375a8c156e9532447b", "prompts": {},
 "humans": {"h_31dce776f88375": {"author": "Developer <dev@example.com>"}},
 "sessions": {"s_c9883b05a2487d": {"agent_id": {"tool": "cursor", "id": "x", "model": "m"}},
              "s_e7f2a90b31cc48": {"agent_id": {"tool": "claude", "id": "y", "model": "m"}}}}
"""

LEGACY = b"""src/main.rs
  abcd1234abcd1234 1-10,15-20
"quoted dir/a file.rs"
  abcd1234abcd1234 3
---
{"schema_version": "authorship/3.0.0", "base_commit_sha": "7734793b756b3921c88db5375a8c156e9532447b",
 "prompts": {"abcd1234abcd1234": {"agent_id": {"tool": "cursor", "id": "x", "model": "m"}, "total_additions": 1,
             "total_deletions": 0, "accepted_lines": 1, "overriden_lines": 0}}}
"""


def test_git_ai_sessions_humans_and_untracked_lines():
    ev = parse_git_ai(SESSIONS)
    assert ev.counts() == {"ai": 10 + 6 + 1 + 6 + 50, "human": 9, "mixed": 0, "unknown": 0}
    assert ev.kind_of("src/main.rs", 1) == "ai" and ev.kind_of("src/main.rs", 42) == "human"
    assert ev.kind_of("src/main.rs", 11) is None  # untracked: no key covers it
    # Lines past the file's end (as the commit has it) are not counted.
    assert ev.counts({"src/main.rs": 20, "src/lib.rs": 5})["ai"] == 10 + 6 + 5


def test_git_ai_legacy_keys_and_quoted_paths():
    ev = parse_git_ai(LEGACY)
    assert ev.kind_of("quoted dir/a file.rs", 3) == "ai"
    assert ev.counts()["ai"] == 17


@pytest.mark.parametrize("mutate, why", [
    (lambda b: b.replace(b"\n---\n", b"\n--- \n"), "no --- line"),
    (lambda b: b.replace(b"authorship/3.0.0", b"authorship/2.0.0"), "not an authorship/3.0.0"),
    (lambda b: b.replace(b"1-10,15-20", b"15-20,1-10"), "not ascending"),
    (lambda b: b.replace(b"1-10,15-20", b"10-1"), "not ascending"),
    (lambda b: b.replace(b"1-10,15-20", b"0-3"), "bad line range"),
    (lambda b: b.replace(b"h_31dce776f88375 42", b"h_0000000000000a 42"), "no entry in metadata humans"),
    (lambda b: b.replace(b"  s_e7f2a90b31cc48", b"   s_e7f2a90b31cc48"), "indented by two spaces"),
    (lambda b: b.replace(b"src/lib.rs\n", b"src/my lib.rs\n"), "not quoted"),
    (lambda b: b.replace(b'"prompts": {}', b'"prompts": {}, "prompts": {}'), "duplicate JSON key"),
    (lambda b: b.replace(b"s_c9883b05a2487d::t_9f8e7d6c5b4a32", b"s_c9883b05a2487d"), "unknown attestation key"),
    (lambda b: b"\xff" + b, "not UTF-8"),
])
def test_git_ai_malformed_is_refused_not_half_read(mutate, why):
    with pytest.raises(EvidenceError, match=why):
        parse_git_ai(mutate(SESSIONS))


def trace_record(revision: str, ranges: list[tuple[int, int, str]], path: str = "app.py") -> bytes:
    return json.dumps({
        "version": "0.1", "id": "8f5c3d6a-4f95-4fa9-8d11-2d54f12e6f01", "timestamp": "2026-11-25T10:00:00Z",
        "vcs": {"type": "git", "revision": revision}, "tool": {"name": "agent", "version": "1"},
        "files": [{"path": path, "conversations": [
            {"contributor": {"type": "ai", "model_id": "anthropic/claude"},
             "ranges": [{"start_line": s, "end_line": e, **({"contributor": {"type": k}} if k != "ai" else {})}
                        for s, e, k in ranges]}]}],
    }).encode()


def test_agent_trace_contributors_and_revision():
    ev = parse_agent_trace(trace_record("a" * 40, [(1, 4, "ai"), (5, 6, "human"), (3, 3, "human")]), "a" * 40)
    assert ev.counts() == {"ai": 3, "human": 2, "mixed": 1, "unknown": 0}  # line 3: both claimed it
    with pytest.raises(EvidenceError, match="not " + "b" * 12):
        parse_agent_trace(trace_record("a" * 40, [(1, 2, "ai")]), "b" * 40)
    with pytest.raises(EvidenceError, match="version"):
        parse_agent_trace(trace_record("a" * 40, [(1, 2, "ai")]).replace(b'"0.1"', b'"2.0"'))


# --- at record time, in a real repository -----------------------------------------------------------
def statement(repo, rev="HEAD"):
    for line in repo.note(rev).splitlines():
        st = json.loads(base64.b64decode(json.loads(line)["payload"]))
        if st["predicateType"].endswith("commit-provenance:v1"):
            return st
    raise AssertionError("no commit-provenance record")


def git_ai_log(path: str, ai: str, human: str | None = None) -> str:
    lines = [path, f"  s_c9883b05a2487d::t_9f8e7d6c5b4a32 {ai}"]
    if human:
        lines.append(f"  h_31dce776f88375 {human}")
    meta = {"schema_version": "authorship/3.0.0", "base_commit_sha": "0" * 40, "prompts": {},
            "humans": {"h_31dce776f88375": {"author": "Alice <alice@example.com>"}},
            "sessions": {"s_c9883b05a2487d": {"agent_id": {"tool": "claude", "id": "c", "model": "m"}}}}
    return "\n".join(lines) + "\n---\n" + json.dumps(meta, indent=2) + "\n"


def commit_lines(repo, path: str, n: int, message: str = "work") -> str:
    (repo.path / path).write_text("".join(f"line {i}\n" for i in range(n)))
    repo.git("add", path)
    repo.git("commit", "-q", "-m", message, env={**os.environ, "SRCPROV_SKIP": "1"})
    return repo.git("rev-parse", "HEAD").stdout.strip()


def test_git_ai_log_is_signed_as_attribution_and_makes_the_commit_ai_assisted(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    c = commit_lines(r, "app.py", 10)
    r.git("notes", "--ref", "ai", "add", "-m", git_ai_log("app.py", "1-6", "7-8").rstrip("\n"), c)
    note_bytes = r.git("cat-file", "blob", f"refs/notes/ai:{c}").stdout.encode()
    r.srcprov("record", c)
    pred = statement(r, c)["predicate"]
    assert pred["attribution"] == {"format": "git-ai/authorship/3.0.0", "source": "refs/notes/ai",
                                   "sha256": hashlib.sha256(note_bytes).hexdigest(),
                                   "lines": {"ai": 6, "human": 2, "mixed": 0, "unknown": 2}}
    assert pred["claims"]["origin"] == "ai-assisted"
    shown = json.loads(r.srcprov("show", "--json", c).stdout)
    assert shown["status"] == "verified"


def test_origin_trailer_wins_over_evidence(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    c = commit_lines(r, "app.py", 4, "vendored\n\nProvenance-Origin: vendored")
    r.git("notes", "--ref", "ai", "add", "-m", git_ai_log("app.py", "1-4").rstrip("\n"), c)
    r.srcprov("record", c)
    pred = statement(r, c)["predicate"]
    assert pred["claims"]["origin"] == "vendored" and pred["attribution"]["lines"]["ai"] == 4


def test_malformed_evidence_warns_once_and_the_record_is_still_written(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    c = commit_lines(r, "app.py", 4)
    r.git("notes", "--ref", "ai", "add", "-m", "app.py\n  s_zz 1-4\n---\n{}", c)
    proc = r.srcprov("record", c)
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("srcprov: warning:")]
    assert len(warnings) == 1 and "malformed" in warnings[0] and "refs/notes/ai" in warnings[0]
    pred = statement(r, c)["predicate"]
    assert "attribution" not in pred and pred["claims"]["origin"] == "human"


def test_record_trace_file(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    c = commit_lines(r, "app.py", 5)
    f = tmp_path / "trace.json"
    f.write_bytes(trace_record(c, [(1, 3, "ai")]))
    r.srcprov("record", "--trace", str(f), c)
    pred = statement(r, c)["predicate"]
    assert pred["attribution"]["format"] == "agent-trace/0.1"
    assert pred["attribution"]["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
    assert pred["attribution"]["lines"] == {"ai": 3, "human": 0, "mixed": 0, "unknown": 2}
    # A trace about another commit is not this commit's evidence.
    c2 = commit_lines(r, "b.py", 2)
    f.write_bytes(trace_record(c, [(1, 2, "ai")], "b.py"))
    proc = r.srcprov("record", "--trace", str(f), c2)
    assert "malformed" in proc.stderr and "attribution" not in statement(r, c2)["predicate"]


def test_ai_reviews_apply_to_commits_with_ai_lines(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    r.add_signer(keys.bob, roles=("reviewer",))
    text = (r.path / ".srcprov" / "policy.toml").read_text().replace("reviews = 0\n", "reviews = 0\nai_reviews = 1\n")
    (r.path / ".srcprov" / "policy.toml").write_text(text)
    r.git("commit", "-qam", "ai_reviews = 1")
    human = commit_lines(r, "h.py", 3)
    r.srcprov("record", human)
    ai = commit_lines(r, "a.py", 3, "ai work\n\nProvenance-Origin: human")  # the trailer says human, the lines say AI
    r.git("notes", "--ref", "ai", "add", "-m", git_ai_log("a.py", "1-3").rstrip("\n"), ai)
    r.srcprov("record", ai)
    status = {c["commit"]: c["status"] for c in json.loads(r.srcprov("verify", "--json", human, ai, check=1).stdout)["commits"]}
    assert status == {human: "verified", ai: "unreviewed"}
    r.git("config", "srcprov.signingKey", keys.bob)
    r.git("config", "user.email", "bob@example.com")
    r.srcprov("review", ai)
    assert json.loads(r.srcprov("verify", "--json", ai).stdout)["commits"][0]["status"] == "verified"


def test_background_worker_waits_for_git_ai_written_after_the_commit(tmp_path, keys):
    """git-ai writes its log in its own post-commit hook, possibly after srcprov's worker started: the
    worker gives it a bounded moment, so the record still carries the attribution."""
    r = make_repo(tmp_path / "r", keys, mode="background")
    first = commit_lines(r, "seed.py", 1)
    r.git("notes", "--ref", "ai", "add", "-m", git_ai_log("seed.py", "1").rstrip("\n"), first)  # git-ai in use
    (r.path / "app.py").write_text("a\nb\nc\n")
    r.git("add", "app.py")
    r.git("commit", "-q", "-m", "with the worker")
    c = r.git("rev-parse", "HEAD").stdout.strip()
    time.sleep(0.5)  # git-ai's hook runs after ours
    r.git("notes", "--ref", "ai", "add", "-m", git_ai_log("app.py", "1-3").rstrip("\n"), c)
    r.wait_records()
    assert statement(r, c)["predicate"]["attribution"]["lines"]["ai"] == 3


def test_an_entry_queued_after_the_worker_began_gets_its_own_evidence_wait(tmp_path, keys):
    """A worker that drains a second batch (commits queued while it waited or signed) gives each of them
    srcprov.evidenceWait from when it was queued, not nothing (bench/hooks --git-ai found records without
    attribution in quick succession)."""
    import threading

    from srcprov.git import Repo
    from srcprov.recording.evidence import note_blob
    from srcprov.recording.queue import enqueue, pending
    from srcprov.recording.worker import await_evidence

    r = make_repo(tmp_path / "r", keys)
    first = commit_lines(r, "seed.py", 1)
    r.git("notes", "--ref", "ai", "add", "-m", git_ai_log("seed.py", "1").rstrip("\n"), first)  # git-ai in use
    c = commit_lines(r, "app.py", 3)
    repo = Repo(r.path)
    enqueue(repo, c, "post-commit")
    late = threading.Timer(0.3, lambda: r.git("notes", "--ref", "ai", "add", "-m", git_ai_log("app.py", "1-3").rstrip("\n"), c))
    late.start()
    try:
        await_evidence(repo, pending(repo), 3.0, since=time.time() - 60)  # the worker began long ago
        waited = note_blob(Repo(r.path), "refs/notes/ai", c) is not None
    finally:
        late.join()
    assert waited
