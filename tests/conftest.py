"""Fixtures: throwaway GnuPG keys made once per session, real git repositories, the CLI as a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from gitfixtures import GitRepo, Keys, _gpg, make_repo

from srcprov.signing.gnupg import generate_key


@pytest.fixture(scope="session")
def keys() -> Keys:
    # A short path: gpg-agent puts its socket in the home, and socket paths have a length limit.
    home = tempfile.mkdtemp(prefix="spk-", dir="/tmp")
    os.chmod(home, 0o700)
    past = int(time.time()) - 10 * 86400
    made = {}
    for name in ("alice", "bob", "mallory", "revoked", "builder"):
        made[name] = generate_key("gpg", home, name.title(), f"{name}@example.com")
    # Created in the past so that a later self-signature can put its expiry before today.
    params = (b"%no-protection\nKey-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: Expired\n"
              b"Name-Email: expired@example.com\nExpire-Date: 0\n%commit\n")
    out = _gpg(home, f"--faked-system-time={past}!", "--status-fd", "1", "--gen-key", input=params).stdout.decode()
    made["expired"] = next(ln.split()[3] for ln in out.splitlines() if "KEY_CREATED" in ln)
    yield Keys(home, **made)
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated_env(keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the user's git config or keyring; hooks inherit this environment."""
    cfg = tmp_path / "gitconfig"
    cfg.write_text("[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GNUPGHOME", keys.home)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # the host-name key, not the user's
    for k in list(os.environ):
        if k.startswith("GIT_") and k not in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM"):
            monkeypatch.delenv(k)
    monkeypatch.delenv("SRCPROV_SKIP", raising=False)


@pytest.fixture
def repo(tmp_path: Path, keys: Keys) -> GitRepo:
    """A repository with hooks (sync mode) and a policy trusting alice."""
    return make_repo(tmp_path / "repo", keys)
