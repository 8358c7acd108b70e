"""An isolated environment for git, gpg and srcprov: no user's git config, keyring or config directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def isolate(mp: pytest.MonkeyPatch, root: Path, gnupghome: str, gitconfig: str) -> None:
    """Point git at ROOT/gitconfig (GITCONFIG's text; no system config), gpg at GNUPGHOME and XDG_CONFIG_HOME
    (where srcprov keeps its host-name key) under ROOT; drop every inherited GIT_* variable. Subprocesses,
    the installed hooks included, inherit it."""
    cfg = root / "gitconfig"
    cfg.write_text(gitconfig)
    for k in list(os.environ):
        if k.startswith("GIT_"):
            mp.delenv(k)
    mp.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.setenv("GNUPGHOME", gnupghome)
    mp.setenv("XDG_CONFIG_HOME", str(root / "xdg-config"))
