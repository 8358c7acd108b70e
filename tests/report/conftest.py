"""Fixtures for the report tests: real repositories built with the git CLI, git blame as the oracle."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# The helpers live in modules named report_* so they never clash with the top-level tests/conftest.py.
sys.path.insert(0, str(Path(__file__).parent))

from report_histories import git_env, make_history  # noqa: E402
from report_repos import Builder  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """git in these tests reads no user or system configuration."""
    home = tmp_path_factory.mktemp("home")
    for k in list(os.environ):
        if k.startswith("GIT_"):
            monkeypatch.delenv(k)
    for k, v in git_env(home).items():
        if k.startswith("GIT_") or k in ("HOME", "TZ"):
            monkeypatch.setenv(k, v)


@pytest.fixture
def builder(tmp_path: Path) -> Builder:
    return Builder(tmp_path / "repo")


@pytest.fixture
def history(tmp_path: Path):
    """make_history(seed, commits, **kw) -> path of a bare repository with a random history."""
    def make(seed: int, commits: int, **kw: object) -> Path:
        return make_history(tmp_path / f"h{seed}-{commits}", seed, commits, **kw)
    return make
