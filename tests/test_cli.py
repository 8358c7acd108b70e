"""Commands end to end: policy show, uninstall with a queue, a busy worker, doctor, reviews, git pull."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import subprocess
import time

from testing.repos import make_repo


def test_policy_show_json(repo):
    repo.add_signer(repo.keys.bob, emails=("bob@example.com",), roles=("reviewer", "builder"))
    data = json.loads(repo.srcprov("policy", "show", "--json").stdout)
    by = {s["fingerprint"]: s for s in data["signers"]}
    assert by[repo.keys.alice]["roles"] == ["author", "reviewer"]
    assert by[repo.keys.bob] == {"name": "Bob", "kind": "openpgp", "fingerprint": repo.keys.bob, "emails": ["bob@example.com"],
                                 "roles": ["reviewer", "builder"]}
    assert (repo.path / ".srcprov" / "keys" / f"{repo.keys.bob}.asc").read_text().startswith("-----BEGIN PGP PUBLIC")
    assert data["require"] == {"since": None, "backfilled": "allow", "reviews": 0}
    # add-signer twice updates the entry instead of adding another.
    repo.add_signer(repo.keys.bob, roles=("author",), commit=False)
    again = json.loads(repo.srcprov("policy", "show", "--json").stdout)
    assert [s["fingerprint"] for s in again["signers"]].count(repo.keys.bob) == 1
    assert {s["fingerprint"]: s for s in again["signers"]}[repo.keys.bob]["roles"] == ["author", "reviewer", "builder"]


def test_uninstall_keeps_queue_and_warns(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    empty = tmp_path / "g"
    empty.mkdir(mode=0o700)
    c = r.commit(env=dict(os.environ, GNUPGHOME=str(empty)))
    proc = r.srcprov("uninstall")
    assert "1 record(s) still queued" in proc.stderr
    assert (r.path / ".git" / "srcprov" / "queue" / f"{c}.post-commit").exists()
    r.srcprov("record", "--pending")
    assert r.note(c)


def test_pending_while_a_worker_holds_the_lock(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, mode="background")
    r.wait_records()
    lock = r.path / ".git" / "srcprov" / "worker.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        c = r.commit()  # its worker finds the lock taken and leaves the entry queued
        out = r.srcprov("record", "--pending", "--json")
        assert json.loads(out.stdout)["busy"] is True
        assert r.note(c) == ""
    finally:
        os.close(fd)
    r.srcprov("record", "--pending", "--wait")
    assert r.note(c)


def test_doctor_sees_shadowing_hooks_path(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys)
    r.git("config", "core.hooksPath", "elsewhere")
    out = r.srcprov("doctor", check=1).stdout
    assert "shadows the shims" in out
    assert "srcprov install" in out


def test_rejected_then_approved_review(repo):
    text = (repo.path / ".srcprov/policy.toml").read_text().replace("reviews = 0", "reviews = 1")
    (repo.path / ".srcprov/policy.toml").write_text(text)
    repo.add_signer(repo.keys.bob, emails=("bob@example.com",), roles=("reviewer",))
    c = repo.commit()
    repo.git("config", "srcprov.signingKey", repo.keys.bob)
    repo.git("config", "user.email", "bob@example.com")
    out = json.loads(repo.srcprov("review", c, "--verdict", "rejected", "--comment", "no", "--json").stdout)
    assert out == {"reviewed": [c], "verdict": "rejected"}
    entry = json.loads(repo.srcprov("verify", "--json", c, check=1).stdout)["commits"][0]
    assert entry["status"] == "unreviewed"
    time.sleep(1.1)  # reviewedAt has one-second resolution: the approval must come later
    repo.srcprov("review", c)
    assert json.loads(repo.srcprov("verify", "--json", c).stdout)["commits"][0]["status"] == "verified"


def test_git_pull_merge_is_recorded(tmp_path, keys):
    up = make_repo(tmp_path / "up", keys)
    up.commit()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(up.path), str(clone)], check=True)
    from testing.repos import GitRepo

    cl = GitRepo(clone, keys)
    for k, v in (("user.name", "Alice"), ("user.email", "alice@example.com"), ("srcprov.signingKey", keys.alice),
                 ("srcprov.hookMode", "sync"), ("pull.rebase", "false")):
        cl.git("config", k, v)
    cl.srcprov("install")
    up.commit(path="upstream.txt")
    cl.commit(path="local.txt")
    cl.git("pull", "-q", "--no-edit", "origin", "main")
    merge = cl.head()
    assert len(cl.git("rev-list", "--parents", "-n1", merge).stdout.split()) == 3
    st = json.loads(base64.b64decode(json.loads(cl.note(merge).splitlines()[0])["payload"]))
    assert st["predicate"]["recorder"]["trigger"] == "post-merge"
    assert st["predicate"]["commit"]["id"] == merge


def test_progress_bar_only_on_a_terminal(repo):
    """verify draws a bar on stderr when stderr is a terminal, and nothing when it is not."""
    import pty
    import sys

    repo.commit()
    plain = repo.srcprov("verify", "--all")
    assert "[" not in plain.stderr
    master, slave = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "srcprov", "verify", "--all"], cwd=repo.path, stdout=subprocess.PIPE,
                          stderr=slave, stdin=subprocess.DEVNULL, text=True)
    os.close(slave)
    seen = os.read(master, 65536).decode()
    os.close(master)
    assert proc.returncode == 0
    assert "verify [" in seen and "records" in seen
    assert "[" not in proc.stdout.splitlines()[0]
