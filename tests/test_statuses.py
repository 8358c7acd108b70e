"""Every verification status, each produced by a real mutation of a real note."""

from __future__ import annotations

import base64
import json

import pytest

from testing.repos import make_repo


def verify_json(repo, *revs, check=False):
    proc = repo.srcprov("verify", "--json", *revs, check=check)
    return proc.returncode, json.loads(proc.stdout)


def status_of(repo, rev="HEAD"):
    rc, data = verify_json(repo, rev)
    entry = data["commits"][0]
    return rc, entry


def cp_line(repo, rev="HEAD"):
    lines = [ln for ln in repo.note(rev).splitlines() if ln.strip()]
    for ln in lines:
        st = json.loads(base64.b64decode(json.loads(ln)["payload"]))
        if st["predicateType"] == "urn:srcprov:commit-provenance:v1":
            return ln
    raise AssertionError("no commit-provenance record")


def decode(line):
    env = json.loads(line)
    return env, json.loads(base64.b64decode(env["payload"]))


def test_verified(repo):
    repo.commit()
    rc, entry = status_of(repo)
    assert rc == 0
    assert entry["status"] == "verified"
    assert entry["records"][0]["signer"] == repo.keys.alice


def test_missing_when_skipped(repo):
    import os

    env = dict(os.environ, SRCPROV_SKIP="1")
    repo.commit(env=env)
    rc, entry = status_of(repo)
    assert rc == 1
    assert entry["status"] == "missing"
    assert entry["records"] == []


def test_tampered_payload_is_bad_signature(repo):
    repo.commit()
    env, st = decode(cp_line(repo))
    st["predicate"]["claims"]["origin"] = "vendored"
    env["payload"] = base64.b64encode(json.dumps(st).encode()).decode()
    repo.set_note("HEAD", json.dumps(env) + "\n")
    rc, entry = status_of(repo)
    assert rc == 1
    assert entry["status"] == "bad-signature"
    assert entry["records"][0]["status"] == "bad-signature"


def test_swapped_signature_is_bad_signature(repo):
    a = repo.commit()
    repo.commit()
    env_a, _ = decode(cp_line(repo, a))
    env_b, _ = decode(cp_line(repo, "HEAD"))
    env_b["signatures"] = env_a["signatures"]
    repo.set_note("HEAD", json.dumps(env_b) + "\n")
    assert status_of(repo)[1]["status"] == "bad-signature"


def test_replayed_note_is_subject_mismatch(repo):
    a = repo.commit()
    repo.commit()
    repo.set_note("HEAD", repo.note(a))
    rc, entry = status_of(repo)
    assert rc == 1
    assert entry["status"] == "subject-mismatch"
    assert a[:12] in entry["records"][0]["reason"]


def test_key_not_in_policy_is_untrusted(repo):
    repo.git("config", "srcprov.signingKey", repo.keys.mallory)
    repo.commit()
    rc, entry = status_of(repo)
    assert rc == 1
    assert entry["status"] == "untrusted-signer"
    assert entry["records"][0]["signer"] == repo.keys.mallory


def test_listed_key_without_role_is_untrusted(repo):
    repo.add_signer(repo.keys.bob, roles=("reviewer",))
    repo.git("config", "srcprov.signingKey", repo.keys.bob)
    repo.commit()
    _, entry = status_of(repo)
    assert entry["status"] == "untrusted-signer"
    assert "role author" in entry["records"][0]["reason"]


def test_committer_email_not_allowed_is_untrusted(repo):
    repo.git("config", "user.email", "someone@elsewhere.example")
    repo.commit()
    _, entry = status_of(repo)
    assert entry["status"] == "untrusted-signer"
    assert "someone@elsewhere.example" in entry["records"][0]["reason"]


def test_expired_key_is_untrusted(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, signer=keys.expired)
    r.add_signer(keys.expired, roles=("author",), commit=False)  # while still valid: the policy commit verifies
    r.git("add", ".srcprov")
    r.git("commit", "-q", "-m", "policy")
    assert status_of(r)[1]["status"] == "verified"
    keys.expire_now()
    r.add_signer(keys.expired, roles=("author",), commit=False)  # re-export: the key now says it expired
    _, entry = status_of(r)
    assert entry["status"] == "untrusted-signer"
    assert "expired" in entry["records"][0]["reason"]


def test_revoked_key_is_untrusted(tmp_path, keys):
    r = make_repo(tmp_path / "r", keys, signer=keys.revoked)
    r.add_signer(keys.revoked, roles=("author",))
    assert status_of(r)[1]["status"] == "verified"
    keys.revoke()
    r.add_signer(keys.revoked, roles=("author",), commit=False)
    _, entry = status_of(r)
    assert entry["status"] == "untrusted-signer"
    assert "revoked" in entry["records"][0]["reason"]


def test_content_mismatch(repo, tmp_path):
    """A correctly signed record whose commit facts are wrong (here: another author)."""
    repo.commit()
    from srcprov.git import Repo
    from srcprov.recording.signer import make_signer
    from srcprov.recording.statements import RecordInput, provenance_statement, sign_statement

    r = Repo(repo.path)
    signer = make_signer(r)
    commit = r.resolve_commit("HEAD")
    st = provenance_statement(r, commit, RecordInput("record"), signer.version)
    st["predicate"]["commit"]["author"]["name"] = "Somebody Else"
    line = sign_statement(st, signer).decode()
    repo.set_note("HEAD", line + "\n")
    rc, entry = status_of(repo)
    assert rc == 1
    assert entry["status"] == "content-mismatch"
    assert "author" in entry["records"][0]["reason"]


GARBAGE = ["not json", '{"payloadType": 1}', "[]",
           '{"payloadType": "application/vnd.in-toto+json", "payload": "!!", "signatures": []}']


@pytest.mark.parametrize("garbage", GARBAGE)
def test_malformed(repo, garbage):
    repo.commit()
    repo.set_note("HEAD", garbage + "\n")
    rc, entry = status_of(repo)
    assert rc == 1
    assert entry["status"] == "malformed"


def test_wrong_payload_type_is_malformed(repo):
    repo.commit()
    env, _ = decode(cp_line(repo))
    env["payloadType"] = "text/plain"
    repo.set_note("HEAD", json.dumps(env) + "\n")
    assert status_of(repo)[1]["records"][0]["status"] == "malformed"


def test_best_record_decides(repo):
    """A good record beside a garbage line: the commit is verified, --strict fails."""
    repo.commit()
    repo.set_note("HEAD", repo.note() + "garbage\n")
    rc, entry = status_of(repo)
    assert rc == 0 and entry["status"] == "verified"
    assert sorted(r["status"] for r in entry["records"]) == ["malformed", "verified"]
    assert repo.srcprov("verify", "--strict", check=1).returncode == 1


def test_unreviewed_then_reviewed(repo):
    text = (repo.path / ".srcprov/policy.toml").read_text().replace("reviews = 0", "reviews = 1")
    (repo.path / ".srcprov/policy.toml").write_text(text)
    repo.add_signer(repo.keys.bob, emails=("bob@example.com",), roles=("reviewer",))
    c = repo.commit()
    assert status_of(repo)[1]["status"] == "unreviewed"
    # The author's own review does not count.
    repo.srcprov("review", c)
    assert status_of(repo)[1]["status"] == "unreviewed"
    repo.git("config", "srcprov.signingKey", repo.keys.bob)
    repo.git("config", "user.email", "bob@example.com")
    repo.srcprov("review", c, "--comment", "lgtm")
    rc, entry = status_of(repo)
    assert rc == 0 and entry["status"] == "verified"
    assert {r["predicateType"] for r in entry["records"]} == {"urn:srcprov:commit-provenance:v1", "urn:srcprov:review:v1"}


def test_policy_rev_and_since(repo):
    """--policy-rev reads the committed policy; commits before require.since are not required."""
    import os

    env = dict(os.environ, SRCPROV_SKIP="1")
    old = repo.commit(env=env)
    base = repo.commit()
    text = (repo.path / ".srcprov/policy.toml").read_text().replace('# since = "<commit id>"', f'since = "{base}"')
    (repo.path / ".srcprov/policy.toml").write_text(text)
    repo.git("add", ".srcprov")
    repo.git("commit", "-q", "-m", "require since base")
    rc, data = verify_json(repo, "--all", "--policy-rev", "HEAD")
    by = {c["commit"]: c for c in data["commits"]}
    assert by[old]["status"] == "missing" and by[old]["required"] is False
    assert by[base]["required"] is False  # `since` itself needs no record, like its ancestors
    assert by[repo.head("HEAD")]["required"] is True
    assert rc == 0 and data["ok"] is True
    assert data["policy"].startswith("HEAD (")
    # Against the policy committed before `since` existed, the old commit is required: fail.
    rc2, data2 = verify_json(repo, "--all", "--policy-rev", "HEAD~1")
    assert rc2 == 1 and data2["ok"] is False


def test_backfill_and_deny(repo):
    import os

    env = dict(os.environ, SRCPROV_SKIP="1")
    a = repo.commit(env=env)
    b = repo.commit(env=env)
    out = json.loads(repo.srcprov("record", "--backfill", "--json", f"{a}~1..{b}").stdout)
    assert sorted(out["written"]) == sorted([a, b])
    _, st = decode(cp_line(repo, a))
    assert st["predicate"]["recorder"]["trigger"] == "backfill"
    assert status_of(repo, a)[1]["status"] == "verified"
    # A second backfill over the range writes nothing; a plain record refuses without --force.
    again = json.loads(repo.srcprov("record", "--backfill", "--json", f"{a}~1..{b}").stdout)
    assert again["written"] == []
    refused = repo.srcprov("record", a, check=2)
    assert "already has a commit-provenance record" in refused.stderr
    # --force adds a record beside the backfilled one (notes are append-only).
    repo.srcprov("record", "--force", a)
    triggers = sorted(decode(ln)[1]["predicate"]["recorder"]["trigger"] for ln in repo.note(a).splitlines())
    assert triggers == ["backfill", "record"]
    text = (repo.path / ".srcprov/policy.toml").read_text().replace('backfilled = "allow"', 'backfilled = "deny"')
    (repo.path / ".srcprov/policy.toml").write_text(text)
    assert status_of(repo, b)[1]["status"] == "backfill-denied"


def test_show_json_has_statements(repo):
    c = repo.commit("subject\n\nbody\n\nAssisted-by: GitHub Copilot\nReviewed-by: Bob <bob@example.com>")
    data = json.loads(repo.srcprov("show", "--json").stdout)
    assert data["commit"] == c and data["status"] == "verified"
    pred = data["records"][0]["statement"]["predicate"]
    assert pred["claims"]["origin"] == "ai-assisted"
    assert pred["claims"]["reviewedBy"] == ["Bob <bob@example.com>"]
    assert pred["commit"]["id"] == c
    assert pred["precommit"]["stagedTree"] == pred["commit"]["tree"]
    assert pred["recorder"]["trigger"] == "post-commit"
    env = pred["environment"]
    assert set(env) == {"os", "arch", "python", "git", "gpg", "hostname"}
    import socket

    assert socket.gethostname() not in json.dumps(data)
    assert len(env["hostname"]) == 64


def test_signing_subkey_of_a_listed_primary_is_accepted(tmp_path, keys):
    """The policy lists the primary fingerprint; a record signed by its signing subkey verifies."""

    from testing.keys import openpgp_key
    from testing.repos import make_repo

    primary = openpgp_key(None, "Sub Signer", "alice@example.com", subkey=True)
    r = make_repo(tmp_path / "r", keys, signer=primary, policy=False)
    r.srcprov("policy", "init")
    r.add_signer(primary, emails=("alice@example.com",), roles=("author",))
    rc, entry = status_of(r)
    assert rc == 0 and entry["status"] == "verified"
    assert entry["records"][0]["signer"] == primary
    env, _ = decode(cp_line(r))
    assert env["signatures"][0]["keyid"] != primary  # the subkey signed
