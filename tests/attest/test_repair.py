"""repair: records for commits a forge (or git without hooks) made, from the recorded commits they came from."""

from __future__ import annotations

import json
from pathlib import Path

from tests.attest.conftest import Env, commit_file, git, srcprov


def cp_record(repo: Path, commit: str) -> dict:
    """The decoded commit-provenance predicate of COMMIT."""
    out = json.loads(srcprov(repo, "show", commit, "--json").stdout)
    cps = [r["statement"]["predicate"] for r in out["records"]
           if r["predicateType"] == "urn:srcprov:commit-provenance:v1"]
    assert len(cps) == 1, out
    return cps[0]


def repair(repo: Path, *args: str) -> dict:
    r = srcprov(repo, "repair", *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def pr_branch(repo: Path, name: str, n: int) -> list[str]:
    """A recorded pull-request branch of N commits off main."""
    git(repo, "switch", "-q", "-c", name, "main")
    made = [commit_file(repo, f"{name}/f{i}.txt", f"{name} {i}\n", f"{name} {i}") for i in range(n)]
    assert srcprov(repo, "record", f"main..{name}").returncode == 0
    git(repo, "switch", "-q", "main")
    return made


def test_squash_merge_names_the_pull_requests_commits(repo: Path, gpg_env: Env) -> None:
    pr = pr_branch(repo, "pr", 3)
    git(repo, "merge", "-q", "--squash", "pr")
    git(repo, "commit", "-q", "-m", "Squashed PR (#1)")
    squash = git(repo, "rev-parse", "HEAD")
    dry = repair(repo, "--dry-run")
    assert dry["dryRun"] and dry["repaired"] == [{"commit": squash, "rewrittenFrom": pr, "match": "squash"}]
    assert srcprov(repo, "show", squash, "--json").stdout.count('"records": []') == 1  # nothing written
    out = repair(repo)
    assert out["repaired"][0]["commit"] == squash
    pred = cp_record(repo, squash)
    assert pred["recorder"]["trigger"] == "repair"
    assert [x["commit"] for x in pred["rewrittenFrom"]] == pr
    assert all(len(x["record"]["sha256"]) == 64 for x in pred["rewrittenFrom"])
    assert srcprov(repo, "verify", "HEAD").returncode == 0
    # A second run has nothing left to do.
    assert repair(repo)["repaired"] == []


def test_rebase_merge_onto_a_moved_main_matches_by_patch_id(repo: Path, gpg_env: Env) -> None:
    pr = pr_branch(repo, "pr", 2)
    commit_file(repo, "main.txt", "moved on\n", "main moved")
    assert srcprov(repo, "record").returncode == 0
    # What a forge's "rebase and merge" does, with plain git and no hooks.
    git(repo, "switch", "-q", "-c", "rebased", "pr")
    git(repo, "rebase", "-q", "main")
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", "rebased")
    new = git(repo, "rev-list", "--reverse", "HEAD~2..HEAD").split()
    out = repair(repo, "HEAD~2..HEAD")
    assert [(m["commit"], m["rewrittenFrom"], m["match"]) for m in out["repaired"]] == \
        [(new[0], [pr[0]], "patch-id"), (new[1], [pr[1]], "patch-id")]
    for n, old in zip(new, pr, strict=True):
        assert [x["commit"] for x in cp_record(repo, n)["rewrittenFrom"]] == [old]
    assert srcprov(repo, "verify", "HEAD~2..HEAD").returncode == 0


def test_cherry_pick_is_repaired_and_a_revert_is_not_matched_to_its_ancestor(repo: Path, gpg_env: Env) -> None:
    (fix,) = pr_branch(repo, "fix", 1)
    commit_file(repo, "other.txt", "x\n", "other")
    assert srcprov(repo, "record").returncode == 0
    git(repo, "cherry-pick", fix)
    pick = git(repo, "rev-parse", "HEAD")
    git(repo, "revert", "--no-edit", "HEAD")  # its tree equals the recorded "other" commit's
    revert = git(repo, "rev-parse", "HEAD")
    out = repair(repo, "HEAD~2..HEAD")
    assert out["repaired"] == [{"commit": pick, "rewrittenFrom": [fix], "match": "patch-id"}]
    assert out["unmatched"] == [revert]


def test_ambiguous_sources_are_reported_not_guessed(repo: Path, gpg_env: Env) -> None:
    # The same change made twice, by two authors, both recorded; then an unrecorded copy of it.
    a = pr_branch(repo, "one", 1)[0]
    git(repo, "switch", "-q", "-c", "two", "main")
    Path(repo, "one").mkdir()
    Path(repo, "one/f0.txt").write_text("one 0\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "same change", "--author", "Bob Reviewer <bob@example.com>")
    b = git(repo, "rev-parse", "HEAD")
    assert srcprov(repo, "record").returncode == 0
    git(repo, "switch", "-q", "main")
    commit_file(repo, "main.txt", "m\n", "main moved")
    assert srcprov(repo, "record").returncode == 0
    git(repo, "cherry-pick", a)
    pick = git(repo, "rev-parse", "HEAD")
    out = repair(repo, "HEAD^!")
    assert out["repaired"] == []
    assert out["ambiguous"] == [{"commit": pick, "match": "patch-id", "candidates": sorted([a, b])}]
    text = srcprov(repo, "repair", "HEAD^!")
    assert "ambiguous" in text.stdout and text.returncode == 0
    assert json.loads(srcprov(repo, "show", pick, "--json").stdout)["records"] == []


def test_nothing_to_repair(repo: Path, gpg_env: Env) -> None:
    r = srcprov(repo, "repair")
    assert r.returncode == 0 and "nothing to repair" in r.stdout


def test_squash_onto_a_moved_main_is_repaired(repo: Path, gpg_env: Env) -> None:
    pr = pr_branch(repo, "pr", 3)
    commit_file(repo, "main.txt", "moved on\n", "main moved")
    assert srcprov(repo, "record").returncode == 0
    git(repo, "merge", "-q", "--squash", "pr")  # what a forge's squash merge makes, after main moved on
    git(repo, "commit", "-q", "-m", "Squashed PR (#1)")
    squash = git(repo, "rev-parse", "HEAD")
    out = repair(repo, "HEAD^!")
    assert out["repaired"] == [{"commit": squash, "rewrittenFrom": pr, "match": "squash"}]
    assert srcprov(repo, "verify", "HEAD").returncode == 0


def test_unmatched_commits_are_named_in_text_output(repo: Path, gpg_env: Env) -> None:
    pr_branch(repo, "pr", 2)
    commit_file(repo, "main.txt", "moved on\n", "main moved")
    assert srcprov(repo, "record").returncode == 0
    Path(repo, "extra.txt").write_text("not in the pull request\n")
    git(repo, "merge", "-q", "--squash", "pr")
    git(repo, "add", "extra.txt")
    git(repo, "commit", "-q", "-m", "Squash with an extra change")
    extra = git(repo, "rev-parse", "HEAD")
    lone = commit_file(repo, "lone.txt", "x\n", "made with SRCPROV_SKIP")
    r = srcprov(repo, "repair", "HEAD~2..HEAD")
    assert r.returncode == 0
    assert f"unmatched {extra[:12]}" in r.stdout and f"unmatched {lone[:12]}" in r.stdout
    assert "2 commit(s) without a record match no recorded commit" in r.stdout
    assert repair(repo, "HEAD~2..HEAD")["unmatched"] == [extra, lone]
