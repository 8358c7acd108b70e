"""Bad input and odd repositories: one line `srcprov: error: ...`, exit 2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from testing.run import run_srcprov


def run(cwd, *args, env=None):
    return run_srcprov(cwd, *args, env=env)


def assert_error(proc, fragment):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("srcprov: error: "), proc.stderr
    assert fragment in lines[0]
    assert "Traceback" not in proc.stderr


def test_not_a_repository(tmp_path):
    assert_error(run(tmp_path, "verify"), "not a git repository")
    assert_error(run(tmp_path, "--repo", str(tmp_path / "nope"), "verify"), "no such directory")


def test_empty_repository(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for cmd in (["verify"], ["record"], ["show"]):
        assert_error(run(tmp_path, *cmd), "no commits yet")


def test_unknown_revision(repo):
    repo.commit()
    assert_error(repo.srcprov("verify", "nosuch", check=False), "unknown revision")
    assert_error(repo.srcprov("verify", "nosuch..HEAD", check=False), "unknown revision")
    assert_error(repo.srcprov("show", "HEAD~99", check=False), "unknown revision")
    assert_error(repo.srcprov("record", "--claim", "bogus", check=False), "bad --claim")
    assert_error(repo.srcprov("record", "--force", "--claim", "origin=martian", check=False), "unknown origin")
    assert_error(repo.srcprov("review", "HEAD", "--verdict", "maybe", check=False), "bad --verdict")


def test_bad_usage_is_one_line(repo):
    assert_error(repo.srcprov("verify", "--no-such-flag", check=False), "no-such-flag")
    assert_error(repo.srcprov("record", "--wait", check=False), "--wait goes with --pending")


def test_no_key_and_no_gpg(repo, tmp_path):
    repo.git("config", "srcprov.signingKey", "nobody@nowhere.example")
    repo.git("commit", "-q", "--allow-empty", "-m", "x", env=dict(os.environ, SRCPROV_SKIP="1"))
    assert_error(repo.srcprov("record", check=False), "could not sign")
    repo.git("config", "gpg.program", "no-such-gpg-binary")
    assert_error(repo.srcprov("record", check=False), "gpg not found")
    # Verification needs no gpg: it runs in process on Sequoia with the policy's keys.
    proc = repo.srcprov("verify", check=False)
    assert proc.returncode == 1 and "srcprov: error" not in proc.stderr


def test_unreadable_policy(repo):
    repo.commit()
    (repo.path / ".srcprov" / "policy.toml").write_text("version = [\n")
    assert_error(repo.srcprov("verify", check=False), "cannot parse policy.toml")
    (repo.path / ".srcprov" / "policy.toml").write_text('[[signers]]\nfingerprint = "XYZ"\n')
    assert_error(repo.srcprov("verify", check=False), "no valid fingerprint")
    assert_error(repo.srcprov("verify", "--policy", str(repo.path / "nowhere"), check=False), "no policy")
    assert_error(repo.srcprov("verify", "--policy-rev", "nosuch", check=False), "unknown revision")


def test_detached_head(repo):
    repo.commit()
    repo.git("checkout", "-q", "--detach")
    c = repo.commit()
    assert json.loads(repo.srcprov("verify", "--json", c).stdout)["commits"][0]["status"] == "verified"


def test_shallow_clone(tmp_path, keys, repo):
    for _ in range(3):
        repo.commit()
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone)], check=True)
    proc = run(clone, "verify", "--json")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["commits"][0]["status"] == "missing"  # notes were not fetched
    subprocess.run(["git", "fetch", "-q", "origin", "refs/notes/srcprov:refs/notes/srcprov"], cwd=clone, check=True)
    proc = run(clone, "verify", "--json", "--all")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(json.loads(proc.stdout)["commits"]) == 1


def test_worktree_and_bare(tmp_path, repo):
    repo.commit()
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", "-b", "side", str(wt))
    (wt / "w.txt").write_text("w\n")
    subprocess.run(["git", "add", "w.txt"], cwd=wt, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "in worktree"], cwd=wt, check=True)
    assert json.loads(run(wt, "verify", "--json").stdout)["ok"] is True
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    subprocess.run(["git", "fetch", "-q", str(repo.path), "refs/notes/srcprov:refs/notes/srcprov"], cwd=bare, check=True)
    proc = run(bare, "verify", "--json", "--policy-rev", "HEAD")
    assert proc.returncode == 0, proc.stderr
    assert_error(run(bare, "verify"), "bare repository")


def test_sha256_repository(tmp_path):
    subprocess.run(["git", "init", "-q", "--object-format=sha256", str(tmp_path)], check=True)
    subprocess.run(["git", "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "--allow-empty", "-m", "x"],
                   cwd=tmp_path, check=True)
    proc = run(tmp_path, "verify")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("srcprov: error: ") and "SHA-256" in proc.stderr


def test_non_utf8_paths_and_messages(repo, tmp_path):
    name = os.fsdecode(b"caf\xe9-\xff.txt")
    (repo.path / name).write_bytes(b"x\n")
    repo.git("add", "-A")
    msg = tmp_path / "msg"
    msg.write_bytes(b"r\xe9sum\xe9 in latin-1\n\nProvenance-Origin: vendored\n")
    repo.git("-c", "i18n.commitEncoding=latin1", "-c", "user.name=Jos\xe9", "commit", "-q", "-F", str(msg))
    data = json.loads(repo.srcprov("show", "--json").stdout)
    assert data["status"] == "verified"
    pred = data["records"][0]["statement"]["predicate"]
    assert pred["claims"]["origin"] == "vendored"
    assert pred["changes"]["files"] == 1
    assert repo.srcprov("verify").returncode == 0


@pytest.mark.parametrize("args", [["--version"], ["verify", "--help"], ["policy", "--help"]])
def test_version_and_help(repo, args):
    proc = repo.srcprov(*args)
    assert proc.stdout.strip()
