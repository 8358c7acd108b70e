"""Work-tree repositories driven through the git CLI, and git blame as the oracle."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from report_histories import git_env

_LINE = re.compile(rb"^([0-9a-f]{40}|[0-9a-f]{64}) [0-9]+ [0-9]+")


class Builder:
    """A work-tree repository driven through the git CLI with fixed, increasing dates."""

    def __init__(self, path: Path, start: int = 1_600_000_000) -> None:
        self.path = path
        self.time = start
        self.env = git_env(path.parent)
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str | bytes, check: bool = True, author: str = "Ann Author <ann@example.com>",
            date: int | None = None) -> str:
        name, email = author[:-1].split(" <")
        t = f"@{date if date is not None else self.time} +0000"
        env = dict(self.env, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email, GIT_AUTHOR_DATE=t,
                   GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email, GIT_COMMITTER_DATE=t)
        p = subprocess.run(["git", *args], cwd=self.path, env=env, capture_output=True, check=False)
        if check and p.returncode:
            raise AssertionError(f"git {args} failed: {p.stderr.decode(errors='replace')}")
        return p.stdout.decode("utf-8", "surrogateescape").strip()

    def write(self, name: str | bytes, data: bytes) -> None:
        p = self.path / os.fsdecode(name)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)

    def commit(self, msg: str, *, days: float = 1, author: str = "Ann Author <ann@example.com>",
               add: bool = True) -> str:
        self.time += int(days * 86400)
        if add:
            self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", msg, author=author)
        return self.git("rev-parse", "HEAD")

    def merge(self, branch: str, resolve: dict[str, bytes] | None = None, *, days: float = 1) -> str:
        self.time += int(days * 86400)
        self.git("merge", "-q", "--no-ff", "--no-edit", branch, check=False)
        for name, data in (resolve or {}).items():
            self.write(name, data)
        self.git("add", "-A")
        self.git("commit", "-q", "--no-edit", "--allow-empty", check=False)
        return self.git("rev-parse", "HEAD")


def blame_oracle(repo: Path, rev: str, path: bytes, *extra: str) -> list[tuple[str, str]]:
    """(commit, "Name <email>") of each line, from `git blame --line-porcelain [EXTRA] REV -- PATH`."""
    out = subprocess.run(["git", "blame", "--line-porcelain", *extra, rev, "--", os.fsdecode(path)], cwd=repo,
                         capture_output=True, check=True).stdout
    result, commit, name = [], "", ""
    for line in out.split(b"\n"):
        if line.startswith(b"\t"):
            continue
        m = _LINE.match(line)
        if m:
            commit = m.group(1).decode()
        elif line.startswith(b"author "):
            name = line[7:].decode("utf-8", "backslashreplace")
        elif line.startswith(b"author-mail "):
            result.append((commit, f"{name} {line[12:].decode('utf-8', 'backslashreplace')}"))
    return result
