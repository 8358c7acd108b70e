"""verify end to end: removed records under --strict, the text output, --all without the stash."""

from __future__ import annotations

import hashlib
import json
import os

REF = "refs/notes/srcprov"


def _sha(line: str) -> str:
    return hashlib.sha256(line.encode()).hexdigest()


def _two_records(repo) -> tuple[str, str, str]:
    """A commit whose note holds two commit-provenance records: (commit, first line, second line)."""
    c = repo.commit()
    (first,) = repo.note(c).splitlines()
    repo.srcprov("record", "--force", c)
    (second,) = [ln for ln in repo.note(c).splitlines() if ln != first]
    return c, first, second


def test_strict_reports_a_record_git_notes_removed(repo):
    c, first, second = _two_records(repo)
    repo.set_note(c, second + "\n")  # `git notes add -f`: one record gone
    remover = repo.git("rev-parse", REF).stdout.strip()
    # Without --strict the history is not walked and the commit still verifies.
    plain = json.loads(repo.srcprov("verify", "--json", c).stdout)
    assert plain["ok"] and "removed" not in plain
    proc = repo.srcprov("verify", "--json", "--strict", c, check=1)
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["commits"][0]["status"] == "verified"
    assert doc["removed"] == [{"commit": c, "record": {"sha256": _sha(first)}, "removedBy": remover}]
    text = repo.srcprov("verify", "--strict", c, check=1).stdout
    assert f"record {_sha(first)[:12]} was removed from its note by notes commit {remover[:12]}" in text
    assert "1 record(s) removed" in text.splitlines()[-1]
    # Only the commits being verified are looked at.
    other = repo.commit()
    assert json.loads(repo.srcprov("verify", "--json", "--strict", other).stdout)["removed"] == []
    # Put back, it is no longer removed.
    repo.set_note(c, first + "\n" + second + "\n")
    assert json.loads(repo.srcprov("verify", "--json", "--strict", c).stdout)["removed"] == []


def test_strict_names_the_commit_that_removed_it_on_a_merged_notes_branch(repo):
    c, first, second = _two_records(repo)
    repo.git("update-ref", "refs/notes/side", REF)
    repo.git("notes", "--ref", "refs/notes/side", "add", "-f", "-m", second, c)
    remover = repo.git("rev-parse", "refs/notes/side").stdout.strip()
    repo.commit()  # the local notes ref moves on: the merge below is a real merge
    repo.git("notes", "--ref", REF, "merge", "-q", "refs/notes/side")
    merge = repo.git("rev-parse", REF).stdout.strip()
    assert len(repo.git("rev-list", "--parents", "-n1", merge).stdout.split()) == 3
    assert first not in repo.note(c)
    doc = json.loads(repo.srcprov("verify", "--json", "--strict", c, check=1).stdout)
    assert doc["removed"] == [{"commit": c, "record": {"sha256": _sha(first)}, "removedBy": remover}]


def test_text_output_lists_at_most_twenty_commits_then_a_summary(repo):
    skip = dict(os.environ, SRCPROV_SKIP="1")
    base = repo.head()
    missing = [repo.commit(env=skip) for _ in range(25)]
    recorded = repo.commit()
    proc = repo.srcprov("verify", f"{base}..HEAD", check=1)
    lines = proc.stdout.splitlines()
    assert len(lines) == 22, proc.stdout
    assert all(" missing" in ln for ln in lines[:20])
    assert lines[20] == "... and 5 more"
    assert lines[21].startswith("26 commits: 1 verified, 25 missing")
    assert recorded[:12] not in proc.stdout and missing[-1][:12] in proc.stdout
    verbose = repo.srcprov("verify", "--verbose", f"{base}..HEAD", check=1).stdout.splitlines()
    assert len(verbose) == 27 and any(ln.startswith(f"{recorded[:12]} verified") for ln in verbose)
    # Commits the policy does not require are counted apart and need no attention.
    policy = repo.path / ".srcprov" / "policy.toml"
    policy.write_text(policy.read_text().replace("[require]", f'[require]\nsince = "{recorded}"'))
    proc = repo.srcprov("verify", f"{base}..HEAD")
    assert proc.stdout.splitlines() == [f"26 commits: 1 verified, 25 not required (ok; policy: {_source(repo)})"]


def _source(repo) -> str:
    return json.loads(repo.srcprov("verify", "--json").stdout)["policy"]


def test_all_leaves_out_the_stash(repo):
    repo.commit()
    (repo.path / "file1.txt").write_text("work in progress\n")
    repo.git("stash", "-q")
    stash = repo.git("rev-parse", "refs/stash").stdout.strip()
    doc = json.loads(repo.srcprov("verify", "--all", "--json").stdout)
    ids = [c["commit"] for c in doc["commits"]]
    assert doc["ok"] and stash not in ids
    assert sorted(ids) == sorted(repo.git("rev-list", "HEAD").stdout.split())
