"""A commit as a record states it: the `commit` object verification compares with the commit itself (pure:
takes any object shaped like a pygit2 commit)."""

from __future__ import annotations

from typing import Any

from srcprov.model.timefmt import rfc3339


def person(sig: Any) -> dict[str, str]:
    """A git identity as the record writes it."""
    return {
        "name": sig.raw_name.decode("utf-8", "backslashreplace"),
        "email": sig.raw_email.decode("utf-8", "backslashreplace"),
        "time": rfc3339(sig.time, sig.offset),
    }


def raw_parents(commit: Any) -> list[str]:
    """The parents the commit object names: a shallow clone's grafts (which hide them) do not count."""
    header = commit.read_raw().split(b"\n\n", 1)[0]
    return [line[7:].decode("ascii") for line in header.split(b"\n") if line.startswith(b"parent ")]


def commit_facts(commit: Any) -> dict[str, Any]:
    """The `commit` object of a record: what verification compares with the commit itself."""
    return {
        "id": str(commit.id),
        "tree": str(commit.tree_id),
        "parents": raw_parents(commit),
        "author": person(commit.author),
        "committer": person(commit.committer),
    }
