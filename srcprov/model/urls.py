"""Remote URLs as srcprov writes them: never with credentials, query strings or fragments."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit


def clean_url(url: str) -> str:
    """A remote URL without credentials: `https://user:token@host/x?t=1` -> `https://host/x`.

    scp-like `git@host:path` becomes `ssh://host/path`; a local path becomes a file:// URL.
    """
    url = url.strip()
    scp = re.match(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.*)$", url)
    if "://" not in url and scp and not os.path.isabs(url):
        return f"ssh://{scp.group(1)}/{scp.group(2).lstrip('/')}"
    if "://" not in url:
        return Path(url).resolve().as_uri() if url else url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if parts.scheme == "file":
        return urlunsplit((parts.scheme, "", parts.path, "", ""))
    # Query strings and fragments can carry tokens too (`?private_token=`): drop them.
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def url_name(url: str) -> str:
    """The repository name a remote URL gives: the last part of the CLEANED URL's path, without `.git`
    (`https://u:TOKEN@host/o/r.git?t=1#f` -> `r`); its host when the path is empty; "" for no URL."""
    cleaned = clean_url(url)
    if not cleaned:
        return ""
    parts = urlsplit(cleaned)
    name = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1]) or (parts.hostname or "")
    return name.removesuffix(".git") or name
