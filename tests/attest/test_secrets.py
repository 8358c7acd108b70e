"""No secret reaches a record or an attestation: tokens in remote URLs, the host name in clear or as a hash a
dictionary of host names would reverse."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from tests.attest.conftest import ARTIFACT, Env, attest, commit_file, git, srcprov, write_policy


def _decoded_views(data: bytes) -> list[bytes]:
    """DATA and, for each JSON line of it that is a DSSE envelope, its decoded payload and signatures."""
    out = [data]
    for line in data.splitlines():
        try:
            env = json.loads(line)
        except ValueError:
            continue
        if isinstance(env, dict) and isinstance(env.get("payload"), str):
            out.append(base64.b64decode(env["payload"]))
            out += [base64.b64decode(s.get("sig", "")) for s in env.get("signatures", [])]
    return out


def notes_bytes(repo: Path) -> list[bytes]:
    """Every blob and commit message anywhere in the notes ref's history, with envelopes decoded."""
    out: list[bytes] = []
    for c in git(repo, "rev-list", "refs/notes/srcprov").split():
        out.append(subprocess.run(["git", "cat-file", "commit", c], cwd=repo, capture_output=True, check=True).stdout)
        for row in git(repo, "ls-tree", "-r", c).splitlines():
            blob = row.split()[2]
            data = subprocess.run(["git", "cat-file", "blob", blob], cwd=repo, capture_output=True, check=True).stdout
            out += _decoded_views(data)
    return out


def records(repo: Path, rev: str = "HEAD") -> list[dict]:
    """The statements in REV's note."""
    note = git(repo, "notes", "--ref", "refs/notes/srcprov", "show", rev)
    return [json.loads(base64.b64decode(json.loads(ln)["payload"])) for ln in note.splitlines() if ln.strip()]


@pytest.mark.parametrize("url, token", [
    ("https://u:TOKEN-in-userinfo-7f3a@github.com/o/r.git", "TOKEN-in-userinfo-7f3a"),
    ("https://ghp_TOKENASUSER9c1d@github.com/o/r.git", "ghp_TOKENASUSER9c1d"),
    ("https://gitlab.example.com/o/r?private_token=glpat-QUERY-TOKEN-55e", "glpat-QUERY-TOKEN-55e"),
    ("https://host.example.com/o/r#FRAGMENT-TOKEN-0b2", "FRAGMENT-TOKEN-0b2"),
    ("oauth2:SCP-TOKEN-81aa@gitlab.example.com:o/r.git", "SCP-TOKEN-81aa"),
])
def test_token_in_remote_url_reaches_no_record_or_attestation(
        repo: Path, gpg_env: Env, tmp_path: Path, url: str, token: str) -> None:
    git(repo, "remote", "add", "origin", url)
    commit_file(repo, "src/more.py", "x = 1\n", "more")
    assert srcprov(repo, "record").returncode == 0
    git(repo, "config", "srcprov.signingKey", gpg_env.fpr["bob"])
    git(repo, "config", "user.email", "bob@example.com")
    assert srcprov(repo, "review", "HEAD").returncode == 0
    att = attest(repo, gpg_env)
    vsa = tmp_path / "vsa.json"
    # A Source VSA is signed by a key of role source: the builder key holds it here too.
    write_policy(repo, gpg_env, {"alice": ["author", "reviewer"], "builder": ["builder", "source"], "bob": ["reviewer"]})
    assert srcprov(repo, "verify", "--vsa", str(vsa)).returncode in (0, 1)
    assert [st["subject"][0]["name"] for st in records(repo)] == ["r", "r"]
    blobs = notes_bytes(repo) + _decoded_views(att.read_bytes()) + _decoded_views(vsa.read_bytes())
    assert len(blobs) > 6
    leaks = [b[:200] for b in blobs if token.lower().encode() in b.lower()]
    assert not leaks
    assert srcprov(repo, "verify-attestation", str(att), "--subject", ARTIFACT).returncode == 0


def _hostnames(repo: Path, n: int) -> list[str]:
    """Make N commits, each recorded by its own `srcprov record` process; their records' hostname values."""
    out = []
    for i in range(n):
        commit_file(repo, f"h{i}.txt", f"{i}\n", f"h{i}")
        r = srcprov(repo, "record")
        assert r.returncode == 0, r.stderr
        (st,) = records(repo)
        out.append(st["predicate"]["environment"]["hostname"])
    return out


def _keyed(key: bytes) -> str:
    return hmac.new(key, socket.gethostname().encode(), hashlib.sha256).hexdigest()


def test_hostname_is_a_keyed_hash_under_a_per_user_key(repo: Path, tmp_path: Path) -> None:
    a, b = _hostnames(repo, 2)
    assert a == b
    assert a != hashlib.sha256(socket.gethostname().encode()).hexdigest()
    assert socket.gethostname() not in a
    key_file = Path(os.environ["XDG_CONFIG_HOME"], "srcprov", "host-key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes()
    assert len(key) == 32 and a == _keyed(key)
    assert not (repo / ".git" / "srcprov" / "host-key").exists()
    assert [p.name for p in key_file.parent.iterdir()] == ["host-key"]  # no temporary file left behind


def test_hostname_key_in_the_git_dir_when_the_config_dir_cannot_hold_it(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "a-file" / "config"))
    a, b = _hostnames(repo, 2)
    key = (repo / ".git" / "srcprov" / "host-key").read_bytes()
    assert a == b == _keyed(key)


def test_hostname_never_fails_a_commit_when_no_key_can_be_kept(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "a-file" / "config"))
    (repo / ".git" / "srcprov" / "host-key").mkdir(parents=True)  # a directory: no key can be read or made there
    a, b = _hostnames(repo, 2)
    assert a != b  # a fresh key per process
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in (a, b))
    assert a != hashlib.sha256(socket.gethostname().encode()).hexdigest()
