"""The report's caches in the git directory: attribution by (commit, path), blame start points, numstat,
and the lines alive at each history sample.

Every entry is immutable once written (it is keyed by commit ids, whose history never changes), carries
its own key and a checksum, and is written atomically. A read that fails any check is a miss: the caller
recomputes and rewrites the entry, so a cache can make a report faster but never different.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from srcprov import state
from srcprov.git import Repo

FORMAT = 1
_OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# How many blame start maps (one per reported revision) to keep; each is one small file.
KEEP_START_MAPS = 32

Runs = list[tuple[str, int]]
# A blame's entries: (commit, first line in that commit's version of the file, first line in the blamed
# version, number of lines, the file's path in that commit). What maps evidence ranges onto today's lines.
Entries = list[tuple[str, int, int, int, bytes]]


def runs_of(lines: list[str]) -> Runs:
    """The runs of a blame given as each line's commit."""
    runs: Runs = []
    for cid in lines:
        if runs and runs[-1][0] == cid:
            runs[-1] = (cid, runs[-1][1] + 1)
        else:
            runs.append((cid, 1))
    return runs


@dataclass
class CacheStats:
    """What a report took from the cache and what it had to redo."""

    hits: int = 0
    misses: int = 0
    rebuilt: int = 0  # entries present but corrupt or stale, recomputed
    blamed: list[bytes] = field(default_factory=list)  # paths blamed in this run
    ranged: int = 0  # of those, blamed only back to an earlier blame of the file (`git blame ^BASE START`)
    derived: int = 0  # blames derived in process from a parent's blame and git's diff (report.derive)
    samples_computed: int = 0  # history samples counted afresh (not read from the cache)
    samples_cached: int = 0  # history samples read from the cache
    entries_blamed: int = 0  # files blamed again for their lines' original numbers (report.origin)


def _fingerprint(repo: Repo) -> str:
    """What, besides commit ids, can change blame's answer: git's version, replaced objects, grafts."""
    h = hashlib.sha256()
    h.update(f"format {FORMAT}\n".encode())
    h.update(repo.git("version").stdout)
    h.update(repo.object_format.encode())
    replaced = repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/replace/").stdout
    h.update(replaced)
    for name in ("shallow", "info/grafts"):
        p = repo.common_dir / name
        if p.is_file():
            h.update(name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:20]


def _sealed(body: bytes) -> bytes:
    return body + b"#sha256 " + hashlib.sha256(body).hexdigest().encode() + b"\n"


def _unsealed(data: bytes) -> bytes | None:
    """The body of a sealed entry, or None when its checksum does not match (a torn or corrupt file)."""
    body, sep, tail = data[:-1].rpartition(b"\n#sha256 ")
    if not sep or not data.endswith(b"\n"):
        return None
    body += b"\n"
    if hashlib.sha256(body).hexdigest().encode() != tail:
        return None
    return body


def _read_sealed(path: Path) -> bytes | None:
    """The body of the sealed entry at PATH, or None (no such file, or a failed checksum)."""
    try:
        return _unsealed(path.read_bytes())
    except OSError:
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class ReportCache:
    """The on-disk caches of one repository (`<common git dir>/srcprov/cache/report-v1/<fingerprint>`)."""

    def __init__(self, repo: Repo, enabled: bool = True) -> None:
        self.enabled = enabled
        self.stats = CacheStats()
        self.root: Path | None = None
        self.usable_start_points = True
        if enabled:
            fp = _fingerprint(repo)
            self.root = state.cache(repo.common_dir) / f"report-v{FORMAT}" / fp
        # Replaced objects and grafts change parents for git but not for pygit2; then blame starts at REV.
        self.usable_start_points = not (
            repo.git("for-each-ref", "--count=1", "refs/replace/").stdout.strip()
            or (repo.common_dir / "info" / "grafts").exists()
            or (repo.common_dir / "shallow").exists()
        )

    # --- attribution: (commit, path) -> line runs ------------------------------------------------
    # VARIANT names what else changes blame's answer for a key (an ignore-revs list); "" for git's defaults.
    def _attr_path(self, commit: str, path: bytes, variant: str = "") -> Path:
        assert self.root is not None
        key = hashlib.sha256(commit.encode() + b"\0" + path + (b"\0" + variant.encode() if variant else b"")).hexdigest()
        return self.root / "attr" / key[:2] / key[2:]

    @staticmethod
    def _attr_header(commit: str, path: bytes, blob: str, nlines: int, variant: str = "") -> bytes:
        head = {"commit": commit, "path": path.hex(), "blob": blob, "lines": nlines}
        if variant:
            head["variant"] = variant
        return json.dumps(head).encode() + b"\n"

    def get_attribution(self, commit: str, path: bytes, blob: str, nlines: int, variant: str = "") -> Runs | None:
        """The cached line runs of PATH blamed at COMMIT (under VARIANT), or None (a miss, or a failed check)."""
        if not self.enabled:
            return None
        p = self._attr_path(commit, path, variant)
        try:
            data = p.read_bytes()
        except OSError:
            self.stats.misses += 1
            return None
        runs = self._parse_attribution(data, commit, path, blob, nlines, variant)
        if runs is None:
            self.stats.rebuilt += 1
        else:
            self.stats.hits += 1
        return runs

    def _keyed(self, body: bytes | None, commit: str, path: bytes, blob: str, nlines: int, variant: str) -> bytes | None:
        """What follows the header of a sealed (commit, path) entry's BODY, or None when the header is another
        key's (an entry moved under this one) or the blob changed (stale)."""
        if body is None:
            return None
        header, _, rest = body.partition(b"\n")
        return rest if header + b"\n" == self._attr_header(commit, path, blob, nlines, variant) else None

    def _parse_attribution(
        self, data: bytes, commit: str, path: bytes, blob: str, nlines: int, variant: str
    ) -> Runs | None:
        rest = self._keyed(_unsealed(data), commit, path, blob, nlines, variant)
        if rest is None:
            return None
        runs: Runs = []
        total = 0
        try:
            for line in rest.decode("ascii").splitlines():
                cid, count = line.split(" ")
                n = int(count)
                if n <= 0 or not _OID.fullmatch(cid):
                    return None
                runs.append((cid, n))
                total += n
        except (ValueError, UnicodeDecodeError):
            return None
        return runs if total == nlines else None

    def put_attribution(self, commit: str, path: bytes, blob: str, nlines: int, runs: Runs, variant: str = "") -> None:
        """Store the line runs of PATH blamed at COMMIT (under VARIANT)."""
        if not self.enabled:
            return
        body = self._attr_header(commit, path, blob, nlines, variant) + "".join(f"{c} {n}\n" for c, n in runs).encode()
        try:
            _write_atomic(self._attr_path(commit, path, variant), _sealed(body))
        except OSError:
            pass  # a read-only git directory makes the report slower, not wrong

    # --- blame entries: (commit, path) -> where each line came from ----------------------------------
    # Kept only for files with lines of commits whose line-level evidence the report maps (report.origin).
    def _entries_path(self, commit: str, path: bytes, variant: str = "") -> Path:
        assert self.root is not None
        key = hashlib.sha256(b"entries\0" + commit.encode() + b"\0" + path + b"\0" + variant.encode()).hexdigest()
        return self.root / "entries" / key[:2] / key[2:]

    def get_entries(self, commit: str, path: bytes, blob: str, nlines: int, variant: str = "") -> Entries | None:
        """The cached blame entries of PATH blamed at COMMIT (under VARIANT), or None (a miss, a failed check)."""
        if not self.enabled:
            return None
        rest = self._keyed(_read_sealed(self._entries_path(commit, path, variant)), commit, path, blob, nlines, variant)
        if rest is None:
            return None
        entries: Entries = []
        seen = [False] * nlines
        try:
            for line in rest.decode("ascii").splitlines():
                cid, orig_s, final_s, count_s, path_hex = line.split(" ")
                orig, final, count = int(orig_s), int(final_s), int(count_s)
                if not _OID.fullmatch(cid) or orig < 1 or final < 1 or count < 1 or final - 1 + count > nlines:
                    return None
                if any(seen[final - 1 : final - 1 + count]):
                    return None
                seen[final - 1 : final - 1 + count] = [True] * count
                entries.append((cid, orig, final, count, bytes.fromhex(path_hex)))
        except (ValueError, UnicodeDecodeError):
            return None
        return entries if all(seen) else None

    def put_entries(self, commit: str, path: bytes, blob: str, nlines: int, entries: Entries, variant: str = "") -> None:
        """Store the blame entries of PATH blamed at COMMIT (under VARIANT)."""
        if not self.enabled:
            return
        body = self._attr_header(commit, path, blob, nlines, variant) + "".join(
            f"{c} {o} {f} {n} {p.hex()}\n" for c, o, f, n, p in entries).encode()
        try:
            _write_atomic(self._entries_path(commit, path, variant), _sealed(body))
        except OSError:
            pass

    # --- blame start points: revision -> {path: (start commit, blob)} -----------------------------
    def _start_path(self, commit: str) -> Path:
        assert self.root is not None
        return self.root / "starts" / commit

    def get_start_points(self, commit: str) -> dict[bytes, tuple[str, str]] | None:
        """The blame start point of every file at COMMIT, as stored by an earlier report, or None."""
        if not (self.enabled and self.usable_start_points):
            return None
        body = _read_sealed(self._start_path(commit))
        if body is None:
            return None
        try:
            doc = json.loads(body)
            if doc.get("commit") != commit:
                return None
            return {bytes.fromhex(p): (s, b) for p, (s, b) in doc["starts"].items()}
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def put_start_points(self, commit: str, starts: dict[bytes, tuple[str, str]]) -> None:
        """Store the start points of COMMIT's files; keep only the newest few revisions' maps."""
        if not (self.enabled and self.usable_start_points):
            return
        doc = {"commit": commit, "starts": {p.hex(): [s, b] for p, (s, b) in sorted(starts.items())}}
        try:
            _write_atomic(self._start_path(commit), _sealed(json.dumps(doc).encode() + b"\n"))
            maps = sorted(self._start_path(commit).parent.iterdir(), key=lambda q: q.stat().st_mtime)
            for old in maps[:-KEEP_START_MAPS]:
                old.unlink(missing_ok=True)
        except OSError:
            pass

    # --- history samples: (revision, variant) -> lines alive by blamed commit ----------------------
    def _sample_path(self, commit: str, variant: str) -> Path:
        assert self.root is not None
        key = hashlib.sha256(commit.encode() + b"\0" + variant.encode()).hexdigest()
        return self.root / "samples" / key[:2] / key[2:]

    def get_sample(self, commit: str, variant: str) -> dict[str, int] | None:
        """The lines alive at COMMIT by blamed commit, as stored by an earlier history, or None."""
        if not self.enabled:
            return None
        body = _read_sealed(self._sample_path(commit, variant))
        if body is None:
            return None
        try:
            doc = json.loads(body)
            if doc.get("commit") != commit or doc.get("variant") != variant:
                return None
            lines = doc["lines"]
            if not isinstance(lines, dict) or not all(
                isinstance(c, str) and len(c) in (40, 64) and type(n) is int and n > 0 for c, n in lines.items()
            ):
                return None
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        self.stats.samples_cached += 1
        return lines

    def put_sample(self, commit: str, variant: str, lines: dict[str, int]) -> None:
        """Store the lines alive at COMMIT by blamed commit."""
        if not self.enabled:
            return
        doc = {"commit": commit, "variant": variant, "lines": dict(sorted(lines.items()))}
        try:
            _write_atomic(self._sample_path(commit, variant), _sealed(json.dumps(doc).encode() + b"\n"))
        except OSError:
            pass

    # --- numstat: commit -> [(path, insertions, deletions)] ---------------------------------------
    def _numstat_path(self) -> Path:
        assert self.root is not None
        return self.root / "numstat.jsonl"

    def get_numstat(self) -> dict[str, list[tuple[bytes, int | None, int | None]]]:
        """Every commit's stored numstat; lines that fail their checksum are skipped (recomputed later)."""
        if not self.enabled:
            return {}
        try:
            data = self._numstat_path().read_bytes()
        except OSError:
            return {}
        found: dict[str, list[tuple[bytes, int | None, int | None]]] = {}
        for line in data.split(b"\n"):
            digest, _, payload = line.partition(b" ")
            if not payload or hashlib.sha256(payload).hexdigest()[:16].encode() != digest:
                continue
            try:
                cid, files = json.loads(payload)
                found[cid] = [(bytes.fromhex(p), i, d) for p, i, d in files]
            except (ValueError, TypeError):
                continue
        return found

    def add_numstat(self, entries: dict[str, list[tuple[bytes, int | None, int | None]]]) -> None:
        """Append commits' numstat to the store (one checksummed JSON line per commit)."""
        if not (self.enabled and entries):
            return
        lines = []
        for cid, files in entries.items():
            payload = json.dumps([cid, [[p.hex(), i, d] for p, i, d in files]], separators=(",", ":")).encode()
            lines.append(hashlib.sha256(payload).hexdigest()[:16].encode() + b" " + payload + b"\n")
        try:
            path = self._numstat_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            # One write per batch in append mode: a torn line from a concurrent writer fails its checksum.
            with open(path, "ab") as f:
                f.write(b"\n" + b"".join(lines))
        except OSError:
            pass
