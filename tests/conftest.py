"""Fixtures: throwaway GnuPG keys made once per session, real git repositories, the CLI as a subprocess."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from testing.env import isolate
from testing.keys import gnupg_home, kill_agent, openpgp_key
from testing.repos import GitRepo, Keys, make_repo


@pytest.fixture(scope="session")
def keys() -> Keys:
    # A short path: gpg-agent puts its socket in the home, and socket paths have a length limit.
    home = gnupg_home()
    made = {name: openpgp_key(home, name.title()) for name in ("alice", "bob", "mallory", "revoked", "builder")}
    # Created in the past so that a later self-signature can put its expiry before today.
    made["expired"] = openpgp_key(home, "Expired", created=int(time.time()) - 10 * 86400)
    yield Keys(home, **made)
    kill_agent(home)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated_env(keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the user's git config or keyring; hooks inherit this environment."""
    isolate(monkeypatch, tmp_path, keys.home, "[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")
    monkeypatch.delenv("SRCPROV_SKIP", raising=False)


@pytest.fixture
def repo(tmp_path: Path, keys: Keys) -> GitRepo:
    """A repository with hooks (sync mode) and a policy trusting alice."""
    return make_repo(tmp_path / "repo", keys)
