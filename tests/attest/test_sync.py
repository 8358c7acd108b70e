"""sync against a real (bare, on disk) remote: no record lost, both clones end equal, races retried."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from srcprov.git import Repo
from srcprov.notes import Removal, removed_records
from tests.attest.conftest import Env, commit_file, git, srcprov

REF = "refs/notes/srcprov"


def notes(repo: Path, ref: str = REF) -> dict[str, set[str]]:
    """commit -> set of record lines of every note on REF."""
    listing = subprocess.run(["git", "notes", "--ref", ref, "list"], cwd=repo, capture_output=True, text=True).stdout
    out = {}
    for line in listing.splitlines():
        blob, commit = line.split()
        data = subprocess.run(["git", "cat-file", "blob", blob], cwd=repo, capture_output=True, text=True).stdout
        out[commit] = {ln for ln in data.splitlines() if ln.strip()}
    return out


def setup(tmp_path: Path, gpg_env: Env) -> tuple[Path, Path, Path]:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    a, b = tmp_path / "a", tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare), str(a))
    commit_file(a, "README", "hello\n", "initial")
    git(a, "push", "-q", "origin", "main")
    git(tmp_path, "clone", "-q", str(bare), str(b))
    for r in (a, b):
        git(r, "config", "srcprov.signingKey", gpg_env.fpr["alice"])
    return bare, a, b


def test_records_made_in_both_clones_at_once_are_all_kept(tmp_path: Path, gpg_env: Env) -> None:
    bare, a, b = setup(tmp_path, gpg_env)
    # Both record the shared initial commit (two different records) and one commit each.
    commit_file(a, "a.txt", "a\n", "from a")
    git(b, "switch", "-q", "-c", "topic")
    commit_file(b, "b.txt", "b\n", "from b")
    for r in (a, b):  # different claims: two records of one commit made in the same second differ
        assert srcprov(r, "record", "HEAD~1", "HEAD", "--claim", f"clone={r.name}").returncode == 0
    expected = {c: lines for r in (a, b) for c, lines in notes(r).items()}
    assert len(notes(a)[git(a, "rev-parse", "main~1")] | notes(b)[git(b, "rev-parse", "main")]) == 2
    # Synced at the same time: one of them loses the push race and retries.
    procs = [subprocess.Popen([sys.executable, "-m", "srcprov", "sync", "--json"], cwd=r,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in (a, b)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert json.loads(out)["remote"] == "origin"
    for r in (a, b):  # the other way round
        assert srcprov(r, "sync").returncode == 0
    na, nb, nr = notes(a), notes(b), notes(bare)
    assert na == nb == nr
    first = git(a, "rev-parse", "main~1")
    for commit, lines in expected.items():
        assert lines <= na[commit], f"records of {commit} lost"
    assert len(na[first]) == 2  # both clones' records of the shared commit, cat_sort_uniq
    assert git(a, "rev-parse", REF) == git(b, "rev-parse", REF) == git(bare, "rev-parse", REF)
    # The remote's notes were fetched beside the local ones, never over them.
    assert git(a, "rev-parse", "refs/notes/remotes/origin/srcprov") == git(bare, "rev-parse", REF)
    assert git(a, "rev-list", "--count", "--merges", REF) != "0"


def test_a_push_that_loses_the_race_is_retried(tmp_path: Path, gpg_env: Env) -> None:
    bare, a, b = setup(tmp_path, gpg_env)
    assert srcprov(a, "record").returncode == 0
    assert srcprov(a, "sync").returncode == 0
    assert srcprov(b, "sync").returncode == 0
    commit_file(a, "a.txt", "a\n", "from a")
    assert srcprov(a, "record").returncode == 0
    commit_file(b, "b.txt", "b\n", "from b")
    assert srcprov(b, "record").returncode == 0
    assert srcprov(b, "sync").returncode == 0
    commit_file(b, "b2.txt", "b\n", "from b again")
    assert srcprov(b, "record").returncode == 0
    # B's second push lands right after A's fetch brought B's first one (from A's reference-transaction
    # hook): A's first push is rejected as non-fast-forward, as when another push wins a race.
    marker = tmp_path / "raced"
    hook = a / ".git" / "hooks" / "reference-transaction"
    hook.write_text(
        "#!/bin/sh\ncat >/dev/null\n"
        f'[ "$1" = committed ] && [ ! -e "{marker}" ] || exit 0\n'
        f'touch "{marker}"\n'
        f'env -u GIT_DIR -u GIT_INDEX_FILE -u GIT_WORK_TREE -u GIT_PREFIX git -C "{b}" push -q origin {REF}:{REF}\n'
    )
    hook.chmod(0o755)
    r = srcprov(a, "sync", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert marker.exists()
    assert out["pushed"] and out["attempts"] == 2, out
    assert srcprov(b, "sync").returncode == 0
    assert notes(a) == notes(b) == notes(bare)
    assert git(a, "rev-parse", "HEAD") in notes(bare) and git(b, "rev-parse", "HEAD") in notes(bare)


def test_sync_with_a_remote_without_notes_pushes_and_bad_remote_is_an_error(tmp_path: Path, gpg_env: Env) -> None:
    bare, a, _ = setup(tmp_path, gpg_env)
    assert srcprov(a, "record").returncode == 0
    r = srcprov(a, "sync")
    assert r.returncode == 0, r.stderr
    assert "pushed refs/notes/srcprov to origin" in r.stdout
    assert git(bare, "rev-parse", REF) == git(a, "rev-parse", REF)
    r = srcprov(a, "sync", "--remote", "nowhere")
    assert r.returncode == 2 and "no remote named 'nowhere'" in r.stderr


def test_doctor_flags_a_fetch_refspec_that_overwrites_local_notes(tmp_path: Path, gpg_env: Env) -> None:
    _, a, _ = setup(tmp_path, gpg_env)
    git(a, "config", "--add", "remote.origin.fetch", "+refs/notes/*:refs/notes/*")
    r = srcprov(a, "doctor", "--json")
    assert r.returncode == 1
    bad = [f for f in json.loads(r.stdout)["findings"] if not f["ok"] and "overwrite local records" in f["what"]]
    assert bad and "srcprov sync" in bad[0]["fix"]


def _remove_on_b_and_push(b: Path, commit: str, keep: set[str]) -> str:
    """In clone B, replace COMMIT's note with KEEP through git (a removal srcprov never makes); push plainly."""
    git(b, "notes", "--ref", REF, "add", "-f", "-m", "\n".join(sorted(keep)), commit)
    git(b, "push", "-q", "origin", f"{REF}:{REF}")
    return git(b, "rev-parse", REF)


def test_a_removal_on_the_remote_never_comes_back_by_fast_forward(tmp_path: Path, gpg_env: Env) -> None:
    """Our notes ref is an ancestor of the remote's, which removed a record: a fast-forward would drop it
    here too; sync makes a merge commit holding the union instead, and pushes it."""
    bare, a, b = setup(tmp_path, gpg_env)
    c = git(a, "rev-parse", "HEAD")
    assert srcprov(a, "record").returncode == 0
    assert srcprov(a, "record", "--force", "--claim", "n=2").returncode == 0
    assert srcprov(a, "sync").returncode == 0
    assert srcprov(b, "sync").returncode == 0
    r1, r2 = sorted(notes(a)[c])
    ours = git(a, "rev-parse", REF)
    removal = _remove_on_b_and_push(b, c, {r2})
    assert removed_records(Repo(bare), [c]) == [Removal(c, hashlib.sha256(r1.encode()).hexdigest(), removal)]
    assert git(tmp_path, "--git-dir", str(bare), "merge-base", "--is-ancestor", ours, removal) == ""
    out = json.loads(srcprov(a, "sync", "--json").stdout)
    assert out["pushed"] and not any("fast-forward" in m for m in out["merges"]), out
    assert notes(a)[c] == notes(bare)[c] == {r1, r2}
    merge = git(a, "rev-parse", REF)
    assert git(a, "rev-list", "--parents", "-n1", merge).split()[1:] == [ours, removal]
    # Nothing removed, nothing to merge: the next sync is a plain fast-forward of nothing.
    assert json.loads(srcprov(a, "sync", "--json").stdout)["pushed"] is False
    # The removal stays in the history both now share (verify --strict's walk), and r1 stands again.
    assert removed_records(Repo(a), [c]) == []


def test_a_removal_on_the_remote_does_not_propagate_and_the_push_holds_the_union(tmp_path: Path, gpg_env: Env) -> None:
    bare, a, b = setup(tmp_path, gpg_env)
    c = git(a, "rev-parse", "HEAD")
    assert srcprov(a, "record").returncode == 0
    assert srcprov(a, "sync").returncode == 0
    assert srcprov(b, "sync").returncode == 0
    (r1,) = notes(b)[c]
    assert srcprov(b, "record", "--force", "--claim", "n=2", c).returncode == 0
    (r2,) = notes(b)[c] - {r1}
    _remove_on_b_and_push(b, c, {r2})  # the remote now holds r2 and not r1
    d = commit_file(a, "a.txt", "a\n", "from a")
    assert srcprov(a, "record").returncode == 0  # both sides moved: a real merge
    out = json.loads(srcprov(a, "sync", "--json").stdout)
    assert out["pushed"], out
    na, nr = notes(a), notes(bare)
    assert na == nr
    assert na[c] == {r1, r2}, "the local record was lost or the remote's was not merged"
    assert d in nr
