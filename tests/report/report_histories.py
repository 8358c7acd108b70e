"""Random git histories written with `git fast-import`, for the blame oracle tests and bench/report.

A history has a main lane and a few side lanes that branch, edit, rename, delete and re-add files, and
merge (both ways at once now and then, which makes criss-cross merges). Merged files take lines from
both parents. Contents include CRLF, no final newline, empty files, binary blobs, symlinks, a gitlink
(submodule) and a path that is not valid UTF-8.
"""

from __future__ import annotations

import os
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau "
         "upsilon phi chi psi omega return if else for while def class import yield None").split()
AUTHORS = [("Ann Author", "ann@example.com"), ("Bob Builder", "bob@example.com"),
           ("Bob B.", "bob@old.example.com"), ("Cy Coder", "cy@example.com")]
MAILMAP = b"Bob Builder <bob@example.com> Bob B. <bob@old.example.com>\n"
EPOCH = 1_600_000_000


def git_env(home: str | os.PathLike[str]) -> dict[str, str]:
    """An environment in which git reads no user or system configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", HOME=str(home), LC_ALL="C", TZ="UTC")
    return env


@dataclass
class Lane:
    files: dict[bytes, tuple[str, bytes]] = field(default_factory=dict)  # path -> (mode, content)
    head: int | None = None  # mark of the lane's last commit


class HistoryWriter:
    """Builds a fast-import stream of random commits."""

    def __init__(self, seed: int, nfiles: int = 12, lanes: int = 3, line_range: tuple[int, int] = (0, 30),
                 exotic: bool = True, gap: tuple[int, int] = (600, 6 * 3600)) -> None:
        self.rnd = random.Random(seed)
        self.out: list[bytes] = []
        self.mark = 0
        self.time = EPOCH
        self.lanes = [Lane() for _ in range(lanes)]
        self.nfiles = nfiles
        self.line_range = line_range
        self.exotic = exotic
        self.counter = 0
        self.commits = 0
        self.gap = gap  # seconds between commits (a history spanning years needs days)

    # --- contents ------------------------------------------------------------------------------
    def _line(self) -> bytes:
        self.counter += 1
        words = " ".join(self.rnd.choice(WORDS) for _ in range(self.rnd.randint(0, 6)))
        # Repeated short lines make diffs ambiguous, which is where blame implementations disagree.
        return (words if self.rnd.random() < 0.3 else f"{words} {self.counter}").encode()

    def _text(self) -> bytes:
        n = self.rnd.randint(*self.line_range)
        lines = [self._line() for _ in range(n)]
        eol = b"\r\n" if self.exotic and self.rnd.random() < 0.1 else b"\n"
        body = eol.join(lines)
        if lines and not (self.exotic and self.rnd.random() < 0.15):
            body += eol
        return body

    def _edit(self, content: bytes) -> bytes:
        lines = content.split(b"\n")
        for _ in range(self.rnd.randint(1, 4)):
            op = self.rnd.random()
            i = self.rnd.randint(0, len(lines))
            if op < 0.45:
                lines[i:i] = [self._line() for _ in range(self.rnd.randint(1, 4))]
            elif op < 0.7 and lines:
                del lines[min(i, len(lines) - 1): min(i, len(lines) - 1) + self.rnd.randint(1, 3)]
            elif lines:
                lines[min(i, len(lines) - 1)] = self._line()
        return b"\n".join(lines)

    def _new_path(self) -> bytes:
        d = self.rnd.choice([b"", b"src/", b"src/core/", b"docs/", b"lib/x/"])
        name = f"f{self.rnd.randint(0, 10 ** 6)}".encode()
        if self.exotic and self.rnd.random() < 0.05:
            name += b"-caf\xe9"  # not valid UTF-8
        if self.exotic and self.rnd.random() < 0.05:
            name += b" with space"
        return d + name + self.rnd.choice([b".py", b".txt", b".md", b""])

    # --- stream --------------------------------------------------------------------------------
    def _data(self, data: bytes) -> None:
        self.out.append(b"data %d\n" % len(data) + data + b"\n")

    def _commit(self, lane: Lane, changes: dict[bytes, tuple[str, bytes] | None], merge: Lane | None = None) -> None:
        self.mark += 1
        self.commits += 1
        self.time += self.rnd.randint(*self.gap)
        # Now and then a commit is dated before its parent (clock skew); blame must not care.
        t = self.time - (self.rnd.randint(0, 86400) if self.rnd.random() < 0.03 else 0)
        name, email = self.rnd.choice(AUTHORS)
        self.out.append(b"commit refs/heads/main\nmark :%d\n" % self.mark)
        self.out.append(f"author {name} <{email}> {t} +0000\n".encode())
        self.out.append(f"committer {name} <{email}> {self.time + self.rnd.randint(0, 7200)} +0000\n".encode())
        self._data(f"commit {self.mark}".encode())
        if lane.head is not None:
            self.out.append(b"from :%d\n" % lane.head)
        if merge is not None and merge.head is not None:
            self.out.append(b"merge :%d\n" % merge.head)
        for path, entry in sorted(changes.items()):
            quoted = b'"' + path.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
            if entry is None:
                self.out.append(b"D " + quoted + b"\n")
                continue
            mode, content = entry
            if mode == "160000":
                self.out.append(b"M 160000 " + content + b" " + quoted + b"\n")
            else:
                self.out.append(f"M {mode} inline ".encode() + quoted + b"\n")
                self._data(content)
            lane.files[path] = entry
        for path, entry in changes.items():
            if entry is None:
                lane.files.pop(path, None)
        lane.head = self.mark

    def initial(self) -> None:
        """The root commit, on lane 0, that every lane starts from."""
        files: dict[bytes, tuple[str, bytes] | None] = {self._new_path(): ("100644", self._text()) for _ in range(self.nfiles)}
        if self.exotic:
            files[b".mailmap"] = ("100644", MAILMAP)
            files[b"empty.txt"] = ("100644", b"")
            files[b"img.bin"] = ("100644", b"\x89PNG\r\n\x1a\n\0\0" + bytes(range(256)))
            files[b"link"] = ("120000", b"src")
            files[b"vendor/sub"] = ("160000", b"1" * 40)
        self._commit(self.lanes[0], files)
        for lane in self.lanes[1:]:
            lane.files = dict(self.lanes[0].files)
            lane.head = self.lanes[0].head

    def edit_commit(self, lane: Lane) -> None:
        """A commit that edits, adds, deletes, renames or re-adds a few files."""
        changes: dict[bytes, tuple[str, bytes] | None] = {}
        texts = [p for p, (m, _) in lane.files.items() if m in ("100644", "100755") and p not in (b".mailmap", b"img.bin")]
        for _ in range(self.rnd.randint(1, 3)):
            r = self.rnd.random()
            if r < 0.65 and texts:
                p = self.rnd.choice(texts)
                changes[p] = (lane.files[p][0], self._edit(lane.files[p][1]))
            elif r < 0.73:
                changes[self._new_path()] = ("100644", self._text())
            elif r < 0.8 and len(texts) > 3:
                p = self.rnd.choice(texts)
                changes[p] = None
                self.deleted = getattr(self, "deleted", []) + [(p, lane.files[p])]
            elif r < 0.88 and texts:
                # A rename, sometimes with a small edit: blame follows it.
                p = self.rnd.choice(texts)
                mode, content = lane.files[p]
                changes[p] = None
                changes[self._new_path()] = (mode, content if self.rnd.random() < 0.6 else self._edit(content))
            elif r < 0.92 and getattr(self, "deleted", None):
                p, entry = self.rnd.choice(self.deleted)  # a file deleted earlier comes back
                if p not in lane.files:
                    changes[p] = entry
            elif r < 0.95 and texts and self.exotic:
                p = self.rnd.choice(texts)
                changes[p] = ("100755" if lane.files[p][0] == "100644" else "100644", lane.files[p][1])
            elif r < 0.97 and self.exotic:
                changes[b"img.bin"] = ("100644", b"\0" + self._line())
            elif texts:
                # Only the exotic bytes of a text file change: its lines otherwise stay.
                p = self.rnd.choice(texts)
                changes[p] = (lane.files[p][0], lane.files[p][1].replace(b"\n", b"\r\n", 1))
        if not changes:
            changes[self._new_path()] = ("100644", self._text())
        self._commit(lane, changes)

    def _merged(self, ours: Lane, theirs: Lane) -> dict[bytes, tuple[str, bytes] | None]:
        """What a merge of THEIRS into OURS holds, as changes against OURS: both sides contribute lines."""
        changes: dict[bytes, tuple[str, bytes] | None] = {}
        for p, entry in theirs.files.items():
            mine = ours.files.get(p)
            if mine == entry:
                continue
            if mine is None:
                changes[p] = entry
            elif mine[0] in ("100644", "100755") and entry[0] in ("100644", "100755") and p != b"img.bin":
                a, b = mine[1].split(b"\n"), entry[1].split(b"\n")
                cut_a, cut_b = self.rnd.randint(0, len(a)), self.rnd.randint(0, len(b))
                mixed = a[:cut_a] + b[cut_b:]
                if self.rnd.random() < 0.3:
                    mixed.insert(self.rnd.randint(0, len(mixed)), self._line())  # an evil-merge line
                choice = self.rnd.random()
                # Sometimes a merge takes one side whole: blame then passes the file whole to that parent.
                content = mine[1] if choice < 0.15 else entry[1] if choice < 0.3 else b"\n".join(mixed)
                changes[p] = (mine[0], content)
        return changes

    def merge(self, ours: Lane, theirs: Lane) -> None:
        """Merge THEIRS into OURS."""
        self._commit(ours, self._merged(ours, theirs), merge=theirs)

    def criss_cross(self, a: Lane, b: Lane) -> None:
        """Merge A and B into each other from the same two heads."""
        a_head, a_files = a.head, dict(a.files)
        b_changes = self._merged(b, a)
        self.merge(a, b)
        saved = Lane(a_files, a_head)
        self._commit(b, b_changes, merge=saved)

    def build(self, commits: int) -> bytes:
        """A stream with about COMMITS commits; refs/heads/main ends at the main lane's head."""
        self.initial()
        while self.commits < commits:
            r = self.rnd.random()
            side = self.rnd.choice(self.lanes[1:]) if len(self.lanes) > 1 else None
            if side is None or r < 0.7:
                self.edit_commit(self.lanes[0] if side is None or r < 0.45 else side)
            elif r < 0.85:
                self.merge(self.lanes[0], side)
            elif r < 0.92:
                self.criss_cross(self.lanes[0], side)
            else:
                self.merge(side, self.lanes[0])
        # Every side lane ends merged, so all commits are reachable from main.
        for side in self.lanes[1:]:
            self.merge(self.lanes[0], side)
        # Leave main at lane 0's head (fast-import writes the last commit's ref last).
        self.out.append(b"reset refs/heads/main\nfrom :%d\n\n" % self.lanes[0].head)
        return b"".join(self.out)


def make_history(path: Path, seed: int, commits: int, bare: bool = True, **kw: object) -> Path:
    """A repository at PATH with a random history of about COMMITS commits on main."""
    env = git_env(path.parent)
    subprocess.run(["git", "init", "-q", *(["--bare"] if bare else []), "-b", "main", str(path)], check=True, env=env)
    stream = HistoryWriter(seed, **kw).build(commits)  # type: ignore[arg-type]
    subprocess.run(["git", "fast-import", "--quiet", "--force"], input=stream, cwd=path, check=True, env=env)
    return path
