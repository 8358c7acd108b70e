"""Real git repositories and throwaway GnuPG keys for the tests (no mocks)."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from testing.run import run_srcprov


def _gpg(home: str, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["gpg", "--homedir", home, "--batch", "--yes", *args], input=input, capture_output=True,
                          check=True)


@dataclass
class Keys:
    home: str
    alice: str  # author + reviewer, emails alice@example.com
    bob: str  # reviewer
    mallory: str  # never in the policy
    expired: str  # expiry set, after it signed, to a time before its signature
    revoked: str  # revoked (its revocation certificate dates from its creation)
    builder: str  # builder role

    def armored(self, fpr: str) -> bytes:
        return _gpg(self.home, "--armor", "--export-options", "export-minimal", "--export", fpr).stdout

    def expire_now(self) -> None:
        """Set the `expired` key's expiry to ten days ago (a self-signature made in the past)."""
        past = int(time.time()) - 9 * 86400
        _gpg(self.home, f"--faked-system-time={past}!", "--quick-set-expire", self.expired, "1d")

    def revoke(self) -> None:
        """Import the `revoked` key's revocation certificate."""
        cert = Path(self.home, "openpgp-revocs.d", f"{self.revoked}.rev").read_bytes()
        cert = cert.replace(b":-----BEGIN PGP PUBLIC KEY BLOCK-----", b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
        _gpg(self.home, "--import", input=cert)


class GitRepo:
    """A real repository in a temporary directory, driven through git and the srcprov CLI."""

    def __init__(self, path: Path, keys: Keys) -> None:
        self.path = path
        self.keys = keys
        self.n = 0

    def git(self, *args: str, check: bool = True, env: dict[str, str] | None = None,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(["git", *args], cwd=self.path, capture_output=True, text=True, env=env, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
        return proc

    def srcprov(self, *args: str, check: bool | int = True, env: dict[str, str] | None = None,
                cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_srcprov(cwd or self.path, *args, env=env, check=check)

    def commit(self, message: str | None = None, path: str | None = None, env: dict[str, str] | None = None) -> str:
        self.n += 1
        f = self.path / (path or f"file{self.n}.txt")
        f.parent.mkdir(parents=True, exist_ok=True)
        with open(f, "a") as fh:
            fh.write(f"line {self.n}\n")
        self.git("add", "-A", env=env)
        self.git("commit", "-q", "-m", message or f"commit {self.n}", env=env)
        return self.head()

    def head(self, rev: str = "HEAD") -> str:
        return self.git("rev-parse", rev).stdout.strip()

    def note(self, rev: str = "HEAD") -> str:
        proc = self.git("notes", "--ref", "refs/notes/srcprov", "show", rev, check=False)
        return proc.stdout if proc.returncode == 0 else ""

    def set_note(self, rev: str, text: str) -> None:
        self.git("notes", "--ref", "refs/notes/srcprov", "add", "-f", "-F", "-", rev, input=text)

    def add_signer(self, fpr: str, *, emails: tuple[str, ...] = (), roles: tuple[str, ...] = ("author",),
                   commit: bool = True) -> None:
        args = ["policy", "add-signer", fpr]
        for e in emails:
            args += ["--email", e]
        for r in roles:
            args += ["--role", r]
        self.srcprov(*args)
        if commit:
            self.git("add", ".srcprov")
            self.git("commit", "-q", "-m", "policy")

    def wait_records(self) -> None:
        """Write what is queued, then wait until no worker of this repository is left running (a late
        worker would otherwise drain entries a test queues next, with its own environment)."""
        self.srcprov("record", "--pending", "--wait")
        deadline = time.time() + 30
        while time.time() < deadline and self.workers():
            time.sleep(0.05)

    def workers(self) -> list[int]:
        """PIDs of `srcprov hook worker` processes running in this repository."""
        found = []
        here = str(self.path.resolve())
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                cmd = (d / "cmdline").read_bytes().split(b"\0")
                if b"worker" in cmd and b"hook" in cmd and os.readlink(d / "cwd") == here:
                    found.append(int(d.name))
            except OSError:
                continue
        return found


def make_repo(path: Path, keys: Keys, *, signer: str | None = None, hooks: bool = True,
              mode: str = "sync", policy: bool = True) -> GitRepo:
    path.mkdir(parents=True, exist_ok=True)
    r = GitRepo(path, keys)
    r.git("init", "-q", "-b", "main")
    r.git("config", "user.name", "Alice")
    r.git("config", "user.email", "alice@example.com")
    r.git("config", "srcprov.signingKey", signer or keys.alice)
    r.git("config", "srcprov.hookMode", mode)
    r.git("config", "srcprov.signTimeout", "5s")
    if hooks:
        r.srcprov("install")
    if policy:
        r.srcprov("policy", "init")
        r.add_signer(keys.alice, emails=("alice@example.com",), roles=("author", "reviewer"))
    return r
