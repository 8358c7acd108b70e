"""attest and verify-attestation: the chain artifact -> attestation -> commit -> note -> signer."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from google.protobuf import json_format

from tests.attest.conftest import ARTIFACT, Env, attest, check, commit_file, decoded, git, srcprov, write_policy


def test_statement_is_slsa_provenance_v1_naming_commit_and_note(attested: tuple[Path, Path], gpg_env: Env) -> None:
    repo, att = attested
    env, st = decoded(att)
    head = git(repo, "rev-parse", "HEAD")
    assert env["payloadType"] == "application/vnd.in-toto+json"
    assert st["_type"] == "https://in-toto.io/Statement/v1"
    assert st["predicateType"] == "https://slsa.dev/provenance/v1"
    assert st["subject"] == [{"name": ARTIFACT, "digest": {"sha256": hashlib.sha256(b"artifact bytes\n").hexdigest()}}]
    bd = st["predicate"]["buildDefinition"]
    assert bd["buildType"] == "urn:srcprov:build:v1"
    assert set(bd["internalParameters"]) == {"environment"}  # test_build_inputs checks what it holds
    src, note = bd["resolvedDependencies"]
    assert src == {"uri": src["uri"], "digest": {"gitCommit": head}}  # no `name` (SPEC)
    assert src["uri"].startswith("git+urn:srcprov:local:") and src["uri"].endswith("@refs/heads/main")
    assert str(repo) not in json.dumps(st)  # no remote: no path of this machine in the attestation
    assert bd["externalParameters"]["source"] == {"uri": src["uri"], "digest": {"gitCommit": head}}
    blob = git(repo, "notes", "--ref", "refs/notes/srcprov", "list", head)
    data = subprocess.run(["git", "cat-file", "blob", blob], cwd=repo, capture_output=True, check=True).stdout
    assert "name" not in note
    assert note["uri"].endswith("@refs/notes/srcprov")
    assert note["digest"] == {"sha256": hashlib.sha256(data).hexdigest(), "gitBlob": blob}
    assert note["mediaType"] == "application/vnd.in-toto.bundle"
    assert note["annotations"] == {"subjectGitCommit": head, "status": "verified", "signers": [gpg_env.fpr["alice"]]}
    rd = st["predicate"]["runDetails"]
    assert rd["builder"] == {"id": "https://ci.example.com/builder"}
    assert rd["metadata"]["startedOn"] <= rd["metadata"]["finishedOn"]
    assert [s["keyid"] for s in env["signatures"]] == [gpg_env.fpr["builder"]]


def test_statement_parses_with_in_toto_attestation(attested: tuple[Path, Path]) -> None:
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import Statement

    repo, att = attested
    _, st = decoded(att)
    pb = json_format.ParseDict(st, statement_pb2.Statement(), ignore_unknown_fields=False)
    Statement.copy_from_pb(pb).validate()
    prov = json_format.ParseDict(st["predicate"], provenance_pb2.Provenance(), ignore_unknown_fields=False)
    assert prov.build_definition.resolved_dependencies[0].digest["gitCommit"] == git(repo, "rev-parse", "HEAD")
    for rd in prov.build_definition.resolved_dependencies:
        ResourceDescriptor.copy_from_pb(rd).validate()
    assert prov.build_definition.resolved_dependencies[1].media_type == "application/vnd.in-toto.bundle"
    assert prov.run_details.builder.id == "https://ci.example.com/builder"


def test_envelope_verifies_with_plain_gpg_over_our_own_pae(attested: tuple[Path, Path], gpg_env: Env, tmp_path: Path) -> None:
    env, _ = decoded(attested[1])
    payload = base64.b64decode(env["payload"])
    ptype = env["payloadType"].encode()
    pae = b"DSSEv1 " + str(len(ptype)).encode() + b" " + ptype + b" " + str(len(payload)).encode() + b" " + payload
    (tmp_path / "pae").write_bytes(pae)
    (tmp_path / "pae.sig").write_bytes(base64.b64decode(env["signatures"][0]["sig"]))
    r = subprocess.run(["gpg", "--homedir", gpg_env.gnupghome, "--status-fd", "1", "--verify",
                        str(tmp_path / "pae.sig"), str(tmp_path / "pae")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"VALIDSIG {gpg_env.fpr['builder']}" in r.stdout


def test_whole_chain_holds(attested: tuple[Path, Path], gpg_env: Env) -> None:
    repo, att = attested
    code, out = check(repo, att)
    assert code == 0 and out["ok"] and out["brokenLink"] is None
    assert [x["link"] for x in out["links"]] == ["signature", "subject", "commit", "note", "policy"]
    assert all(x["ok"] for x in out["links"])
    text = srcprov(repo, "verify-attestation", str(att), "--subject", ARTIFACT)
    assert text.returncode == 0 and "attestation verified" in text.stdout


def test_tampered_envelope_breaks_the_signature(attested: tuple[Path, Path], gpg_env: Env) -> None:
    repo, att = attested
    env, st = decoded(att)
    st["predicate"]["runDetails"]["builder"]["id"] = "https://evil.example.com"
    env["payload"] = base64.b64encode(json.dumps(st).encode()).decode()
    att.write_text(json.dumps(env))
    code, out = check(repo, att)
    assert code == 1 and out["brokenLink"] == "signature"
    assert [x["ok"] for x in out["links"]] == [False, None, None, None, None]


@pytest.mark.parametrize("key, why", [("alice", "without role builder"), ("mallory", "does not hold")])
def test_signer_without_builder_role_breaks_the_signature(repo: Path, gpg_env: Env, key: str, why: str) -> None:
    code, out = check(repo, attest(repo, gpg_env, key))
    assert code == 1 and out["brokenLink"] == "signature"
    assert why in out["links"][0]["detail"]


def test_unsigned_attestation_breaks_the_signature(repo: Path, gpg_env: Env) -> None:
    att = attest(repo, gpg_env, "builder", "--no-sign")
    assert json.loads(att.read_text())["signatures"] == []
    code, out = check(repo, att)
    assert code == 1 and out["brokenLink"] == "signature" and "not signed" in out["links"][0]["detail"]


def test_changed_artifact_breaks_the_subject(attested: tuple[Path, Path], gpg_env: Env) -> None:
    repo, att = attested
    (repo / ARTIFACT).write_bytes(b"artifact bytes, changed\n")
    code, out = check(repo, att)
    assert code == 1 and out["brokenLink"] == "subject"
    assert out["links"][0]["ok"] is True


def test_commit_missing_from_the_repository(repo: Path, gpg_env: Env, tmp_path: Path) -> None:
    git(repo, "switch", "-q", "-c", "feature")
    commit_file(repo, "feature.txt", "new\n", "feature")
    assert srcprov(repo, "record").returncode == 0
    att = attest(repo, gpg_env)
    git(repo, "switch", "-q", "main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--no-local", "--single-branch", "--branch", "main", str(repo), str(clone))
    git(clone, "fetch", "-q", "origin", "refs/notes/srcprov:refs/notes/srcprov")
    shutil.copy(repo / ARTIFACT, clone / "artifact")
    r = srcprov(clone, "verify-attestation", str(att), "--subject", "artifact", "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["brokenLink"] == "commit"
    assert "not in this repository" in out["links"][2]["detail"]


def test_forced_record_keeps_the_chain_and_a_replaced_note_breaks_it(attested: tuple[Path, Path], gpg_env: Env) -> None:
    """`record --force` adds a record (notes are append-only): the attested records still stand. A note
    replaced outside srcprov (`git notes add -f`) no longer holds them: the note link breaks."""
    repo, att = attested
    git(repo, "config", "srcprov.signingKey", gpg_env.fpr["alice"])
    attested_lines = set(git(repo, "notes", "--ref", "refs/notes/srcprov", "show", "HEAD").splitlines())
    assert srcprov(repo, "record", "--force", "HEAD").returncode == 0
    code, out = check(repo, att)
    assert code == 0 and "1 record(s) added since" in out["links"][3]["detail"], out
    lines = set(git(repo, "notes", "--ref", "refs/notes/srcprov", "show", "HEAD").splitlines())
    assert attested_lines < lines
    (new,) = lines - attested_lines
    git(repo, "notes", "--ref", "refs/notes/srcprov", "add", "-f", "-m", new, "HEAD")
    code, out = check(repo, att)
    assert code == 1 and out["brokenLink"] == "note" and "replaced or removed" in out["links"][3]["detail"]


def test_removed_note_breaks_the_note(attested: tuple[Path, Path], gpg_env: Env) -> None:
    repo, att = attested
    git(repo, "notes", "--ref", "refs/notes/srcprov", "remove", "HEAD")
    code, out = check(repo, att)
    assert code == 1 and out["brokenLink"] == "note"


def test_note_that_never_was_the_commits_note_breaks_the_note(attested: tuple[Path, Path], gpg_env: Env) -> None:
    """An attestation naming another commit's note (a copied blob id) is caught by the history walk."""
    repo, att = attested
    env, st = decoded(att)
    other = git(repo, "notes", "--ref", "refs/notes/srcprov", "list", "HEAD~1")
    st["predicate"]["buildDefinition"]["resolvedDependencies"][1]["digest"]["gitBlob"] = other
    git(repo, "config", "srcprov.signingKey", gpg_env.fpr["builder"])
    from srcprov.attest.provenance import envelope_line
    from srcprov.git import Repo
    from srcprov.recording.signer import make_signer

    att.write_bytes(envelope_line(st, make_signer(Repo(repo))) + b"\n")
    code, out = check(repo, att)
    assert code == 1 and out["brokenLink"] == "note" and "was never the note" in out["links"][3]["detail"]


def test_review_added_later_keeps_the_chain(attested: tuple[Path, Path], gpg_env: Env) -> None:
    repo, att = attested
    git(repo, "config", "srcprov.signingKey", gpg_env.fpr["bob"])
    git(repo, "config", "user.email", "bob@example.com")
    assert srcprov(repo, "review", "HEAD").returncode == 0
    code, out = check(repo, att)
    assert code == 0 and out["ok"], out
    assert "1 record(s) added since" in out["links"][3]["detail"]


def test_commit_failing_the_policy_breaks_the_last_link(attested: tuple[Path, Path], gpg_env: Env, tmp_path: Path) -> None:
    repo, att = attested
    strict = tmp_path / "strict"
    write_policy(strict, gpg_env, {"alice": ["author", "reviewer"], "builder": ["builder"]}, reviews=1)
    code, out = check(repo, att, "--policy", str(strict / ".srcprov"))
    assert code == 1 and out["brokenLink"] == "policy" and "unreviewed" in out["links"][4]["detail"]
    assert all(x["ok"] for x in out["links"][:4])


def test_policy_rev_is_honoured(attested: tuple[Path, Path], gpg_env: Env) -> None:
    repo, att = attested
    code, out = check(repo, att, "--policy-rev", "HEAD~1")
    assert code == 0, out


def test_bad_input_exits_2(attested: tuple[Path, Path], gpg_env: Env) -> None:
    repo, att = attested
    r = srcprov(repo, "verify-attestation", str(att), "--subject", "no-such-file")
    assert r.returncode == 2 and r.stderr.startswith("srcprov: error: ") and "Traceback" not in r.stderr
    (repo / "junk.json").write_text("{not json")
    r = srcprov(repo, "verify-attestation", "junk.json", "--subject", ARTIFACT)
    assert r.returncode == 2 and "not a DSSE envelope" in r.stderr
    r = srcprov(repo, "attest", "--subject", "no-such-file")
    assert r.returncode == 2 and "cannot read no-such-file" in r.stderr


def test_attest_to_stdout_and_rev(attested: tuple[Path, Path]) -> None:
    repo, _ = attested
    r = srcprov(repo, "attest", "--subject", ARTIFACT, "--rev", "HEAD~1", "--no-sign")
    assert r.returncode == 0, r.stderr
    st = json.loads(base64.b64decode(json.loads(r.stdout)["payload"]))
    assert st["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"] == git(repo, "rev-parse", "HEAD~1")
