"""The host name as a record names it: HMAC-SHA256 under a random per-user key kept outside the repository,
so that no dictionary of host names reverses it (a bare sha256 of the name would be reversed by one)."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
from functools import lru_cache
from pathlib import Path

from srcprov import state

KEY_BYTES = 32


def user_key_path() -> Path | None:
    """Where the per-user key lives: `$XDG_CONFIG_HOME/srcprov/host-key` (an absolute XDG_CONFIG_HOME), else
    `~/.config/srcprov/host-key`; None when there is no home directory."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg, "srcprov", "host-key")
    try:
        return Path.home() / ".config" / "srcprov" / "host-key"
    except (RuntimeError, KeyError):
        return None


def _read_key(path: Path) -> bytes | None:
    """The key at PATH: exactly KEY_BYTES bytes, else None (absent, unreadable, or not a key)."""
    try:
        with open(path, "rb") as f:
            data = f.read(KEY_BYTES + 1)
    except OSError:
        return None
    return data if len(data) == KEY_BYTES else None


def _create_key(path: Path) -> bytes | None:
    """Put a fresh random key at PATH (mode 0600) atomically and return the key PATH then holds: when another
    process made one first, theirs (a hard link never replaces a file). None when PATH cannot be made."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(KEY_BYTES))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    except OSError:
        return None
    finally:
        try:
            tmp.unlink()
        except OSError:
            pass
    return _read_key(path)


@lru_cache(maxsize=8)
def _key_from(paths: tuple[Path, ...]) -> bytes:
    for path in paths:
        key = _read_key(path) or _create_key(path)
        if key is not None:
            return key
    return os.urandom(KEY_BYTES)  # nowhere to keep one: this process's own (never fail a commit)


def host_key(common_dir: Path | None = None) -> bytes:
    """The per-user key: read (or made) at user_key_path(), else at COMMON_DIR/srcprov/host-key, else fresh
    random bytes for this process. Never raises."""
    paths = [user_key_path()]
    if common_dir is not None:
        paths.append(state.host_key(common_dir))
    return _key_from(tuple(p for p in paths if p is not None))


def hostname_id(common_dir: Path | None = None) -> str:
    """This host's name as records carry it: the hex HMAC-SHA256 of the name under host_key(COMMON_DIR)."""
    name = socket.gethostname().encode("utf-8", "surrogateescape")
    return hmac.new(host_key(common_dir), name, hashlib.sha256).hexdigest()
