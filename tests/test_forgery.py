"""Attacks by someone who can push notes (and sometimes holds an old key), on real repositories with real keys.

Each test first shows the trap is real where it can (gpg accepts the forged bytes), then that srcprov does not.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from testing import forge
from testing.keys import openpgp_key
from testing.repos import GitRepo

SKIP = dict(os.environ, SRCPROV_SKIP="1")


def verify(repo: GitRepo, *revs: str) -> tuple[int, dict]:
    proc = repo.srcprov("verify", "--json", *revs, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def record_of(repo: GitRepo, rev: str = "HEAD", predicate: str = "commit-provenance") -> str:
    for line in repo.note(rev).splitlines():
        if line.strip() and predicate in forge.decode(line)[2]["predicateType"]:
            return line
    raise AssertionError(f"no {predicate} record on {rev}")


def statement_for(repo: GitRepo, commit: str, key: str) -> bytes:
    """The right statement bytes for COMMIT, as srcprov writes them, recorded with a key the policy ignores."""
    repo.git("config", "srcprov.signingKey", key)
    try:
        repo.srcprov("record", commit, "--force")
    finally:
        repo.git("config", "srcprov.signingKey", repo.keys.alice)
    for line in repo.note(commit).splitlines():
        env, body, _ = forge.decode(line)
        if env["signatures"][0]["keyid"] == key:
            return body
    raise AssertionError("no record by the key")


def as_bob(repo: GitRepo) -> None:
    repo.git("config", "srcprov.signingKey", repo.keys.bob)
    repo.git("config", "user.email", "bob@example.com")


def as_alice(repo: GitRepo) -> None:
    repo.git("config", "srcprov.signingKey", repo.keys.alice)
    repo.git("config", "user.email", "alice@example.com")


def _require_reviews(repo: GitRepo, n: int) -> None:
    text = (repo.path / ".srcprov/policy.toml").read_text().replace("reviews = 0", f"reviews = {n}")
    (repo.path / ".srcprov/policy.toml").write_text(text)
    repo.git("commit", "-qam", f"{n} review(s)")


def put_note(repo: GitRepo, commit: str, *lines: bytes | str) -> None:
    strs = {ln.decode() if isinstance(ln, bytes) else ln for ln in lines}
    text = "".join(ln + "\n" for ln in sorted(strs))
    repo.set_note(commit, text)


def signed_line(home: str, key: str, body: bytes, *extra: str) -> bytes:
    return forge.envelope(body, [(key, forge.detached(home, key, forge.pae(body), *extra))])


# --- signatures that are whole messages -------------------------------------------------------------------
def test_wrapped_signature_does_not_forge_a_record(repo: GitRepo, tmp_path: Path) -> None:
    """A genuine signature packet followed by the data it signed: gpg checks the embedded data (GOOD), we refuse."""
    repo.commit()
    donor = record_of(repo)
    target = repo.commit(env=SKIP)
    body = statement_for(repo, target, repo.keys.mallory)
    sig = forge.wrapped(donor)
    # The trap: `gpg --verify-files` (how srcprov checked batches before), with the forged PAE beside these
    # bytes, verifies the data embedded in them and says VALIDSIG. `gpg --verify SIG DATA` refuses them.
    (tmp_path / "s").write_bytes(forge.pae(body))
    (tmp_path / "s.sig").write_bytes(sig)
    raw = subprocess.run(["gpg", "--homedir", repo.keys.home, "--status-fd", "1", "--no-tty", "--verify-files",
                          "s.sig"], cwd=tmp_path, capture_output=True, stdin=subprocess.DEVNULL).stdout.decode()
    assert "VALIDSIG" in raw
    assert forge.gpg_verdict(repo.keys.home, forge.pae(body), sig, tmp_path) is False
    put_note(repo, target, forge.envelope(body, [(repo.keys.alice, sig)]))
    rc, data = verify(repo, target)
    assert rc == 1
    entry = data["commits"][0]
    assert entry["status"] == "bad-signature", entry
    assert "2 packets" in entry["records"][0]["reason"]


@pytest.mark.parametrize("mode", ["--sign", "--clearsign", "--detach-sign --armor"])
def test_signed_messages_by_a_listed_key_are_not_signatures(repo: GitRepo, mode: str) -> None:
    """Opaque (`gpg --sign`), clear-signed and armored output of a listed key, used as a record's sig."""
    target = repo.commit(env=SKIP)
    body = statement_for(repo, target, repo.keys.mallory)
    donor = forge.gpg(repo.keys.home, "--local-user", repo.keys.alice, *mode.split(), input=forge.pae(body)).stdout
    put_note(repo, target, forge.envelope(body, [(repo.keys.alice, donor)]))
    rc, data = verify(repo, target)
    assert rc == 1 and data["commits"][0]["status"] == "bad-signature"


def test_wrapped_signature_does_not_forge_a_review(repo: GitRepo) -> None:
    repo.add_signer(repo.keys.bob, roles=("reviewer",))
    _require_reviews(repo, 1)
    reviewed = repo.commit()
    as_bob(repo)
    repo.srcprov("review", reviewed)
    as_alice(repo)
    assert verify(repo, reviewed)[1]["commits"][0]["status"] == "verified"
    target = repo.commit()
    assert verify(repo, target)[1]["commits"][0]["status"] == "unreviewed"
    donor = record_of(repo, reviewed, "review")
    _, _, st = forge.decode(donor)
    st["subject"][0]["digest"]["gitCommit"] = target
    st["predicate"]["commit"] = {"id": target, "tree": repo.head(f"{target}^{{tree}}")}
    forged = forge.envelope(json.dumps(st).encode(), [(repo.keys.bob, forge.wrapped(donor))])
    put_note(repo, target, record_of(repo, target), forged)
    rc, data = verify(repo, target)
    assert rc == 1 and data["commits"][0]["status"] == "unreviewed"
    assert "bad-signature" in [r["status"] for r in data["commits"][0]["records"]]


# --- keys over time -----------------------------------------------------------------------------------------
def _past_key(home: str, name: str, created: int, expire: str = "0") -> str:
    return openpgp_key(home, name, f"{name}@example.com", created=created, expire=expire)


def _revoke(home: str, fpr: str, reason: int) -> None:
    """Revoke FPR with gpg's reason menu (1 compromised, 2 superseded, 3 no longer used)."""
    out = Path(home) / f"{fpr}.{reason}.rev"
    subprocess.run(["gpg", "--homedir", home, "--no-tty", "--command-fd", "0", "--yes", "-a", "-o", str(out),
                    "--gen-revoke", fpr], input=f"y\n{reason}\nrevoked by a test\n\ny\n".encode(), capture_output=True,
                   check=True)
    forge.gpg(home, "--import", str(out))


def _faked_gpg(tmp_path: Path, when: int) -> str:
    script = tmp_path / f"gpg-at-{when}"
    script.write_text(f'#!/bin/sh\nexec gpg --faked-system-time={when}! "$@"\n')
    script.chmod(0o755)
    return str(script)


def _commit_at(repo: GitRepo, when: int) -> str:
    env = dict(SKIP, GIT_COMMITTER_DATE=f"@{when} +0000", GIT_AUTHOR_DATE=f"@{when} +0000")
    return repo.commit(env=env)


def _record_at(repo: GitRepo, tmp_path: Path, commit: str, key: str, when: int, *args: str) -> None:
    repo.git("config", "srcprov.signingKey", key)
    repo.git("config", "gpg.program", _faked_gpg(tmp_path, when))
    try:
        repo.srcprov("record", commit, *args)
    finally:
        repo.git("config", "--unset", "gpg.program")


def _refresh_key(repo: GitRepo, fpr: str) -> None:
    (repo.path / ".srcprov/keys" / f"{fpr}.asc").write_bytes(repo.keys.armored(fpr))
    repo.git("add", ".srcprov")
    repo.git("commit", "-qm", "policy: key update", env=SKIP)


@pytest.mark.parametrize("reason, verdict", [(1, "untrusted-signer"), (3, "verified")])
def test_revocation_hard_voids_every_signature_soft_only_later_ones(repo: GitRepo, tmp_path: Path, reason: int,
                                                                      verdict: str) -> None:
    """Compromised (hard): a signature made before the revocation is void too. Retired (soft): it stands."""
    now = int(time.time())
    fpr = _past_key(repo.keys.home, f"k{reason}x{now % 10000}", now - 10 * 86400)
    repo.add_signer(fpr, roles=("author",))
    old = _commit_at(repo, now - 5 * 86400)
    _record_at(repo, tmp_path, old, fpr, now - 5 * 86400 + 60)
    assert verify(repo, old)[1]["commits"][0]["status"] == "verified"
    _revoke(repo.keys.home, fpr, reason)
    _refresh_key(repo, fpr)
    rc, data = verify(repo, old)
    entry = data["commits"][0]
    assert entry["status"] == verdict, entry
    if reason == 1:
        assert "compromised" in entry["records"][0]["reason"]
    # After a soft revocation, a new signature is no longer trusted either way.
    new = repo.commit(env=SKIP)
    repo.git("config", "srcprov.signingKey", fpr)
    proc = repo.srcprov("record", new, check=False)
    if proc.returncode == 0:  # gpg may refuse to sign with a revoked key at all
        assert verify(repo, new)[1]["commits"][0]["status"] == "untrusted-signer"


def test_expired_key_keeps_its_past_and_cannot_backdate(repo: GitRepo, tmp_path: Path) -> None:
    """A signature made before the key expired stands; one dated back before the commit it describes does not."""
    now = int(time.time())
    fpr = _past_key(repo.keys.home, f"exp{now % 10000}", now - 10 * 86400, expire="5d")
    repo.add_signer(fpr, roles=("author",))
    before = _commit_at(repo, now - 9 * 86400)
    _record_at(repo, tmp_path, before, fpr, now - 9 * 86400 + 60)
    rc, data = verify(repo, before)
    assert data["commits"][0]["status"] == "verified", data
    # Whoever holds the expired key signs today's commit with a clock set back into the key's lifetime.
    today = repo.commit(env=SKIP)
    _record_at(repo, tmp_path, today, fpr, now - 8 * 86400)
    entry = verify(repo, today)[1]["commits"][0]
    assert entry["status"] == "untrusted-signer"
    assert "before the commit" in entry["records"][0]["reason"]
    # A signature made after the key expired: gpg will not make one, so the expiry is set afterwards, in the
    # past (a self-signature dated before the signature), as a key file re-exported later would show it.
    fpr2 = _past_key(repo.keys.home, f"exq{now % 10000}", now - 10 * 86400)
    repo.add_signer(fpr2, roles=("author",))
    late = _commit_at(repo, now - 4 * 86400)
    _record_at(repo, tmp_path, late, fpr2, now - 4 * 86400 + 60)
    assert verify(repo, late)[1]["commits"][0]["status"] == "verified"
    forge.gpg(repo.keys.home, f"--faked-system-time={now - 8 * 86400}!", "--quick-set-expire", fpr2, "1d")
    _refresh_key(repo, fpr2)
    entry = verify(repo, late)[1]["commits"][0]
    assert entry["status"] == "untrusted-signer" and "expired" in entry["records"][0]["reason"], entry


def test_retired_signer_keeps_past_records(repo: GitRepo) -> None:
    first = repo.commit()
    time.sleep(1.1)
    repo.srcprov("policy", "retire-signer", repo.keys.alice)
    repo.git("commit", "-qam", "retire alice", env=SKIP)
    time.sleep(1.1)
    later = repo.commit()
    rc, data = verify(repo, first, later)
    by = {c["commit"]: c for c in data["commits"]}
    assert by[first]["status"] == "verified"
    assert by[later]["status"] == "untrusted-signer" and "retired" in by[later]["records"][0]["reason"]
    assert "until = " in (repo.path / ".srcprov/policy.toml").read_text()


# --- policy semantics ---------------------------------------------------------------------------------------
def test_since_does_not_let_an_old_branch_smuggle_commits(repo: GitRepo) -> None:
    """A branch forked before `since` and merged after it: its unrecorded commits are required."""
    fork = repo.head()
    base = repo.commit()
    text = (repo.path / ".srcprov/policy.toml").read_text().replace('# since = "<commit id>"', f'since = "{base}"')
    (repo.path / ".srcprov/policy.toml").write_text(text)
    repo.git("commit", "-qam", "since")
    repo.git("checkout", "-q", "-b", "old", fork)
    smuggled = repo.commit(env=SKIP, path="smuggled.txt")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-edit", "old")
    rc, data = verify(repo, f"{base}..HEAD")
    by = {c["commit"]: c for c in data["commits"]}
    assert rc == 1 and by[smuggled]["required"] is True and by[smuggled]["status"] == "missing"


def test_maintainer_may_backfill_anyones_commits_author_may_not(repo: GitRepo) -> None:
    repo.git("config", "user.email", "carol@example.com")
    carol = repo.commit(env=SKIP)
    repo.srcprov("record", "--backfill", carol)
    entry = verify(repo, carol)[1]["commits"][0]
    assert entry["status"] == "untrusted-signer" and "carol@example.com" in entry["records"][0]["reason"]
    repo.add_signer(repo.keys.alice, roles=("maintainer",))
    assert verify(repo, carol)[1]["commits"][0]["status"] == "verified"


def test_latest_review_of_each_reviewer_counts(repo: GitRepo) -> None:
    repo.add_signer(repo.keys.bob, roles=("reviewer",))
    _require_reviews(repo, 1)
    c = repo.commit()
    as_bob(repo)
    repo.srcprov("review", c, "--verdict", "approved")
    assert verify(repo, c)[1]["commits"][0]["status"] == "verified"
    time.sleep(1.1)
    repo.srcprov("review", c, "--verdict", "rejected")
    assert verify(repo, c)[1]["commits"][0]["status"] == "unreviewed"


# --- canonical input ----------------------------------------------------------------------------------------
def _alice_signed(repo: GitRepo, body: bytes) -> bytes:
    return signed_line(repo.keys.home, repo.keys.alice, body)


def test_duplicate_keys_make_a_record_malformed(repo: GitRepo) -> None:
    c = repo.commit()
    line = record_of(repo, c)
    env, body, st = forge.decode(line)
    # In the statement, signed for real: the verifier and a consumer could read two different origins.
    text = body.decode()
    dup = text.replace('"predicateType":', '"predicateType":"urn:x","predicateType":', 1).encode()
    assert dup != body
    # In the envelope: two payloads.
    env_dup = line.replace('"payload":', f'"payload":"{base64.b64encode(b"{}").decode()}","payload":', 1)
    for bad in (_alice_signed(repo, dup).decode(), env_dup):
        put_note(repo, c, bad)
        entry = verify(repo, c)[1]["commits"][0]
        assert entry["status"] == "malformed" and "duplicate" in entry["records"][0]["reason"], entry


@pytest.mark.parametrize("mutate", [
    lambda s: s[:-2] + ("B=" if s[-2] != "B" else "C=") if s.endswith("=") and not s.endswith("==") else s[:-3] + "R==",
    lambda s: s[:40] + "\n" + s[40:],
    lambda s: s.rstrip("="),
])
def test_non_canonical_base64_is_malformed(repo: GitRepo, mutate) -> None:
    c = repo.commit()
    env, body, st = forge.decode(record_of(repo, c))
    env["payload"] = mutate(env["payload"])
    put_note(repo, c, json.dumps(env))
    entry = verify(repo, c)[1]["commits"][0]
    assert entry["status"] == "malformed", entry


@pytest.mark.parametrize("field, value", [("recorder", "x"), ("commit", ["a"]), ("claims", 7), ("changes", {"files": "3"}),
                                          ("environment", {"os": 1})])
def test_wrong_types_are_malformed_and_show_does_not_crash(repo: GitRepo, field: str, value: object) -> None:
    c = repo.commit()
    _, body, st = forge.decode(record_of(repo, c))
    st["predicate"][field] = value
    put_note(repo, c, _alice_signed(repo, json.dumps(st).encode()))
    assert verify(repo, c)[1]["commits"][0]["status"] == "malformed"
    for args in (("show", c), ("show", "--json", c)):
        proc = repo.srcprov(*args, check=False)
        assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_lone_surrogate_is_malformed_and_show_json_prints(repo: GitRepo) -> None:
    c = repo.commit()
    _, body, st = forge.decode(record_of(repo, c))
    bad = body.replace(b'"origin":"human"', b'"origin":"\\ud800"')
    assert bad != body
    put_note(repo, c, _alice_signed(repo, bad))
    assert verify(repo, c)[1]["commits"][0]["status"] == "malformed"
    proc = repo.srcprov("show", "--json", c, check=False)
    assert proc.returncode in (0, 1) and json.loads(proc.stdout)["records"][0]["status"] == "malformed"


# --- found by the attack review -----------------------------------------------------------------------------
def test_retired_key_cannot_backdate_a_new_commit_into_its_life(repo: GitRepo, tmp_path: Path) -> None:
    """The holder of a retired key dates a new commit and its signature before `until`: with the policy read from
    the protected branch, the new commit is not in that branch's history, so the backdated signature is refused."""
    now = int(time.time())
    fpr = _past_key(repo.keys.home, f"ret{now % 10000}", now - 30 * 86400)
    repo.add_signer(fpr, roles=("author",))
    old = _commit_at(repo, now - 20 * 86400)
    _record_at(repo, tmp_path, old, fpr, now - 20 * 86400 + 60)
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 10 * 86400))
    repo.srcprov("policy", "retire-signer", fpr, "--at", at)
    repo.git("commit", "-qam", "retire", env=SKIP)
    base = repo.head()
    evil = _commit_at(repo, now - 15 * 86400)
    _record_at(repo, tmp_path, evil, fpr, now - 15 * 86400 + 60)
    rc, data = verify(repo, "--policy-rev", base, old, evil)
    by = {c["commit"]: c for c in data["commits"]}
    assert by[old]["status"] == "verified"  # signed while the signer was active, and in protected history
    assert by[evil]["status"] == "untrusted-signer" and "history" in by[evil]["records"][0]["reason"], by[evil]


def test_author_under_another_email_does_not_approve_own_commit(repo: GitRepo) -> None:
    repo.add_signer(repo.keys.bob, emails=("bob@example.com", "bob@corp.example"), roles=("reviewer",))
    _require_reviews(repo, 1)
    env = dict(os.environ, GIT_AUTHOR_EMAIL="bob@corp.example", GIT_AUTHOR_NAME="Bob")
    c = repo.commit(env=env)  # Bob's patch, committed and recorded by Alice
    as_bob(repo)
    repo.srcprov("review", c)
    as_alice(repo)
    entry = verify(repo, c)[1]["commits"][0]
    assert entry["status"] == "unreviewed", entry


def test_one_reviewer_with_two_keys_approves_once(repo: GitRepo) -> None:
    now = int(time.time())
    second = _past_key(repo.keys.home, f"bobtoo{now % 10000}", now - 86400)
    repo.add_signer(repo.keys.bob, emails=("bob@example.com",), roles=("reviewer",))
    repo.add_signer(second, emails=("bob@example.com",), roles=("reviewer",))
    _require_reviews(repo, 2)
    c = repo.commit()
    for key in (repo.keys.bob, second):
        as_bob(repo)
        repo.git("config", "srcprov.signingKey", key)
        repo.srcprov("review", c)
    as_alice(repo)
    entry = verify(repo, c)[1]["commits"][0]
    assert entry["status"] == "unreviewed" and "1 of 2" in entry["reason"], entry


def test_backfill_warns_before_signing_what_the_policy_would_refuse(repo: GitRepo) -> None:
    repo.git("config", "user.email", "carol@example.com")
    for _ in range(3):
        repo.commit(env=SKIP)
    repo.git("config", "user.email", "alice@example.com")
    proc = repo.srcprov("record", "--backfill", "--all")
    warning = [ln for ln in proc.stderr.splitlines() if ln.startswith("srcprov: warning: the policy")]
    assert len(warning) == 1 and "would not accept 3 of the" in warning[0] and "carol@example.com" in warning[0]
    repo.add_signer(repo.keys.alice, roles=("maintainer",))
    again = repo.commit(env=SKIP)
    proc = repo.srcprov("record", "--backfill", again)
    assert "would not accept" not in proc.stderr
