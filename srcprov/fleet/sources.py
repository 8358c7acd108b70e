"""Which repositories a fleet holds: `--repos FILE` (one path or clone URL a line) or `--repos DIR`."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from srcprov.errors import SrcprovError
from srcprov.model.urls import clean_url

# scheme://... or scp-like user@host:path (the form git itself accepts); a Windows drive letter is no host.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^(?:[^@/\s]+@)?[^:/\s]{2,}:(?!//)")


@dataclass(frozen=True)
class Entry:
    """One repository of the fleet: NAME shown in the report (never with credentials), and where it is.

    For a path, LOCATION is the absolute path; for a URL it is the URL as written (credentials and all,
    needed to fetch), which is never shown, logged or named after.
    """

    name: str
    location: str
    is_url: bool

    @property
    def source(self) -> str:
        """Where the repository came from, safe to show: the path, or the URL without credentials."""
        return clean_url(self.location) if self.is_url else self.location


def is_url(text: str) -> bool:
    """Whether an entry of a list is a clone URL rather than a path."""
    return bool(_URL.match(text)) and not os.path.exists(text)


def read_entries(spec: str) -> list[Entry]:
    """The fleet named by `--repos`: the lines of a file, or every repository below a directory."""
    p = Path(spec)
    if p.is_dir():
        return repositories_below(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SrcprovError(f"bad --repos: no such file or directory: {spec}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SrcprovError(f"bad --repos: cannot read {spec}: {getattr(e, 'strerror', None) or e}") from None
    entries = parse_list(text, p.resolve().parent)
    if not entries:
        raise SrcprovError(f"bad --repos: {spec} lists no repository")
    return entries


def parse_list(text: str, base: Path) -> list[Entry]:
    """Entries of a list file: one path or URL a line; blank lines and `#` comments skipped; a relative path
    is relative to BASE (the list's directory); the same repository listed twice counts once; an entry
    starting with `-` is refused."""
    out: dict[str, Entry] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            # git would read it as an option (`--upload-pack=...` runs a command); write a path as ./-name.
            raise SrcprovError(f"bad --repos: line {n}: {line[:40]!r} starts with '-' (write a path as ./{line[:20]})")
        if is_url(line):
            key = clean_url(line)
            entry = Entry(key, line, True)
        else:
            path = Path(os.path.expanduser(line))
            key = os.path.normpath(path if path.is_absolute() else base / path)
            entry = Entry(line, key, False)
        out.setdefault(key, entry)
    return _unique_names(list(out.values()))


def _looks_like_repository(d: Path) -> bool:
    """A work tree (has `.git`) or a bare repository (HEAD, objects/ and refs/)."""
    return (d / ".git").exists() or ((d / "HEAD").is_file() and (d / "objects").is_dir() and (d / "refs").is_dir())


def repositories_below(root: Path) -> list[Entry]:
    """Every repository at or below ROOT, in path order; a repository's own subdirectories (submodules,
    vendored checkouts) are not entered, and symbolic links are not followed."""
    root = root.resolve()
    found: list[Path] = []

    def walk(d: Path) -> None:
        if _looks_like_repository(d):
            found.append(d)
            return
        try:
            children = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            return
        for child in children:
            if child.is_dir(follow_symlinks=False) and child.name != ".git":
                walk(Path(child.path))

    walk(root)
    if not found:
        raise SrcprovError(f"bad --repos: no git repository below {root}")
    entries = [Entry(os.path.relpath(d, root) if d != root else d.name, str(d), False) for d in found]
    return _unique_names(entries)


def _unique_names(entries: list[Entry]) -> list[Entry]:
    """Names as given, made unique where two entries would show alike (`name (2)`)."""
    seen: dict[str, int] = {}
    out = []
    for e in entries:
        n = seen.get(e.name, 0) + 1
        seen[e.name] = n
        out.append(e if n == 1 else Entry(f"{e.name} ({n})", e.location, e.is_url))
    return out
