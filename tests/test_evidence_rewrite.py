"""A rewrite (amend, rebase) carries line-level evidence only the way git-ai's own rewrite rules carry it:
the new commit's record binds the log git-ai attached to the new commit, or has no `attribution` — a range
of the old commit is never signed for the new one."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat

from testing.repos import make_repo

SKIP = {**os.environ, "SRCPROV_SKIP": "1"}

# What git-ai's post-rewrite hook does, reduced to its rule for an amend: the old commit's log moves to
# the new commit (here copied as it is; git-ai also shifts ranges for the amended lines).
GIT_AI_POST_REWRITE = """#!/bin/sh
while read old new rest; do
  git notes --ref=ai copy "$old" "$new" 2>/dev/null || true
done
"""


def log(path: str, ai: str) -> str:
    meta = {"schema_version": "authorship/3.0.0", "base_commit_sha": "0" * 40, "prompts": {}, "humans": {},
            "sessions": {"s_c9883b05a2487d": {"agent_id": {"tool": "claude", "id": "c", "model": "m"}}}}
    return f"{path}\n  s_c9883b05a2487d::t_9f8e7d6c5b4a32 {ai}\n---\n{json.dumps(meta)}"


def provenance(repo, rev: str) -> list[dict]:
    out = []
    for line in repo.note(rev).splitlines():
        st = json.loads(base64.b64decode(json.loads(line)["payload"]))
        if st["predicateType"].endswith("commit-provenance:v1"):
            out.append(st["predicate"])
    return out


def ai_commit(r) -> str:
    (r.path / "app.py").write_text("".join(f"a {i}\n" for i in range(6)))
    r.git("add", "app.py")
    r.git("commit", "-qm", "ai work", env=SKIP)
    c = r.head()
    r.git("notes", "--ref", "ai", "add", "-m", log("app.py", "1-6"), c)
    r.srcprov("record", c)
    assert provenance(r, c)[0]["attribution"]["lines"]["ai"] == 6
    return c


def test_amend_without_git_ai_leaves_attribution_out(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    old = ai_commit(r)
    (r.path / "app.py").write_text("human\n" + (r.path / "app.py").read_text())
    r.git("commit", "-qa", "--amend", "-m", "ai work, amended")
    new = r.head()
    recs = provenance(r, new)
    assert recs and all("attribution" not in p for p in recs)
    assert any(link["commit"] == old for p in recs for link in p.get("rewrittenFrom", []))
    assert all(p["claims"]["origin"] == "human" for p in recs)  # no trailer, and no evidence for the new commit


def test_amend_with_git_ai_rewrite_rules_binds_the_log_git_ai_moved(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, hooks=False)
    hook = r.path / ".git" / "hooks" / "post-rewrite"
    hook.write_text(GIT_AI_POST_REWRITE)
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    r.srcprov("install")  # chains git-ai's hook: it runs first
    ai_commit(r)
    r.git("commit", "-q", "--amend", "-m", "ai work, reworded")
    new = r.head()
    moved = r.git("cat-file", "blob", f"refs/notes/ai:{new}").stdout.encode()
    rewritten = [p for p in provenance(r, new) if p["recorder"]["trigger"] == "post-rewrite"]
    assert len(rewritten) == 1
    assert rewritten[0]["attribution"]["sha256"] == hashlib.sha256(moved).hexdigest()
    assert rewritten[0]["attribution"]["lines"]["ai"] == 6
    assert rewritten[0]["claims"]["origin"] == "ai-assisted"
    # Beside the amend's post-commit record (made before git-ai moved its log), the record that binds the
    # evidence decides: the report maps the lines by it.
    doc = json.loads(r.srcprov("report", "--format", "json").stdout)
    assert next(f["origin"] for f in doc["files"] if f["path"] == "app.py") == {"ai": 6}


def test_a_second_record_cannot_unsay_ai_lines(tmp_path, keys):
    """ai_reviews: a commit any verified record says has AI lines needs the AI reviews, whatever another
    verified record of it (a forced re-record without the evidence) says."""
    r = make_repo(tmp_path / "r", keys)
    text = (r.path / ".srcprov" / "policy.toml").read_text().replace("reviews = 0\n", "reviews = 0\nai_reviews = 1\n")
    (r.path / ".srcprov" / "policy.toml").write_text(text)
    r.git("commit", "-qam", "ai_reviews = 1")
    c = ai_commit(r)
    r.git("notes", "--ref", "ai", "remove", c)
    r.srcprov("record", "--force", c)  # a second record, human, no attribution
    assert [("attribution" in p) for p in provenance(r, c)].count(False) == 1
    got = json.loads(r.srcprov("verify", "--json", c, check=1).stdout)["commits"][0]
    assert got["status"] == "unreviewed"


def trace(revision: str | None) -> bytes:
    doc = {"version": "0.1", "id": "8f5c3d6a-4f95-4fa9-8d11-2d54f12e6f01", "timestamp": "2026-11-25T10:00:00Z",
           "files": [{"path": "app.py", "conversations": [{"contributor": {"type": "ai"},
                                                           "ranges": [{"start_line": 1, "end_line": 6}]}]}]}
    if revision:
        doc["vcs"] = {"type": "git", "revision": revision}
    return json.dumps(doc).encode()


def test_a_trace_git_copied_onto_the_amended_commit_is_not_its_evidence(tmp_path, keys):
    """notes.rewriteRef copies refs/notes/agent-trace onto the new commit on an amend: the copy names the
    old commit, and a trace on that ref that names no commit could be any commit's: neither is signed."""
    r = make_repo(tmp_path / "r", keys)
    r.git("config", "notes.rewriteRef", "refs/notes/agent-trace")
    (r.path / "app.py").write_text("".join(f"a {i}\n" for i in range(6)))
    r.git("add", "app.py")
    r.git("commit", "-qm", "agent work", env=SKIP)
    old = r.head()
    f = tmp_path / "trace.json"
    f.write_bytes(trace(old))
    r.srcprov("record", "--trace", str(f), old)
    assert provenance(r, old)[0]["attribution"]["lines"]["ai"] == 6
    r.git("commit", "-q", "--amend", "-m", "agent work, reworded")
    new = r.head()
    assert r.git("cat-file", "blob", f"refs/notes/agent-trace:{new}").stdout.encode() == trace(old)  # git copied it
    assert all("attribution" not in p for p in provenance(r, new))
    # A trace naming no revision, pushed for a commit, is not taken either (one given with --trace may be).
    (r.path / "app.py").write_text("b\n")
    r.git("commit", "-qam", "more", env=SKIP)
    c = r.head()
    r.git("notes", "--ref", "agent-trace", "add", "-F", "-", c, input=trace(None).decode())
    proc = r.srcprov("record", c)
    assert "names no vcs.revision" in proc.stderr and "attribution" not in provenance(r, c)[0]
    f.write_bytes(trace(None))
    r.srcprov("record", "--force", "--trace", str(f), c)
    assert any(p.get("attribution", {}).get("lines", {}).get("ai") == 1 for p in provenance(r, c))


def test_show_escapes_what_a_signer_wrote(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    c = r.commit()
    r.git("config", "srcprov.signingKey", keys.bob)
    r.srcprov("review", c, "--comment", "fine\x1b[2J\x1b]0;pwned\x07")
    text = r.srcprov("show", c).stdout
    assert "\x1b" not in text and "\x07" not in text
    assert "fine\\x1b[2J\\x1b]0;pwned\\x07" in text
