"""A fleet entry as a repository on a worker: a path opened where it is, a URL cloned into the worker's cache.

A clone is bare and keeps no URL: it is fetched from the URL given each time, so credentials in a URL are
never written to its config, its name, a log line or an error message.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from pathlib import Path

from srcprov.errors import SrcprovError
from srcprov.fleet.sources import Entry
from srcprov.git import Repo, no_git_env, run_git
from srcprov.model.urls import clean_url, url_name

CACHE_ENV = "SRCPROV_FLEET_CACHE"
# What a clone fetches: branches, tags and the notes (records live on refs/notes/srcprov).
REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", "+refs/notes/*:refs/notes/*")
_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def clone_cache() -> Path:
    """Where this worker keeps its clones: $SRCPROV_FLEET_CACHE, else $XDG_CACHE_HOME/srcprov/fleet."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "srcprov" / "fleet"


def scrubbed(text: str, url: str) -> str:
    """TEXT (a git error) with URL and any `user:token@` in it replaced by the URL without credentials."""
    return _CREDENTIALS.sub("", text.replace(url, clean_url(url)))


def open_entry(entry: Entry, cache: Path | None = None) -> Repo:
    """The repository of ENTRY: a path must be a repository itself (not a directory inside one); a URL is
    cloned into CACHE (default `clone_cache()`), or fetched again when a clone is already there."""
    if entry.is_url:
        return _clone(entry.location, cache or clone_cache())
    path = Path(entry.location)
    if not path.exists():
        raise SrcprovError(f"no such directory: {entry.location}")
    if not os.access(path, os.R_OK | os.X_OK):
        raise SrcprovError(f"cannot read {entry.location}: permission denied")
    repo = Repo(path)
    here = path.resolve()
    if here not in (repo.workdir, repo.git_dir):
        raise SrcprovError(f"not a git repository: {entry.location} (it lies inside {repo.workdir or repo.git_dir})")
    return repo


def _clone(url: str, cache: Path) -> Repo:
    cleaned = clean_url(url)
    digest = hashlib.sha256(cleaned.encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", url_name(url))[:60] or "repo"
    target = cache / f"{name}-{digest}.git"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        lock = open(cache / f"{name}-{digest}.lock", "w")  # noqa: SIM115  (held until the clone is current)
    except OSError as e:
        raise SrcprovError(f"cannot use the clone cache {cache}: {e.strerror or e}") from None
    # Never wait on a prompt nobody can answer: a worker has no terminal.
    env = no_git_env() | {"GIT_TERMINAL_PROMPT": "0"}
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (target / "HEAD").is_file():
                run_git(["init", "-q", "--bare", str(target)], env=env)
            run_git(["fetch", "-q", "--prune", "--no-write-fetch-head", "--", url, *REFSPECS], cwd=target, env=env)
            head = run_git(["ls-remote", "--symref", "--", url, "HEAD"], cwd=target, env=env).stdout.decode(errors="replace")
            m = re.match(r"ref: (refs/heads/\S+)\tHEAD", head)
            if m:
                run_git(["symbolic-ref", "HEAD", m.group(1)], cwd=target, env=env)
        except SrcprovError as e:
            raise SrcprovError(f"cannot clone {cleaned}: {scrubbed(str(e), url)}") from None
        except OSError as e:
            raise SrcprovError(f"cannot clone {cleaned} into {target}: {e.strerror or e}") from None
    return Repo(target)
