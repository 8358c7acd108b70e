"""SSH and PEM keys: records signed through the hooks verify, independent tools (ssh-keygen, securesystemslib)
agree, and every attack class of the verification issue that applies fails, for both kinds."""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from testing import forge
from testing.keys import pem_key, ssh_key
from testing.repos import GitRepo, Keys, make_repo

SKIP = dict(os.environ, SRCPROV_SKIP="1")


@dataclass(frozen=True)
class Key:
    kind: str  # ssh | pem
    private: str  # the private key file
    public: str  # ssh: the public key line; pem: the public key file
    keyid: str

    @property
    def add_arg(self) -> str:
        """What `policy add-signer` takes for this key."""
        return f"ssh:{self.private}.pub" if self.kind == "ssh" else f"pem:{self.public}"

    def sign(self, data: bytes, namespace: str = "srcprov") -> tuple[str, bytes]:
        """(keyid, sig) over DATA, made without srcprov's code."""
        if self.kind == "ssh":
            return forge.ssh_keyid(self.public), forge.sshsig(self.private, data, namespace)
        return forge.pem_sign(self.private, data)


@pytest.fixture(scope="session")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Key]]:
    d = str(tmp_path_factory.mktemp("keys"))
    out: dict[str, dict[str, Key]] = {"ssh": {}, "pem": {}}
    for name in ("alice", "mallory"):
        priv, line = ssh_key(d, f"{name}_ssh", comment=f"{name}@example.com")
        out["ssh"][name] = Key("ssh", priv, line, forge.ssh_keyid(line))
        priv, pub, keyid = pem_key(d, f"{name}_pem", "ecdsa")
        out["pem"][name] = Key("pem", priv, pub, keyid)
    priv, pub, keyid = pem_key(d, "ed_pem", "ed25519")
    out["pem"]["ed25519"] = Key("pem", priv, pub, keyid)
    return out


def kind_repo(tmp_path: Path, keys: Keys, key: Key, roles: tuple[str, ...] = ("author",)) -> GitRepo:
    """A repository whose records are signed with KEY through the hooks (sync mode), as git would sign."""
    r = make_repo(tmp_path / "repo", keys, policy=False)
    r.git("config", "--unset", "srcprov.signingKey")
    if key.kind == "ssh":
        r.git("config", "gpg.format", "ssh")  # what a developer who signs commits with SSH already has
    else:
        r.git("config", "srcprov.signingFormat", "pem")
    r.git("config", "user.signingkey", key.private)
    r.srcprov("policy", "init")
    r.add_signer(key.add_arg, emails=("alice@example.com",), roles=roles)
    return r


def verify(repo: GitRepo, *args: str) -> tuple[int, dict]:
    proc = repo.srcprov("verify", "--json", *args, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def record_status(repo: GitRepo, rev: str = "HEAD", *args: str) -> tuple[str, str]:
    _, out = verify(repo, rev, *args)
    recs = [r for r in out["commits"][0]["records"] if r["predicateType"] and "commit-provenance" in r["predicateType"]]
    assert recs, out
    return recs[0]["status"], recs[0]["reason"]


def record_line(repo: GitRepo, rev: str = "HEAD") -> str:
    return next(ln for ln in repo.note(rev).splitlines() if ln.strip())


@pytest.fixture(params=["ssh", "pem"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- signed through the hooks, checked by others ----------------------------------------------------


def test_ssh_record_from_hooks_verifies_and_ssh_keygen_agrees(tmp_path: Path, keys: Keys, kinds: dict) -> None:
    alice = kinds["ssh"]["alice"]
    repo = kind_repo(tmp_path, keys, alice)
    repo.commit()
    code, out = verify(repo, "--all")
    assert code == 0 and all(c["status"] == "verified" for c in out["commits"]), out
    env, body, st = forge.decode(record_line(repo))
    assert env["signatures"][0]["keyid"] == alice.keyid  # as `ssh-keygen -l` prints it
    blob = base64.b64decode(env["signatures"][0]["sig"])
    data = forge.pae(body)  # the PAE built here, not by srcprov
    assert forge.ssh_keygen_verifies(tmp_path, alice.public, data, blob)
    assert not forge.ssh_keygen_verifies(tmp_path, alice.public, data, blob, namespace="git")
    assert not forge.ssh_keygen_verifies(tmp_path, alice.public, data + b" ", blob)
    assert st["predicate"]["environment"]["gpg"].startswith("OpenSSH_")


def test_commit_signature_namespace_is_bad_signature(tmp_path: Path, keys: Keys, kinds: dict) -> None:
    """A signature with namespace `git` (what `git commit -S` makes) over the same bytes is not a record's."""
    alice = kinds["ssh"]["alice"]
    repo = kind_repo(tmp_path, keys, alice)
    repo.commit()
    env, body, _ = forge.decode(record_line(repo))
    keyid, sig = alice.sign(forge.pae(body), namespace="git")
    assert forge.ssh_keygen_verifies(tmp_path, alice.public, forge.pae(body), sig, namespace="git")  # genuine
    repo.set_note("HEAD", forge.envelope(body, [(keyid, sig)]).decode() + "\n")
    status, reason = record_status(repo)
    assert status == "bad-signature" and "namespace" in reason


def test_ssh_hash_other_than_sha512_is_refused(tmp_path: Path, keys: Keys, kinds: dict) -> None:
    alice = kinds["ssh"]["alice"]
    repo = kind_repo(tmp_path, keys, alice)
    repo.commit()
    _, body, _ = forge.decode(record_line(repo))
    keyid = forge.ssh_keyid(alice.public)
    sig = forge.sshsig(alice.private, forge.pae(body), "srcprov", "-O", "hashalg=sha256")
    assert forge.ssh_keygen_verifies(tmp_path, alice.public, forge.pae(body), sig)  # OpenSSH takes it ...
    repo.set_note("HEAD", forge.envelope(body, [(keyid, sig)]).decode() + "\n")
    status, reason = record_status(repo)
    assert status == "bad-signature" and "sha512" in reason  # ... the SPEC does not


@pytest.mark.parametrize("pem_kind", ["alice", "ed25519"])
def test_pem_attestation_and_vsa_verify_and_securesystemslib_agrees(tmp_path: Path, keys: Keys, kinds: dict,
                                                                    pem_kind: str) -> None:
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import Signature, SSlibKey

    builder = kinds["pem"][pem_kind]
    repo = make_repo(tmp_path / "repo", keys)  # records by alice's OpenPGP key
    repo.add_signer(builder.add_arg, roles=("builder", "source"))
    repo.commit()
    repo.wait_records()
    repo.git("config", "srcprov.signingFormat", "pem")
    repo.git("config", "srcprov.signingKey", builder.private)
    (repo.path / "art.bin").write_bytes(b"artifact\n")
    repo.srcprov("attest", "--subject", "art.bin", "--output", "att.jsonl")
    ok = repo.srcprov("verify-attestation", "att.jsonl", "--subject", "art.bin", "--json", check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    repo.srcprov("verify", "HEAD", "--vsa", "vsa.json")
    scheme = "ecdsa-sha2-nistp256" if pem_kind == "alice" else "ed25519"
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = SSlibKey.from_crypto(load_pem_public_key(Path(builder.public).read_bytes()), keyid=builder.keyid, scheme=scheme)
    for name in ("att.jsonl", "vsa.json"):
        d = json.loads((repo.path / name).read_text().splitlines()[0])
        assert [s["keyid"] for s in d["signatures"]] == [builder.keyid]
        # securesystemslib keeps signatures hex-encoded: the same bytes, its own encoding.
        sigs = {s["keyid"]: Signature(s["keyid"], base64.b64decode(s["sig"]).hex()) for s in d["signatures"]}
        env = Envelope(base64.b64decode(d["payload"]), d["payloadType"], sigs)
        assert builder.keyid in env.verify([key], 1)
        tampered = Envelope(base64.b64decode(d["payload"]) + b" ", d["payloadType"], sigs)
        with pytest.raises(Exception):  # noqa: B017 - securesystemslib's VerificationError
            tampered.verify([key], 1)


def test_pem_vsa_judged_for_the_source_role(tmp_path: Path, keys: Keys, kinds: dict) -> None:
    """srcprov's own judgement of a PEM-signed VSA: the source role, at the time the VSA states."""
    from srcprov.git import Repo
    from srcprov.model.dsse import parse_envelope, parse_statement
    from srcprov.model.timefmt import parse_rfc3339
    from srcprov.trust.policy import load_policy
    from srcprov.trust.verify import Verifier

    builder = kinds["pem"]["alice"]
    repo = make_repo(tmp_path / "repo", keys)
    repo.add_signer(builder.add_arg, roles=("source",))
    repo.commit()
    repo.wait_records()
    repo.git("config", "srcprov.signingFormat", "pem")
    repo.git("config", "srcprov.signingKey", builder.private)
    repo.srcprov("verify", "HEAD", "--vsa", "vsa.json")
    env = parse_envelope((repo.path / "vsa.json").read_bytes().strip())
    at = parse_rfc3339(parse_statement(env)["predicate"]["timeVerified"])
    assert at is not None
    r = Repo(repo.path)
    with Verifier(r, load_policy(r)) as v:
        assert v.judge_envelope(env, ("source",), signed_at=int(at.timestamp())).trusted
        assert not v.judge_envelope(env, ("builder",), signed_at=int(at.timestamp())).trusted  # wrong role
        assert not v.judge_envelope(env, ("source",)).trusted  # no time at all: nothing shows the key was valid


# --- attack classes, both kinds ---------------------------------------------------------------------


def test_records_verify(tmp_path: Path, keys: Keys, kinds: dict, kind: str) -> None:
    repo = kind_repo(tmp_path, keys, kinds[kind]["alice"])
    repo.commit()
    assert record_status(repo) == ("verified", "")


def test_pem_ed25519_records_verify(tmp_path: Path, keys: Keys, kinds: dict) -> None:
    repo = kind_repo(tmp_path, keys, kinds["pem"]["ed25519"])
    repo.commit()
    assert record_status(repo) == ("verified", "")


def test_tampered_payload(tmp_path: Path, keys: Keys, kinds: dict, kind: str) -> None:
    repo = kind_repo(tmp_path, keys, kinds[kind]["alice"])
    repo.commit(message="Generated\n\nProvenance-Origin: ai-generated")
    env, _, st = forge.decode(record_line(repo))
    st["predicate"]["claims"]["origin"] = "human"
    env["payload"] = base64.b64encode(json.dumps(st, sort_keys=True, separators=(",", ":")).encode()).decode()
    repo.set_note("HEAD", json.dumps(env, separators=(",", ":")) + "\n")
    assert record_status(repo)[0] == "bad-signature"


def test_foreign_key(tmp_path: Path, keys: Keys, kinds: dict, kind: str) -> None:
    """A valid signature over the right statement, by a key the policy does not list."""
    repo = kind_repo(tmp_path, keys, kinds[kind]["alice"])
    repo.commit()
    _, body, _ = forge.decode(record_line(repo))
    keyid, sig = kinds[kind]["mallory"].sign(forge.pae(body))
    repo.set_note("HEAD", forge.envelope(body, [(keyid, sig)]).decode() + "\n")
    status, reason = record_status(repo)
    assert status == "untrusted-signer" and keyid in reason


def test_foreign_signature_under_a_listed_key_id(tmp_path: Path, keys: Keys, kinds: dict, kind: str) -> None:
    """Mallory's signature with alice's key id in the envelope: the key id is a hint, never trusted."""
    alice, mallory = kinds[kind]["alice"], kinds[kind]["mallory"]
    repo = kind_repo(tmp_path, keys, alice)
    repo.commit()
    _, body, _ = forge.decode(record_line(repo))
    _, sig = mallory.sign(forge.pae(body))
    repo.set_note("HEAD", forge.envelope(body, [(alice.keyid, sig)]).decode() + "\n")
    assert record_status(repo)[0] in ("bad-signature", "untrusted-signer")
    _, out = verify(repo, "HEAD")
    assert out["commits"][0]["status"] != "verified"


def test_garbage_beside_a_good_signature_does_not_spoil_it(tmp_path: Path, keys: Keys, kinds: dict, kind: str) -> None:
    alice = kinds[kind]["alice"]
    repo = kind_repo(tmp_path, keys, alice)
    repo.commit()
    env, body, _ = forge.decode(record_line(repo))
    good = base64.b64decode(env["signatures"][0]["sig"])
    repo.set_note("HEAD", forge.envelope(body, [(alice.keyid, b"\x00" * 64), (alice.keyid, good)]).decode() + "\n")
    assert record_status(repo) == ("verified", "")


def test_wrong_role(tmp_path: Path, keys: Keys, kinds: dict, kind: str) -> None:
    repo = kind_repo(tmp_path, keys, kinds[kind]["alice"], roles=("reviewer",))
    repo.commit()
    status, reason = record_status(repo)
    assert status == "untrusted-signer" and "without role author" in reason


def test_replay_onto_another_commit(tmp_path: Path, keys: Keys, kinds: dict, kind: str) -> None:
    repo = kind_repo(tmp_path, keys, kinds[kind]["alice"])
    first = repo.commit()
    repo.commit(env=SKIP)
    repo.set_note("HEAD", record_line(repo, first) + "\n")
    assert record_status(repo)[0] == "subject-mismatch"


def test_retired_signer(tmp_path: Path, keys: Keys, kinds: dict, kind: str) -> None:
    """`until` is judged at the time of the notes commit that first holds the record."""
    key = kinds[kind]["alice"]
    repo = kind_repo(tmp_path, keys, key)
    repo.commit()
    made = int(time.time())
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(made + 3600))
    repo.srcprov("policy", "retire-signer", key.keyid, "--at", stamp)
    assert record_status(repo) == ("verified", "")  # signed before it was retired
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(made - 3600))
    repo.srcprov("policy", "retire-signer", key.keyid, "--at", stamp)
    status, reason = record_status(repo)
    assert status == "untrusted-signer" and "retired" in reason


def test_backdated_notes_commit_cannot_beat_until(tmp_path: Path, keys: Keys, kinds: dict, kind: str) -> None:
    """Who can push notes chooses a notes commit's time. Dated before the commit it describes, it is refused;
    with the commit backdated too, a policy read from a protected revision still refuses what a retired key
    signed after its end (the commit is not in that revision's history)."""
    key = kinds[kind]["alice"]
    repo = kind_repo(tmp_path, keys, key)
    repo.commit()
    week_ago = int(time.time()) - 7 * 86400
    repo.srcprov("policy", "retire-signer", key.keyid, "--at",
                 time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(week_ago)))
    repo.git("add", ".srcprov")
    repo.git("commit", "-q", "-m", "retire", env=SKIP)
    policy_rev = repo.head()
    # The retired key signs a new commit's record; the notes commit claims a time before `until`.
    repo.commit(env=SKIP)
    repo.git("config", "srcprov.hookMode", "sync")
    repo.srcprov("record", "HEAD")
    line = record_line(repo)
    old = f"@{week_ago - 86400} +0000"
    repo.set_note("HEAD", "")  # drop it, then add it back in a backdated notes commit
    repo.git("notes", "--ref", "refs/notes/srcprov", "add", "-f", "-m", line, "HEAD",
             env={**os.environ, "GIT_COMMITTER_DATE": old})
    status, reason = record_status(repo)
    assert status == "untrusted-signer" and "before the commit" in reason
    # Backdate the commit as well: the time alone cannot tell it from an old signature ...
    when = {**SKIP, "GIT_COMMITTER_DATE": old, "GIT_AUTHOR_DATE": old}
    repo.git("commit", "-q", "--amend", "--no-edit", env=when)
    repo.srcprov("record", "HEAD")
    line = record_line(repo)
    repo.set_note("HEAD", "")
    repo.git("notes", "--ref", "refs/notes/srcprov", "add", "-f", "-m", line, "HEAD",
             env={**os.environ, "GIT_COMMITTER_DATE": old})
    assert record_status(repo) == ("verified", "")  # a work-tree policy judges the time only
    # ... but the protected policy revision's history does.
    status, reason = record_status(repo, "HEAD", "--policy-rev", policy_rev)
    assert status == "untrusted-signer" and "policy revision's history" in reason


def test_record_with_no_notes_history_time(tmp_path: Path, keys: Keys, kinds: dict) -> None:
    """The first notes commit holding a record gives its time even after later notes commits."""
    repo = kind_repo(tmp_path, keys, kinds["ssh"]["alice"])
    first = repo.commit()
    for _ in range(3):
        repo.commit()
    assert record_status(repo, first) == ("verified", "")


# --- the policy -------------------------------------------------------------------------------------


def test_policy_refuses_a_key_file_that_does_not_match(tmp_path: Path, keys: Keys, kinds: dict, kind: str) -> None:
    alice, mallory = kinds[kind]["alice"], kinds[kind]["mallory"]
    repo = kind_repo(tmp_path, keys, alice)
    keydir = repo.path / ".srcprov" / "keys"
    (f,) = [p for p in keydir.iterdir() if p.suffix in (".pub", ".pem")]
    other = (Path(mallory.private + ".pub").read_bytes() if kind == "ssh" else Path(mallory.public).read_bytes())
    f.write_bytes(other)
    proc = repo.srcprov("verify", "HEAD", check=2)
    assert proc.stderr.startswith("srcprov: error:") and "holds the key" in proc.stderr


def test_policy_add_signer_refuses_unsupported_keys(tmp_path: Path, keys: Keys) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    repo = make_repo(tmp_path / "repo", keys)
    p384 = tmp_path / "p384.pem"
    p384.write_bytes(ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    proc = repo.srcprov("policy", "add-signer", f"pem:{p384}", check=2)
    assert "P-256" in proc.stderr
    proc = repo.srcprov("policy", "add-signer", "ssh:ssh-dss AAAAB3NzaC1kc3MAAACBAP== x", check=2)
    assert proc.stderr.startswith("srcprov: error:")
    priv, _ = ssh_key(str(tmp_path), "k")
    proc = repo.srcprov("policy", "add-signer", f"ssh:{priv}", check=2)  # the private key
    assert "public key" in proc.stderr


def test_add_signer_takes_a_key_line(tmp_path: Path, keys: Keys, kinds: dict) -> None:
    alice = kinds["ssh"]["alice"]
    repo = make_repo(tmp_path / "repo", keys)
    out = repo.srcprov("policy", "add-signer", f"ssh:{alice.public}", "--role", "reviewer").stdout
    assert alice.keyid in out
    text = (repo.path / ".srcprov" / "policy.toml").read_text()
    assert 'kind = "ssh"' in text and alice.keyid in text
    stored = repo.path / ".srcprov" / "keys" / (alice.keyid.replace(":", "_").replace("/", "_") + ".pub")
    assert stored.read_text().split()[:2] == alice.public.split()[:2]


def test_x509_is_refused_clearly(tmp_path: Path, keys: Keys) -> None:
    repo = make_repo(tmp_path / "repo", keys, hooks=False)
    repo.git("config", "gpg.format", "x509")
    proc = repo.srcprov("record", "HEAD", check=2)
    assert "x509" in proc.stderr and "not supported" in proc.stderr


def test_ssh_agent_key(tmp_path: Path, keys: Keys, kinds: dict) -> None:
    """A `key::` line signs with the key ssh-agent holds, as git does; an agent without it is said so."""
    import subprocess

    alice = kinds["ssh"]["alice"]
    repo = kind_repo(tmp_path, keys, alice)
    sock = str(tmp_path / "agent.sock")
    agent = subprocess.run(["ssh-agent", "-a", sock, "-s"], capture_output=True, text=True, check=True).stdout
    pid = int(agent.split("SSH_AGENT_PID=")[1].split(";")[0])
    try:
        env = {**os.environ, "SSH_AUTH_SOCK": sock}
        repo.git("config", "user.signingkey", f"key::{alice.public}")
        doctor = repo.srcprov("doctor", env=env, check=False).stdout
        assert "does not hold" in doctor
        subprocess.run(["ssh-add", "-q", alice.private], env=env, check=True, capture_output=True)
        repo.commit(env=env)
        assert record_status(repo) == ("verified", "")
    finally:
        os.kill(pid, 15)


def test_first_held_times_through_a_notes_merge(tmp_path: Path, keys: Keys) -> None:
    """Each line's time is the notes commit that first held it, also when it came in through a union merge."""
    from srcprov.git import Repo
    from srcprov.notes import first_held_times

    repo = make_repo(tmp_path / "repo", keys, hooks=False, policy=False)
    c = repo.commit()
    ref = "refs/notes/srcprov"

    def add(text: str, at: int, notes_ref: str = ref) -> None:
        env = {**os.environ, "GIT_COMMITTER_DATE": f"@{at} +0000"}
        old = repo.git("notes", "--ref", notes_ref, "show", c, check=False).stdout
        repo.git("notes", "--ref", notes_ref, "add", "-f", "-m", (old + text).strip(), c, env=env)

    t = int(time.time()) - 10_000
    add("L1\n", t)
    repo.git("update-ref", "refs/notes/side", ref)
    add("L2\n", t + 100, "refs/notes/side")
    add("L3\n", t + 200)
    repo.git("notes", "--ref", ref, "merge", "-s", "cat_sort_uniq", "refs/notes/side",
             env={**os.environ, "GIT_COMMITTER_DATE": f"@{t + 300} +0000"})
    add("L4\n", t + 400)
    got = first_held_times(Repo(repo.path), [c])
    assert {line.decode(): at for (_, line), at in got.items()} == {"L1": t, "L2": t + 100, "L3": t + 200, "L4": t + 400}


# --- doctor and demo --------------------------------------------------------------------------------


def test_doctor_on_ssh_and_pem_setups(tmp_path: Path, keys: Keys, kinds: dict) -> None:
    import shutil

    alice = kinds["ssh"]["alice"]
    repo = kind_repo(tmp_path, keys, alice)
    out = repo.srcprov("doctor", check=False).stdout
    assert f"signing key (ssh) {alice.private}: usable" in out
    repo.git("config", "user.signingkey", str(tmp_path / "no-such-key"))
    out = repo.srcprov("doctor", check=1).stdout
    assert "does not exist" in out and "user.signingkey" in out
    locked = tmp_path / "locked_key"
    shutil.copy(alice.private, locked)
    locked.chmod(0)
    if not os.access(locked, os.R_OK):  # root reads anything
        repo.git("config", "user.signingkey", str(locked))
        assert "not readable" in repo.srcprov("doctor", check=1).stdout
    # No ssh-keygen on PATH (git and sh only).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "sh"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or tool)
    repo.git("config", "user.signingkey", alice.private)
    proc = repo.srcprov("doctor", env={**os.environ, "PATH": str(bin_dir)}, check=1)
    assert "ssh-keygen: not found" in proc.stdout and "openssh-client" in proc.stdout
    # x509: not supported, and said so.
    repo.git("config", "gpg.format", "x509")
    out = repo.srcprov("doctor", check=1).stdout
    assert "x509" in out and "not supported" in out
    # PEM: a passphrase-protected key without its variable.
    priv, _, _ = pem_key(str(tmp_path), "locked", "ecdsa", passphrase=b"s3cret")
    repo.git("config", "srcprov.signingFormat", "pem")
    repo.git("config", "user.signingkey", priv)
    out = repo.srcprov("doctor", check=1).stdout
    assert "passphrase-protected" in out
    repo.git("config", "srcprov.pemPassphraseEnv", "SRCPROV_TEST_PEM_PASS")
    out = repo.srcprov("doctor", env={**os.environ, "SRCPROV_TEST_PEM_PASS": "s3cret"}, check=False).stdout
    assert "signing key (pem)" in out and "usable" in out


def test_pem_key_with_passphrase_signs_records(tmp_path: Path, keys: Keys) -> None:
    """The passphrase comes from the variable srcprov.pemPassphraseEnv names, and never into the record."""
    priv, pub, keyid = pem_key(str(tmp_path), "ci", "ecdsa", passphrase=b"s3cret-pass")
    key = Key("pem", priv, pub, keyid)
    repo = kind_repo(tmp_path, keys, key)  # the policy commit: no passphrase yet, stays queued
    repo.git("config", "srcprov.pemPassphraseEnv", "CI_PEM_PASS")
    env = {**os.environ, "CI_PEM_PASS": "s3cret-pass"}
    repo.commit(env=env)
    repo.srcprov("record", "--pending", env=env)
    assert record_status(repo) == ("verified", "")
    assert "s3cret-pass" not in repo.note("HEAD") and base64.b64encode(b"s3cret-pass").decode() not in repo.note("HEAD")


def test_demo_with_ssh_keys(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    proc = subprocess.run([sys.executable, "-m", "srcprov", "demo", "--dir", str(tmp_path / "d"), "--key-kind", "ssh"],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "signed by SHA256:" in proc.stdout and "attestation verified" in proc.stdout
    repo = tmp_path / "d" / "tinyledger"
    assert subprocess.run(["git", "config", "gpg.format"], cwd=repo, capture_output=True, text=True,
                          env=env).stdout.strip() == "ssh"


def test_policy_show_names_each_kind(tmp_path: Path, keys: Keys, kinds: dict) -> None:
    repo = kind_repo(tmp_path, keys, kinds["ssh"]["alice"])
    repo.add_signer(kinds["pem"]["alice"].add_arg, roles=("builder",))
    data = json.loads(repo.srcprov("policy", "show", "--json").stdout)
    assert {s["fingerprint"]: s["kind"] for s in data["signers"]} == {kinds["ssh"]["alice"].keyid: "ssh",
                                                                      kinds["pem"]["alice"].keyid: "pem"}


def test_pre_commit_shim_skips_python_once_the_ssh_key_was_found_usable(tmp_path: Path, keys: Keys, kinds: dict) -> None:
    """Hooks with SSH signing stay as fast as with gpg: after one key check, pre-commit starts no Python."""
    import subprocess

    alice = kinds["ssh"]["alice"]
    repo = kind_repo(tmp_path, keys, alice)
    repo.commit()
    seen = (repo.path / ".git" / "srcprov" / "keycheck").read_text().split()
    assert seen[0] == "ssh" and seen[-1] == alice.private
    (repo.path / "x.txt").write_text("x\n")
    repo.git("add", "x.txt")

    def trace(env: dict[str, str]) -> str:
        proc = subprocess.run(["sh", "-x", ".git/hooks/pre-commit"], cwd=repo.path, capture_output=True, text=True,
                              env={**env, "GIT_INDEX_FILE": str(repo.path / ".git" / "index")})
        assert proc.returncode == 0, proc.stderr
        return proc.stderr

    assert "srcprov hook pre-commit" not in trace(dict(os.environ))
    # A key file changed since, or another agent (SSH_AUTH_SOCK): Python looks at the key again.
    kc = repo.path / ".git" / "srcprov" / "keycheck"
    later = kc.stat().st_mtime + 2
    os.utime(alice.private, (later, later))
    while time.time() < later + 1:  # the new key check is written after the key file changed
        time.sleep(0.1)
    assert "srcprov hook pre-commit" in trace(dict(os.environ))
    assert "srcprov hook pre-commit" not in trace(dict(os.environ))
    assert "srcprov hook pre-commit" in trace({**os.environ, "SSH_AUTH_SOCK": str(tmp_path / "other.sock")})
