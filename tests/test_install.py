"""install / uninstall: chaining a foreign hook, core.hooksPath, idempotence, byte-for-byte restore."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from testing.repos import make_repo

FOREIGN = b"#!/bin/sh\necho foreign-pre-commit-ran >> \"$(git rev-parse --git-dir)/foreign.log\"\nexit ${FOREIGN_EXIT:-0}\n"


def test_round_trip_with_foreign_hook(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, hooks=False)
    hook = r.path / ".git" / "hooks" / "pre-commit"
    hook.write_bytes(FOREIGN)
    hook.chmod(0o750)
    out = r.srcprov("install").stdout
    assert "pre-commit: installed, chaining the existing hook" in out
    assert (r.path / ".git/hooks/pre-commit.srcprov-legacy").read_bytes() == FOREIGN
    again = r.srcprov("install").stdout
    assert again.count("already installed") == 5
    r.commit()
    assert (r.path / ".git/foreign.log").read_text().count("foreign-pre-commit-ran") == 1
    # Its failure still aborts the commit.
    before = r.head()
    proc = r.git("commit", "--allow-empty", "-q", "-m", "x", check=False, env=dict(os.environ, FOREIGN_EXIT="3"))
    assert proc.returncode != 0 and r.head() == before
    r.srcprov("uninstall")
    assert hook.read_bytes() == FOREIGN
    assert stat.S_IMODE(hook.stat().st_mode) == 0o750
    assert not (r.path / ".git/hooks/pre-commit.srcprov-legacy").exists()
    assert not (r.path / ".git/hooks/post-commit").exists()
    assert r.git("config", "--get", "srcprov.installedHooks", check=False).returncode == 1


def test_core_hooks_path(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, hooks=False)
    r.git("config", "core.hooksPath", "githooks")
    out = r.srcprov("install", "--hooks", "post-commit,pre-commit").stdout
    assert "post-commit: installed" in out
    assert (r.path / "githooks" / "post-commit").is_file()
    assert not (r.path / ".git" / "hooks" / "post-commit").exists()
    c = r.commit()
    assert r.note(c)  # sync mode: recorded through the hooksPath shim
    r.srcprov("uninstall")
    assert not (r.path / "githooks" / "post-commit").exists()


def test_shim_knows_interpreter_and_id(tmp_path, keys):
    import sys

    r = make_repo(tmp_path / "r", keys)
    text = (r.path / ".git/hooks/post-commit").read_text()
    assert sys.executable in text
    assert "srcprov-hook-id:" in text


def test_unknown_hook_name(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, hooks=False)
    proc = r.srcprov("install", "--hooks", "pre-commit,bogus", check=2)
    assert proc.stderr.strip().splitlines() == [
        "srcprov: error: unknown hook 'bogus' (hooks: pre-commit, post-commit, post-merge, post-rewrite, pre-push)"]


def test_each_installed_hook_holds_only_its_own_parts(tmp_path, keys):
    """One script serves every hook; install keeps in each only what that hook runs (less to parse a commit)."""
    r = make_repo(tmp_path / "r", keys, policy=False)
    template = (Path(__file__).resolve().parent.parent / "hooks" / "srcprov-hook").read_text()
    for fn in ("pre_commit()", "post_commit()", "post_merge()", "post_rewrite()", "pre_push()"):
        assert fn in template
    pre = (r.path / ".git/hooks/pre-commit").read_text()
    post = (r.path / ".git/hooks/post-commit").read_text()
    assert "pre_commit()" in pre and "post_commit()" not in pre and "queue_and_start_worker()" not in pre
    assert "post_commit()" in post and "pre_commit()" not in post and "key_known_usable()" not in post
    assert "'@PYTHON@'" not in pre and not any(ln.startswith("# @hooks ") for ln in pre.splitlines())
    assert len(pre) < len(template) * 0.75
