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
