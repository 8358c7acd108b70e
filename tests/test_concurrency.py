"""Background workers under load: every commit gets exactly one record, no notes-ref update is lost."""

from __future__ import annotations

import base64
import json
import subprocess
import threading

from testing.repos import make_repo


def cp_count(repo, commit: str) -> int:
    n = 0
    for ln in repo.note(commit).splitlines():
        st = json.loads(base64.b64decode(json.loads(ln)["payload"]))
        n += st["predicateType"] == "urn:srcprov:commit-provenance:v1"
    return n


def test_twenty_quick_commits_background(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, mode="background")
    commits = [r.commit() for _ in range(20)]
    r.wait_records()
    assert [cp_count(r, c) for c in commits] == [1] * 20
    data = json.loads(r.srcprov("verify", "--json", "--all").stdout)
    assert data["ok"] is True and len(data["commits"]) == 21


def test_two_worktrees_at_once(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, mode="background")
    r.commit()
    wt = tmp_path / "wt"
    r.git("worktree", "add", "-q", "-b", "side", str(wt))
    made: dict[str, list[str]] = {"main": [], "side": []}

    def work(path, name):
        for i in range(8):
            f = path / f"{name}-{i}.txt"
            f.write_text(f"{name} {i}\n")
            subprocess.run(["git", "add", "-A"], cwd=path, check=True)
            subprocess.run(["git", "commit", "-q", "-m", f"{name} {i}"], cwd=path, check=True)
            made[name].append(subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True,
                                             check=True).stdout.strip())

    threads = [threading.Thread(target=work, args=(r.path, "main")), threading.Thread(target=work, args=(wt, "side"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r.wait_records()
    for c in made["main"] + made["side"]:
        assert cp_count(r, c) == 1, c
    # The queue lives in the common git dir, shared by both worktrees, and is empty now.
    assert not list((r.path / ".git" / "srcprov" / "queue").iterdir())
    data = json.loads(r.srcprov("verify", "--json", "main", "side", cwd=wt).stdout)
    assert data["ok"] is True


def test_a_commit_while_a_worker_drains_starts_no_second_python(tmp_path, keys):
    """The shim finds the worker lock held and starts no Python: the holder looks at the queue again after
    letting the lock go, so the entry is written by it, not left behind."""
    import fcntl
    import os
    import time

    r = make_repo(tmp_path / "r", keys, mode="background")
    r.commit()
    r.wait_records()
    lock = r.path / ".git" / "srcprov" / "worker.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a draining worker holds it, and says so
    busy = r.path / ".git" / "srcprov" / "worker.busy"
    busy.touch()
    try:
        c = r.commit()
        deadline = time.time() + 1.0
        while time.time() < deadline:
            assert r.workers() == []  # no Python was started for this commit
            time.sleep(0.05)
        assert (r.path / ".git" / "srcprov" / "queue" / f"{c}.post-commit").exists()
        assert cp_count(r, c) == 0
    finally:
        busy.unlink()
        os.close(fd)
    # A stale worker.busy (a worker killed mid-drain) with the lock free: the shim starts a worker.
    busy.touch()
    e = r.commit()
    deadline = time.time() + 20
    while time.time() < deadline and cp_count(r, e) == 0:
        time.sleep(0.05)
    assert cp_count(r, e) == 1 and cp_count(r, c) == 1  # that worker also wrote what waited in the queue
    assert not busy.exists()  # and a drain removes it when it lets the lock go
    # With the lock free, a commit starts a worker as before.
    d = r.commit()
    deadline = time.time() + 20
    while time.time() < deadline and cp_count(r, d) == 0:
        time.sleep(0.05)
    assert cp_count(r, d) == 1


def test_a_worker_holding_the_lock_writes_what_was_queued_meanwhile(tmp_path, keys):
    """Commits made while a (slow) worker drains get their records from that worker, with no later command."""
    r = make_repo(tmp_path / "r", keys, mode="background")
    r.git("config", "srcprov.evidenceWait", "2s")
    r.git("update-ref", "refs/notes/ai", r.git("commit-tree", "-m", "git-ai in use",
                                                r.git("hash-object", "-t", "tree", "-w", "/dev/null").stdout.strip()).stdout.strip())
    first = r.commit()  # its worker waits up to 2s for git-ai's log (none comes) while holding the lock
    more = [r.commit() for _ in range(3)]
    import time
    deadline = time.time() + 30
    while time.time() < deadline and (r.workers() or any(cp_count(r, c) == 0 for c in [first, *more])):
        time.sleep(0.1)
    assert [cp_count(r, c) for c in [first, *more]] == [1, 1, 1, 1]
