"""The hooks in real git flows: merge, amend, rebase squash, checks, push."""

from __future__ import annotations

import base64
import hashlib
import json
import os

from testing.repos import make_repo


def records(repo, rev="HEAD"):
    out = []
    for ln in repo.note(rev).splitlines():
        st = json.loads(base64.b64decode(json.loads(ln)["payload"]))
        out.append((ln, st))
    return out


def cp(repo, rev="HEAD", trigger=None):
    """The commit's one commit-provenance record (with TRIGGER: the one with that trigger)."""
    got = [(ln, st) for ln, st in records(repo, rev) if st["predicateType"].endswith("commit-provenance:v1")
           and trigger in (None, st["predicate"]["recorder"]["trigger"])]
    assert len(got) == 1, got
    return got[0]


def test_merge_commit_recorded_fast_forward_not(repo):
    base = repo.commit()
    repo.git("checkout", "-q", "-b", "topic")
    t = repo.commit(path="topic.txt")
    repo.git("checkout", "-q", "main")
    repo.commit(path="main.txt")
    repo.git("merge", "-q", "--no-edit", "topic")
    merge = repo.head()
    assert len(repo.git("rev-list", "--parents", "-n1", merge).stdout.split()) == 3
    _, st = cp(repo, merge)
    assert st["predicate"]["recorder"]["trigger"] == "post-merge"
    assert st["predicate"]["commit"]["parents"][1] == t
    # A fast-forward makes no commit: nothing new is recorded.
    repo.git("checkout", "-q", "-b", "ff", base)
    before = repo.git("rev-parse", "refs/notes/srcprov").stdout
    repo.git("merge", "-q", "--ff-only", "main")
    assert repo.git("rev-parse", "refs/notes/srcprov").stdout == before


def test_amend_records_rewritten_from(repo):
    old = repo.commit()
    old_line, _ = cp(repo, old)
    (repo.path / "file1.txt").write_text("changed\n")
    repo.git("commit", "-q", "-a", "--amend", "-m", "amended")
    new = repo.head()
    assert new != old
    # Notes are append-only: the post-commit record git's amend also triggers stays beside this one.
    _, st = cp(repo, new, "post-rewrite")
    pred = st["predicate"]
    assert pred["recorder"]["trigger"] == "post-rewrite"
    assert pred["rewrittenFrom"] == [{"commit": old, "record": {"sha256": hashlib.sha256(old_line.encode()).hexdigest()}}]
    assert pred["precommit"]["stagedTree"] == pred["commit"]["tree"]
    assert json.loads(repo.srcprov("verify", "--json").stdout)["ok"] is True


def test_rebase_squash_lists_all_old_commits(repo):
    base = repo.commit()
    olds = [repo.commit() for _ in range(3)]
    env = dict(os.environ, GIT_SEQUENCE_EDITOR="sed -i -e '2,$s/^pick/squash/'", GIT_EDITOR="true")
    repo.git("rebase", "-q", "-i", base, env=env)
    new = repo.head()
    assert repo.git("rev-parse", "HEAD~1").stdout.strip() == base
    _, st = cp(repo, new, "post-rewrite")
    assert st["predicate"]["recorder"]["trigger"] == "post-rewrite"
    assert [x["commit"] for x in st["predicate"]["rewrittenFrom"]] == olds
    assert all("sha256" in x["record"] for x in st["predicate"]["rewrittenFrom"])


def test_review_not_carried_over_by_amend(repo):
    c = repo.commit()
    repo.srcprov("review", c)
    assert len(records(repo, c)) == 2
    repo.git("commit", "-q", "--amend", "-m", "reworded")
    kinds = [st["predicateType"] for _, st in records(repo)]
    assert kinds and all(k.endswith("commit-provenance:v1") for k in kinds), kinds


def _add_checks(repo, body: str):
    p = repo.path / ".srcprov" / "policy.toml"
    p.write_text(p.read_text() + body)
    repo.git("add", ".srcprov")
    repo.git("commit", "-q", "-m", "checks")


def test_precommit_checks_recorded(repo):
    _add_checks(repo, '\n[[checks]]\nname = "ok"\ncommand = "test -z \\"$GIT_INDEX_FILE\\" && true"\ntimeout = "10s"\nrequired = true\n')
    c = repo.commit()
    _, st = cp(repo, c)
    checks = st["predicate"]["precommit"]["checks"]
    assert [(x["name"], x["exitCode"]) for x in checks] == [("ok", 0)]  # and no GIT_INDEX_FILE leaked into it
    assert json.loads(repo.srcprov("verify", "--json").stdout)["commits"][0]["status"] == "verified"
    # A commit made with --no-verify has no precommit: the required check is not in its record.
    repo.commit_args = None
    (repo.path / "x.txt").write_text("x\n")
    repo.git("add", "x.txt")
    repo.git("commit", "-q", "--no-verify", "-m", "skip checks")
    entry = json.loads(repo.srcprov("verify", "--json", check=1).stdout)["commits"][0]
    assert entry["status"] == "unchecked"


def test_failed_required_check_blocks_or_warns(repo):
    _add_checks(repo, '\n[[checks]]\nname = "fails"\ncommand = "exit 3"\nrequired = true\n')
    repo.git("config", "srcprov.require", "block")
    before = repo.head()
    (repo.path / "y.txt").write_text("y\n")
    repo.git("add", "y.txt")
    proc = repo.git("commit", "-q", "-m", "blocked", check=False)
    assert proc.returncode != 0 and repo.head() == before
    assert "required check 'fails' failed (exit code 3)" in proc.stderr
    repo.git("config", "srcprov.require", "warn")
    proc = repo.git("commit", "-q", "-m", "warned", check=False)
    assert proc.returncode == 0 and "warning" in proc.stderr
    _, st = cp(repo)
    assert st["predicate"]["precommit"]["checks"][0]["exitCode"] == 3
    assert json.loads(repo.srcprov("verify", "--json", check=1).stdout)["commits"][0]["status"] == "unchecked"


def test_block_without_usable_key(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    r.git("config", "srcprov.require", "block")
    r.git("config", "srcprov.signingKey", "nobody@nowhere.example")
    (r.path / "z.txt").write_text("z\n")
    r.git("add", "z.txt")
    proc = r.git("commit", "-q", "-m", "z", check=False)
    assert proc.returncode != 0
    assert "no usable signing key" in proc.stderr


def test_pre_push_flushes_queue_and_pushes_notes(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    remote = tmp_path / "remote.git"
    r.git("init", "-q", "--bare", str(remote))
    r.git("remote", "add", "origin", str(remote))
    r.git("config", "srcprov.pushNotes", "true")
    empty = tmp_path / "g"
    empty.mkdir(mode=0o700)
    c = r.commit(env=dict(os.environ, GNUPGHOME=str(empty)))  # queued, not written
    assert r.note(c) == ""
    r.git("push", "-q", "origin", "main")
    assert r.note(c)
    remote_notes = r.git("--git-dir", str(remote), "notes", "--ref", "refs/notes/srcprov", "list", c, check=False)
    assert remote_notes.returncode == 0 and remote_notes.stdout.strip()


def test_pre_push_warns_about_unrecorded(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    remote = tmp_path / "remote.git"
    r.git("init", "-q", "--bare", str(remote))
    r.git("remote", "add", "origin", str(remote))
    r.commit(env=dict(os.environ, SRCPROV_SKIP="1"))
    proc = r.git("push", "origin", "main")
    assert "have no srcprov record" in proc.stderr


def test_doctor(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    ok = r.srcprov("doctor", "--json", check=False)
    data = json.loads(ok.stdout)
    assert data["ok"] is True, data
    r.git("remote", "add", "origin", str(tmp_path / "nowhere.git"))
    r.git("config", "--add", "remote.origin.fetch", "+refs/notes/*:refs/notes/*")
    r.git("config", "notes.rewriteRef", "refs/notes/srcprov")
    r.srcprov("uninstall")
    proc = r.srcprov("doctor", check=1)
    out = proc.stdout
    assert "would overwrite local records" in out
    assert "notes.rewriteRef" in out
    assert "missing pre-commit" in out


def test_precommit_starts_python_only_for_checks(repo):
    """The template's commented-out [[checks]] must not start Python; a real table must."""
    repo.git("config", "srcprov.hookMode", "background")
    marker = repo.path / ".git" / "srcprov" / "precommit"
    c = repo.commit()
    tree = repo.git("rev-parse", f"{c}^{{tree}}").stdout.strip()
    assert (marker / tree).read_text() == ""  # written by the shell path: empty file, mtime = start
    _add_checks(repo, '\n  [[checks]]\nname = "ok"\ncommand = "true"\n')
    c2 = repo.commit()
    tree2 = repo.git("rev-parse", f"{c2}^{{tree}}").stdout.strip()
    assert json.loads((marker / tree2).read_text())["checks"][0]["name"] == "ok"


def test_hook_mode_follows_config_with_and_without_pre_commit(tmp_path, keys):
    """post-commit learns srcprov.hookMode from this commit's pre-commit, or from git config (--no-verify)."""
    r = make_repo(tmp_path / "r", keys, mode="background")
    r.wait_records()
    r.git("config", "srcprov.hookMode", "sync")
    c = r.commit()
    assert r.note(c)  # written inline: there when git commit returns
    (r.path / "nv.txt").write_text("x\n")
    r.git("add", "nv.txt")
    r.git("commit", "-q", "--no-verify", "-m", "no pre-commit")
    assert r.note("HEAD")
    r.git("config", "srcprov.hookMode", "background")
    c3 = r.commit()
    r.wait_records()
    assert r.note(c3)
    r.srcprov("uninstall")
    assert not (r.path / ".git" / "srcprov.hookmode").exists()


def test_hook_path_imports_no_cli_report_or_sequoia(tmp_path, keys):
    """`srcprov hook post-commit` (queue + spawn a worker) and `hook worker` (sign + write) load neither the CLI
    nor the report nor Sequoia: measured with -X importtime, as the issue asks."""
    import subprocess
    import sys

    r = make_repo(tmp_path / "r", keys, mode="background")
    r.commit()
    for hook in ("post-commit", "worker"):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "srcprov", "hook", hook], cwd=r.path,
                              capture_output=True, text=True)
        loaded = {ln.split("|")[-1].strip() for ln in proc.stderr.splitlines() if ln.startswith("import time:")}
        assert "srcprov.recording.queue" in loaded  # the hook did its work through the queue
        for mod in ("typer", "tabulate", "srcprov.cli", "srcprov.commands", "srcprov.report", "pysequoia"):
            assert mod not in loaded, (hook, mod)
