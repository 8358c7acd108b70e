"""The cache never changes a result: cold equals warm, and a corrupt or stale entry is found and rebuilt."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from report_histories import git_env

from srcprov.git import Repo
from srcprov.report.cache import ReportCache
from srcprov.report.model import parse_buckets, parse_windows
from srcprov.report.summary import build_report

AS_OF = 1_600_000_000 + 12 * 86400  # inside the generated histories: windows catch some commits


def report(path: Path, rev: str = "main", enabled: bool = True) -> tuple[dict, ReportCache]:
    repo = Repo(path)
    cache = ReportCache(repo, enabled=enabled)
    r = build_report(repo, str(repo.resolve_commit(rev).id), as_of=AS_OF, date_field="author",
                     buckets=parse_buckets("1d,14d,90d,365d,730d"), windows=parse_windows("14d,90d,365d"),
                     cache=cache)
    return r.doc, cache


def attr_files(path: Path) -> list[Path]:
    return sorted(p for p in (path / "srcprov" / "cache").rglob("*") if p.is_file() and "attr" in p.parts)


def test_cold_and_warm_reports_are_equal_and_warm_redoes_nothing(history) -> None:
    path = history(21, 80)
    uncached, _ = report(path, enabled=False)
    cold, c1 = report(path)
    assert c1.stats.hits == 0 and c1.stats.blamed
    warm, c2 = report(path)
    assert cold == warm == uncached
    assert c2.stats.blamed == [] and c2.stats.misses == 0 and c2.stats.rebuilt == 0
    assert c2.stats.hits == cold["totals"]["files"]


def test_a_later_revision_blames_only_the_files_that_changed(history) -> None:
    path = history(22, 80)
    report(path, "main~3")
    changed = subprocess.run(["git", "diff", "--name-only", "-z", "main~3", "main"], cwd=path, capture_output=True,
                             check=True).stdout.split(b"\0")
    doc, cache = report(path, "main")
    assert set(cache.stats.blamed) <= set(changed)
    assert doc == report(path, "main", enabled=False)[0]


def test_one_new_commit_touching_one_file(history, tmp_path: Path) -> None:
    path = history(23, 60)
    report(path)
    # A new commit that changes one file, written with plumbing (the repository is bare).
    env = git_env(tmp_path)
    def git(*args: str, input: bytes | None = None) -> str:
        return subprocess.run(["git", *args], cwd=path, env=env, input=input, capture_output=True,
                              check=True).stdout.decode().strip()
    target = git("ls-tree", "-r", "--name-only", "main", "src/").splitlines()[0]
    blob = git("hash-object", "-w", "--stdin", input=b"brand new content\n")
    index = tmp_path / "index"
    env["GIT_INDEX_FILE"] = str(index)
    git("read-tree", "main")
    git("update-index", "--cacheinfo", f"100644,{blob},{target}")
    tree = git("write-tree")
    env.update(GIT_AUTHOR_NAME="A", GIT_AUTHOR_EMAIL="a@x", GIT_COMMITTER_NAME="A", GIT_COMMITTER_EMAIL="a@x",
               GIT_AUTHOR_DATE="@1640000000 +0000", GIT_COMMITTER_DATE="@1640000000 +0000")
    commit = git("commit-tree", tree, "-p", "main", "-m", "one file")
    git("update-ref", "refs/heads/main", commit)
    doc, cache = report(path)
    assert cache.stats.blamed == [target.encode()]
    assert doc == report(path, enabled=False)[0]


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "garbage"])
def test_corrupt_attribution_entry_is_detected_and_rebuilt(history, damage: str) -> None:
    path = history(24, 40)
    cold, _ = report(path)
    victim = attr_files(path)[0]
    data = victim.read_bytes()
    if damage == "flip":
        i = len(data) // 2
        data = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = b""
    else:
        data = b"\x00\xffnot a cache entry\n"
    victim.write_bytes(data)
    warm, cache = report(path)
    assert warm == cold
    assert cache.stats.rebuilt == 1 and len(cache.stats.blamed) == 1
    again, cache = report(path)
    assert again == cold and cache.stats.rebuilt == 0 and cache.stats.blamed == []


def test_stale_entry_with_a_valid_checksum_is_detected(history) -> None:
    """An entry moved under another key (valid seal, wrong key) is not trusted."""
    path = history(25, 40)
    cold, _ = report(path)
    a, b = attr_files(path)[:2]
    b.write_bytes(a.read_bytes())
    warm, cache = report(path)
    assert warm == cold and cache.stats.rebuilt == 1


def test_corrupt_start_points_and_numstat_do_not_change_the_result(history) -> None:
    path = history(26, 60)
    cold, _ = report(path)
    root = next((path / "srcprov" / "cache").glob("report-v*/*"))
    for p in (root / "starts").iterdir():
        p.write_bytes(p.read_bytes()[:-20] + b"corrupt\n")
    numstat = root / "numstat.jsonl"
    lines = numstat.read_bytes().split(b"\n")
    lines[len(lines) // 2] = lines[len(lines) // 2].replace(b"1", b"2")
    numstat.write_bytes(b"\n".join(lines) + b"\n{half a line")
    warm, _ = report(path)
    assert warm == cold


def test_replace_refs_disable_start_points(history, tmp_path: Path) -> None:
    """With refs/replace git's parents differ from pygit2's: blame must start at the revision itself."""
    path = history(27, 40)
    env = git_env(tmp_path)
    old = subprocess.run(["git", "rev-parse", "main~5"], cwd=path, env=env, capture_output=True, text=True).stdout.strip()
    new = subprocess.run(["git", "rev-parse", "main~10"], cwd=path, env=env, capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "replace", old, new], cwd=path, env=env, check=True)
    repo = Repo(path)
    assert not ReportCache(repo).usable_start_points
    from test_attribution import assert_matches_blame  # noqa: I001
    assert assert_matches_blame(path, "main") > 0


def test_a_resealed_entry_naming_no_commit_id_is_a_miss(history) -> None:
    """A run whose commit is not an object id (a resealed entry) is refused like a torn one, never looked up."""
    import hashlib

    path = history(25, 40)
    cold, _ = report(path)
    entry = attr_files(path)[0]
    body = entry.read_bytes().rpartition(b"#sha256 ")[0]
    header, _, runs = body.partition(b"\n")
    cid, _, rest = runs.partition(b" ")
    forged = header + b"\n" + b"z" * len(cid) + b" " + rest
    entry.write_bytes(forged + b"#sha256 " + hashlib.sha256(forged).hexdigest().encode() + b"\n")
    warm, cache = report(path)
    assert warm == cold and cache.stats.rebuilt == 1
