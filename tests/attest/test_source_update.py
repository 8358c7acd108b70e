"""source-update: CI records the commits a forge made when they derive from verified commits, and the branch update."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.attest.conftest import Env, commit_file, git, srcprov
from tests.attest.forge import Forge, make_forge, review

CP = "urn:srcprov:commit-provenance:v1"
SP = "urn:srcprov:source-provenance:v1"


@pytest.fixture
def forge(tmp_path: Path, gpg_env: Env) -> Forge:
    return make_forge(tmp_path, gpg_env)


def forge_record(f: Forge, commit: str) -> dict:
    """The one forge record of COMMIT, verified, decoded."""
    recs = [r for r in f.records(commit) if r["predicateType"] == CP]
    assert len(recs) == 1, recs
    assert recs[0]["status"] == "verified", recs[0]
    pred = recs[0]["statement"]["predicate"]
    assert pred["recorder"]["trigger"] == "forge"
    return pred


def branch_update(f: Forge, commit: str) -> dict:
    recs = [r for r in f.records(commit) if r["predicateType"] == SP]
    assert len(recs) == 1, recs
    assert recs[0]["status"] == "verified", recs[0]
    assert recs[0]["signer"] == f.env.fpr["builder"]
    return recs[0]["statement"]["predicate"]


def verify(f: Forge, rng: str, *extra: str) -> tuple[int, dict]:
    r = srcprov(f.ci, "verify", rng, "--strict", "--json", *extra)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


def notes_tip(repo: Path) -> str:
    return git(repo, "rev-parse", "refs/notes/srcprov")


def test_merge_button_commit_is_recorded_and_a_second_run_changes_nothing(forge: Forge) -> None:
    pr = forge.pr("feature", 2)
    before, after = forge.merge("feature")
    code, out = forge.source_update(before, after, "--push", "origin")
    assert code == 0 and out["ok"], json.dumps(out)
    assert out["recorded"] == [{"commit": after, "how": "merge", "derivedFrom": [before, pr[1]]}]
    assert out["missing"] == [] and out["branchUpdate"] == "written" and out["pushed"] is True
    pred = forge_record(forge, after)
    assert pred["how"] == "merge" and [x["commit"] for x in pred["derivedFrom"]] == [before, pr[1]]
    assert all(len(x["record"]["sha256"]) == 64 for x in pred["derivedFrom"])
    upd = branch_update(forge, after)
    assert (upd["ref"], upd["before"], upd["after"]) == ("refs/heads/main", before, after)
    names = [c["name"] for c in upd["controls"]]
    assert names == ["SRCPROV_PROVENANCE", "SRCPROV_VERIFIED_COMMITS"]
    # Both have held since the update that brought the policy (make_forge's first CI run).
    assert all(c["sinceCommit"] == before and c["since"].endswith("Z") for c in upd["controls"])
    # The merge, the pull request's commits and every record (the branch update's too) verify strictly.
    code, v = verify(forge, f"{before}..{after}", "--policy-rev", before)
    assert code == 0, v
    assert {c["commit"]: c["status"] for c in v["commits"]} == {after: "verified", pr[0]: "verified", pr[1]: "verified"}
    # The forge has the records: a fresh clone sees them.
    assert git(forge.bare, "rev-parse", "refs/notes/srcprov") == notes_tip(forge.ci)
    tip = notes_tip(forge.ci)
    code, again = forge.source_update(before, after)
    assert code == 0 and again["recorded"] == [] and again["branchUpdate"] == "present"
    assert notes_tip(forge.ci) == tip


def test_merge_with_a_hand_edit_stays_missing(forge: Forge) -> None:
    forge.pr("feature", 1)
    before, after = forge.button_do(
        ("merge", "-q", "--no-ff", "--no-commit", "origin/feature"),
        ("rm", "-q", "README"),
        ("commit", "-q", "-m", "Merge, with a little extra"))
    code, out = forge.source_update(before, after)
    assert code == 1 and not out["ok"]
    assert out["recorded"] == []
    assert [(m["commit"], m["status"]) for m in out["missing"]] == [(after, "missing")]
    assert "hand edits" in out["missing"][0]["reason"]
    assert [r for r in forge.records(after) if r["predicateType"] == CP] == []
    # The update is recorded as it happened: no control claims every commit verified.
    assert [c["name"] for c in branch_update(forge, after)["controls"]] == ["SRCPROV_PROVENANCE"]
    text = srcprov(forge.ci, "source-update", "--before", before, "--after", after, "--ref", "main")
    assert text.returncode == 1 and f"{after[:12]} missing: a merge whose tree" in text.stdout


def test_merge_of_an_unrecorded_pull_request_stays_missing(forge: Forge) -> None:
    pr = forge.pr("feature", 1, record=False)
    before, after = forge.merge("feature")
    code, out = forge.source_update(before, after)
    assert code == 1 and out["recorded"] == []
    missing = {m["commit"]: m["reason"] for m in out["missing"]}
    assert set(missing) == {after, pr[0]}
    assert f"parent {pr[0][:12]} is missing" in missing[after]


def test_squash_onto_a_moved_target(forge: Forge) -> None:
    pr = forge.pr("feature", 3)
    moved = forge.main_moves()
    before, after = forge.squash("feature")
    assert before == moved and git(forge.button, "rev-parse", "HEAD^") == moved
    code, out = forge.source_update(before, after)
    assert code == 0, json.dumps(out)
    assert out["recorded"] == [{"commit": after, "how": "squash", "derivedFrom": pr}]
    pred = forge_record(forge, after)
    assert [x["commit"] for x in pred["derivedFrom"]] == pr and pred["how"] == "squash"
    assert verify(forge, f"{before}..{after}")[0] == 0


def test_squash_of_an_up_to_date_pull_request_matches_by_tree(forge: Forge) -> None:
    pr = forge.pr("feature", 2)
    before, after = forge.squash("feature")
    code, out = forge.source_update(before, after)
    assert code == 0 and out["recorded"] == [{"commit": after, "how": "squash", "derivedFrom": pr}]


def test_squash_with_an_extra_change_stays_missing(forge: Forge) -> None:
    forge.pr("feature", 2)
    forge.main_moves()
    (forge.button / "extra.txt").write_text("not in the pull request\n")
    before, after = forge.button_do(("merge", "-q", "--squash", "origin/feature"), ("add", "extra.txt"),
                                    ("commit", "-q", "-m", "feature (#2)"))
    code, out = forge.source_update(before, after)
    assert code == 1 and out["recorded"] == [] and [m["commit"] for m in out["missing"]] == [after]
    assert [r for r in forge.records(after) if r["predicateType"] == CP] == []


def test_whitespace_change_is_not_a_rebase_copy(forge: Forge) -> None:
    (c,) = forge.pr("feature", 1)
    forge.main_moves()
    # The pull request's change with different indentation: `git patch-id --stable` cannot tell them apart.
    Path(forge.button, "feature").mkdir(exist_ok=True)
    before, after = forge.button_do(("fetch", "-q", "origin"))
    git(forge.button, "reset", "-q", "--hard", "origin/main")
    date = git(forge.button, "show", "-s", "--format=%ad", "--date=raw", c)  # the same author and time
    commit_file(forge.button, "feature/f0.txt", "  feature 0\n", "feature 0", "--author", "Alice Example <alice@example.com>",
                "--date", date)
    git(forge.button, "push", "-q", "origin", "main")
    after = git(forge.button, "rev-parse", "HEAD")
    stable = {git(forge.ci, "patch-id", "--stable", input=git(forge.button, "show", x).encode() + b"\n").split()[0]
              for x in (c, after)}
    assert len(stable) == 1
    code, out = forge.source_update(before, after)
    assert code == 1 and out["recorded"] == [] and [m["commit"] for m in out["missing"]] == [after]


def test_rebase_merge_onto_a_moved_target(forge: Forge) -> None:
    pr = forge.pr("feature", 2)
    forge.main_moves()
    before, after = forge.rebase("feature")
    copies = git(forge.button, "rev-list", "--reverse", f"{before}..{after}").split()
    assert len(copies) == 2 and not set(copies) & set(pr)
    code, out = forge.source_update(before, after)
    assert code == 0, json.dumps(out)
    assert out["recorded"] == [{"commit": copies[0], "how": "rebase", "derivedFrom": [pr[0]]},
                               {"commit": copies[1], "how": "rebase", "derivedFrom": [pr[1]]}]
    assert verify(forge, f"{before}..{after}")[0] == 0


def test_a_squash_then_its_merge_in_one_push(forge: Forge) -> None:
    """A commit derived in this run counts as verified for the next one (a merge of a squash)."""
    pr = forge.pr("feature", 2)
    git(forge.button, "fetch", "-q", "origin")
    git(forge.button, "switch", "-q", "-C", "side", "origin/main")
    git(forge.button, "merge", "-q", "--squash", "origin/feature")
    git(forge.button, "commit", "-q", "-m", "squash on a side branch")
    squash = git(forge.button, "rev-parse", "HEAD")
    commit_file(forge.button, "other.txt", "x\n", "unrecorded direct commit")
    unrecorded = git(forge.button, "rev-parse", "HEAD")
    git(forge.button, "reset", "-q", "--hard", squash)
    before, after = forge.button_do(("merge", "-q", "--no-ff", "-m", "merge side", "side"))
    code, out = forge.source_update(before, after)
    assert code == 0, json.dumps(out)
    assert [(d["commit"], d["how"]) for d in out["recorded"]] == [(squash, "squash"), (after, "merge")]
    assert out["recorded"][0]["derivedFrom"] == pr
    assert unrecorded not in git(forge.ci, "rev-list", after)


def test_without_a_source_key_nothing_is_written(forge: Forge) -> None:
    forge.pr("feature", 1)
    before, after = forge.merge("feature")
    forge.ci_fetch()
    tip = notes_tip(forge.ci)
    git(forge.ci, "config", "srcprov.signingKey", forge.env.fpr["alice"])  # author and reviewer, not source
    r = srcprov(forge.ci, "source-update", "--before", before, "--after", after, "--ref", "refs/heads/main")
    assert r.returncode == 2 and r.stderr.startswith("srcprov: error: ") and "role source" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert notes_tip(forge.ci) == tip


def test_bad_input(forge: Forge) -> None:
    forge.pr("feature", 1)
    before, after = forge.merge("feature")
    forge.ci_fetch()
    tip = notes_tip(forge.ci)

    def run(*args: str) -> tuple[int, str, str]:
        r = srcprov(forge.ci, "source-update", "--ref", "refs/heads/main", *args)
        return r.returncode, r.stdout, r.stderr

    code, _, err = run("--before", "0" * 40, "--after", after)
    assert code == 2 and "all zeros" in err and len(err.strip().splitlines()) == 1
    code, _, err = run("--before", "nosuchrev", "--after", after)
    assert code == 2 and "unknown revision" in err
    # A force push: the new tip does not contain the old one.
    git(forge.button, "reset", "-q", "--hard", f"{before}")
    forced = commit_file(forge.button, "forced.txt", "x\n", "forced")
    git(forge.button, "push", "-q", "-f", "origin", "main")
    forge.ci_fetch()
    code, out, err = run("--before", after, "--after", forced)
    assert code == 1 and "force-pushed" in out and err == ""
    assert notes_tip(forge.ci) == tip


def test_a_range_of_thousands_of_commits_is_refused(forge: Forge) -> None:
    forge.ci_fetch()
    base = git(forge.ci, "rev-parse", "HEAD")
    n = 1001
    stream = [f"reset refs/heads/many\nfrom {base}\n"]
    for i in range(n):
        stream.append(f"commit refs/heads/many\ncommitter A <a@example.com> {1700000000 + i} +0000\n"
                      f"data 2\nc\nM 644 inline many.txt\ndata {len(str(i)) + 1}\n{i}\n\n")
    git(forge.ci, "fast-import", "--quiet", input="".join(stream).encode())
    tip = notes_tip(forge.ci)
    r = srcprov(forge.ci, "source-update", "--before", base, "--after", "many", "--ref", "refs/heads/main")
    assert r.returncode == 2 and "more than 1000 commits" in r.stderr
    assert notes_tip(forge.ci) == tip


def test_a_branch_update_record_not_signed_by_a_source_key_is_untrusted(forge: Forge) -> None:
    from srcprov.git import Repo
    from srcprov.notes import notes_lock, write_notes
    from srcprov.recording.signer import make_signer
    from srcprov.recording.statements import branch_update_statement, sign_statement

    forge.pr("feature", 1)
    before, after = forge.merge("feature")
    forge.ci_fetch()
    git(forge.ci, "config", "srcprov.signingKey", forge.env.fpr["alice"])
    repo = Repo(forge.ci)
    st = branch_update_statement(repo, "refs/heads/main", before, after, None, [], "2026-01-01T00:00:00Z")
    with notes_lock(repo):
        write_notes(repo, {after: sign_statement(st, make_signer(repo)) + b"\n"})
    (rec,) = [r for r in forge.records(after) if r["predicateType"] == SP]
    assert rec["status"] == "untrusted-signer" and "role source" in rec["reason"]
    code, v = verify(forge, f"{before}..{after}")
    assert code == 1
    # A source-signed one copied onto another commit names the commit it describes: a replayed record.
    git(forge.ci, "config", "srcprov.signingKey", forge.env.fpr["builder"])
    with notes_lock(repo):
        write_notes(repo, {before: sign_statement(st, make_signer(repo)) + b"\n"})
    replayed = [r for r in forge.records(before) if r["predicateType"] == SP and r["status"] != "verified"]
    assert [(r["status"], r["reason"]) for r in replayed] == [("subject-mismatch", f"record names {after[:12]}, not this commit")]


def test_vsa_levels_follow_the_branch_updates(tmp_path: Path, gpg_env: Env) -> None:
    f = make_forge(tmp_path, gpg_env, reviews=1)
    # Pull request by alice, approved by bob; merged by the button; CI records the update.
    (c,) = f.pr("feature", 1)
    review(f.dev, gpg_env, c)
    f.push_notes(f.dev)
    before, after = f.merge("feature")
    code, out = f.source_update(before, after, "--push", "origin")
    assert code == 0, json.dumps(out)
    assert [c["name"] for c in out["controls"]] == ["SRCPROV_PROVENANCE", "SRCPROV_VERIFIED_COMMITS", "SRCPROV_REVIEWED"]
    vsa = tmp_path / "vsa.jsonl"
    r = srcprov(f.ci, "verify", f"{before}..{after}", "--policy-rev", before, "--vsa", str(vsa),
                env={"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/widget", "GITHUB_REF": "refs/heads/main",
                     "GITHUB_SHA": after})
    assert r.returncode == 0, r.stdout + r.stderr
    env = json.loads(vsa.read_text())
    assert [s["keyid"] for s in env["signatures"]] == [gpg_env.fpr["builder"]]
    p = json.loads(base64.b64decode(env["payload"]))["predicate"]
    assert p["resourceUri"] == "git+https://github.com/acme/widget"
    assert p["verifiedLevels"] == ["SLSA_SOURCE_LEVEL_4", "SRCPROV_PROVENANCE", "SRCPROV_REVIEWED",
                                   "SRCPROV_VERIFIED_COMMITS"]
    # The next push brings an unrecorded commit: the update is recorded, verification no longer held.
    git(f.button, "fetch", "-q", "origin")
    git(f.button, "switch", "-q", "-C", "main", "origin/main")
    before2 = git(f.button, "rev-parse", "HEAD")
    after2 = commit_file(f.button, "direct.txt", "x\n", "direct push, no record")
    git(f.button, "push", "-q", "origin", "main")
    code, out = f.source_update(before2, after2)
    assert code == 1 and [c["name"] for c in out["controls"]] == ["SRCPROV_PROVENANCE"]
    r = srcprov(f.ci, "verify", after2, "--policy-rev", before2, "--vsa", str(vsa))
    assert r.returncode == 1
    p = json.loads(base64.b64decode(json.loads(vsa.read_text())["payload"]))["predicate"]
    assert p["verificationResult"] == "FAILED" and p["verifiedLevels"] == ["FAILED"]


def test_a_squash_with_the_outdated_heads_tree_undoes_main_and_stays_missing(forge: Forge) -> None:
    """The pull request forked before main gained a fix: a commit with the head's tree on top of the fix is
    no squash of the pull request, it reverts the fix."""
    forge.pr("feature", 1)
    moved = forge.main_moves("fix")
    git(forge.button, "fetch", "-q", "origin")
    tree = git(forge.button, "rev-parse", "origin/feature^{tree}")
    forged = git(forge.button, "commit-tree", tree, "-p", moved, "-m", "feature (#3)")
    git(forge.button, "push", "-q", "origin", f"{forged}:refs/heads/main")
    code, out = forge.source_update(moved, forged)
    assert code == 1 and out["recorded"] == [] and [m["commit"] for m in out["missing"]] == [forged]


def test_a_copy_under_another_author_is_no_rebase(forge: Forge) -> None:
    """A rebase keeps the author; a squash cannot (its author is whoever the forge names), so a copy under another
    author derives from the pull request only as a squash of it, and its record names the commit it came from."""
    (c,) = forge.pr("feature", 1)
    forge.main_moves()
    git(forge.button, "fetch", "-q", "origin")
    git(forge.button, "reset", "-q", "--hard", "origin/main")
    before = git(forge.button, "rev-parse", "HEAD")
    after = commit_file(forge.button, "feature/f0.txt", "feature 0\n", "feature 0", "--author", "Mallory <mallory@example.com>")
    git(forge.button, "push", "-q", "origin", "main")
    code, out = forge.source_update(before, after)
    assert code == 0 and out["recorded"] == [{"commit": after, "how": "squash", "derivedFrom": [c]}]


def test_the_push_as_the_ci_names_it(tmp_path: Path) -> None:
    from srcprov.commands.source import push_from_env

    event = tmp_path / "event.json"
    event.write_text(json.dumps({"before": "a" * 40, "after": "b" * 40}))
    gh = {"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/heads/main", "GITHUB_ACTOR": "octocat",
          "GITHUB_EVENT_PATH": str(event)}
    assert push_from_env(gh) == {"ref": "refs/heads/main", "actor": "octocat", "before": "a" * 40}
    # A pull request's ref is no branch update; an unreadable payload names no old tip.
    assert push_from_env({**gh, "GITHUB_REF": "refs/pull/1/merge", "GITHUB_EVENT_PATH": str(tmp_path / "nope")}) \
        == {"actor": "octocat"}
    gl = {"GITLAB_CI": "true", "CI_COMMIT_BRANCH": "main", "GITLAB_USER_LOGIN": "jo", "CI_COMMIT_BEFORE_SHA": "c" * 40}
    assert push_from_env(gl) == {"ref": "refs/heads/main", "actor": "jo", "before": "c" * 40}
    assert push_from_env({}) == {}


def test_a_forge_record_signs_no_evidence_someone_pushed_for_the_forges_commit(forge: Forge) -> None:
    """No developer's tool wrote evidence for a commit the forge made: a git-ai log pushed for it (by anyone
    who can push notes) is not signed by the source key."""
    forge.pr("feature", 1)
    before, after = forge.squash("feature")
    log = ("f.txt\n  h_31dce776f88375 1-3\n---\n" + json.dumps({
        "schema_version": "authorship/3.0.0", "base_commit_sha": "0" * 40, "prompts": {}, "sessions": {},
        "humans": {"h_31dce776f88375": {"author": "Mallory <m@example.com>"}}}))
    forge.ci_fetch()
    git(forge.ci, "notes", "--ref", "ai", "add", "-m", log, after)
    code, out = forge.source_update(before, after)
    assert code == 0 and [r["commit"] for r in out["recorded"]] == [after]
    assert "attribution" not in forge_record(forge, after)
