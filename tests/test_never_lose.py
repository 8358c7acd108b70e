"""A commit never disappears: with gpg broken the commit stays, the record is queued, `record --pending` writes it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from testing.keys import openpgp_key
from testing.repos import make_repo


def queued(repo) -> list[str]:
    q = repo.path / ".git" / "srcprov" / "queue"
    return sorted(p.name for p in q.iterdir()) if q.is_dir() else []


def assert_recorded_after_pending(repo, commit):
    repo.srcprov("record", "--pending", "--wait")
    assert queued(repo) == []
    data = json.loads(repo.srcprov("verify", "--json", commit).stdout)
    assert data["commits"][0]["status"] == "verified"


@pytest.mark.parametrize("mode", ["sync", "background"])
def test_empty_gnupghome(tmp_path, keys, mode):
    r = make_repo(tmp_path / "r", keys, mode=mode)
    r.wait_records()  # the policy commit's worker is done: the next worker is the broken one
    empty = tmp_path / "g"
    empty.mkdir(mode=0o700)
    env = dict(os.environ, GNUPGHOME=str(empty))
    c = r.commit(env=env)
    assert r.head() == c
    if mode == "background":
        # The worker gives up quickly (no key); wait until it has, then the entry must still be there.
        deadline = time.time() + 30
        while time.time() < deadline and not (r.path / ".git/srcprov/worker.log").exists():
            time.sleep(0.1)
        r.srcprov("record", "--pending", "--wait", env=env, check=2)
    assert r.note(c) == ""
    assert queued(r) == [f"{c}.post-commit"]
    subprocess.run(["gpgconf", "--homedir", str(empty), "--kill", "all"], capture_output=True)
    assert_recorded_after_pending(r, c)


def test_gpg_missing_from_path(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, mode="sync")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "sh", "grep", "mkdir", "setsid", "nohup", "cat", "env"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    env = dict(os.environ, PATH=str(bin_dir))
    c = r.commit(env=env)
    assert r.head() == c and r.note(c) == ""
    assert queued(r) == [f"{c}.post-commit"]
    proc = r.srcprov("record", "--pending", env=env, check=2)
    assert proc.stderr.startswith("srcprov: error: ") and "gpg not found" in proc.stderr
    assert_recorded_after_pending(r, c)


def test_passphrase_key_without_terminal(tmp_path, keys):
    locked = openpgp_key(None, "Locked", passphrase="correct horse")
    r = make_repo(tmp_path / "r", keys, mode="sync")
    r.git("config", "srcprov.signingKey", locked)
    r.git("config", "srcprov.signTimeout", "3s")
    env = {k: v for k, v in os.environ.items() if k not in ("GPG_TTY", "DISPLAY", "WAYLAND_DISPLAY")}
    t0 = time.monotonic()
    c = r.commit(env=env)
    assert time.monotonic() - t0 < 20  # gave up, did not hang
    assert r.head() == c and r.note(c) == ""
    assert queued(r) == [f"{c}.post-commit"]
    # Configuring another key changes nothing: the record is signed with the key of its commit ...
    r.git("config", "srcprov.signingKey", keys.alice)
    r.srcprov("record", "--pending", env=env, check=2)
    assert queued(r) == [f"{c}.post-commit"]
    # ... once its passphrase is typed (here: given to gpg-agent through a loopback signature).
    subprocess.run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "correct horse", "--local-user",
                    locked, "--detach-sign", "--output", "/dev/null"], input=b"unlock", capture_output=True, check=True)
    r.srcprov("record", "--pending")
    assert queued(r) == []
    assert [s["keyid"] for s in json.loads(r.note(c))["signatures"]] == [locked]


def test_hook_bug_never_blocks_commit(tmp_path, keys):
    """An unreadable policy makes pre-commit warn (require=warn), and the commit still happens."""
    r = make_repo(tmp_path / "r", keys, mode="sync")
    (r.path / ".srcprov" / "policy.toml").write_text("[[checks]]\nthis is = = not toml\n")
    c = r.commit()
    assert r.head() == c


def test_pending_outside_hooks_is_written_before_reading(tmp_path, keys):
    """verify and show write what is queued first, so nobody sees `missing` for a record on its way."""
    r = make_repo(tmp_path / "r", keys, mode="sync")
    empty = tmp_path / "g"
    empty.mkdir(mode=0o700)
    c = r.commit(env=dict(os.environ, GNUPGHOME=str(empty)))
    assert queued(r)
    data = json.loads(r.srcprov("verify", "--json").stdout)
    assert data["commits"][0] == {**data["commits"][0], "commit": c, "status": "verified"}
    assert queued(r) == []
    assert Path(r.path).exists()
