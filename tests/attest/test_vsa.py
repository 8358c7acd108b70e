"""write_vsa: the SLSA Source VSA that `verify --vsa FILE` writes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from google.protobuf import json_format

from srcprov.attest.vsa import write_vsa
from srcprov.git import Repo
from srcprov.recording.signer import make_signer
from srcprov.trust.policy import load_policy
from srcprov.trust.verify import verify_commits
from tests.attest.conftest import Env, commit_file, git, srcprov, write_policy


def _vsa(repo: Path, out: Path, revs: list[str], signed: bool = True) -> tuple[dict, dict]:
    r = Repo(repo)
    policy = load_policy(r)
    commits = r.rev_list(revs)
    results = verify_commits(r, policy, commits)
    write_vsa(r, policy, results, out, make_signer(r) if signed else None)
    env = json.loads(out.read_text())
    return env, json.loads(base64.b64decode(env["payload"]))


# The SLSA VSA v1 predicate's fields (https://slsa.dev/spec/v1.2/verification_summary), and the fields of its
# nested objects: a VSA with any other field is rejected by strict parsers (source-tool's protojson).
VSA_FIELDS = {"verifier", "timeVerified", "resourceUri", "policy", "inputAttestations", "verificationResult",
              "verifiedLevels", "dependencyLevels", "slsaVersion"}
VERIFIER_FIELDS = {"id", "version"}
DESCRIPTOR_FIELDS = {"uri", "digest"}  # policy and inputAttestations[]


def strictly_parsed(st: dict) -> None:
    """Parse the VSA as strict consumers do: the in-toto Statement and the VSA message with unknown fields
    rejected. in-toto-attestation 0.9.3's vsa.proto still declares verifiedLevels as one string where the SLSA
    spec has a list of strings (which srcprov follows): that field is checked against the spec instead."""
    from in_toto_attestation.predicates.vsa.v1 import vsa_pb2
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement

    Statement.copy_from_pb(json_format.ParseDict(st, statement_pb2.Statement())).validate()
    p = st["predicate"]
    assert set(p) <= VSA_FIELDS and set(p["verifier"]) <= VERIFIER_FIELDS
    assert set(p["policy"]) <= DESCRIPTOR_FIELDS and all(set(i) <= DESCRIPTOR_FIELDS for i in p["inputAttestations"])
    levels = p["verifiedLevels"]
    assert isinstance(levels, list) and levels and all(isinstance(x, str) for x in levels)
    rest = {k: v for k, v in p.items() if k != "verifiedLevels"}
    vsa = json_format.ParseDict(rest, vsa_pb2.VerificationSummary())  # ignore_unknown_fields=False: strict
    assert vsa.verification_result == p["verificationResult"] and vsa.resource_uri == p["resourceUri"]


def test_passed_vsa_names_the_newest_commit(repo: Path, gpg_env: Env, tmp_path: Path) -> None:
    env, st = _vsa(repo, tmp_path / "vsa.json", ["HEAD"])
    head = git(repo, "rev-parse", "HEAD")
    assert st["predicateType"] == "https://slsa.dev/verification_summary/v1"
    assert st["subject"] == [{"digest": {"gitCommit": head, "gitTree": git(repo, "rev-parse", "HEAD^{tree}")},
                              "annotations": {"sourceRefs": ["refs/heads/main"], "source_refs": ["refs/heads/main"]}}]
    p = st["predicate"]
    # Only a commit that verifies: no branch-update provenance, so level 1.
    assert p["verificationResult"] == "PASSED" and p["verifiedLevels"] == ["SLSA_SOURCE_LEVEL_1"]
    assert p["resourceUri"] == "git+urn:srcprov:local:repo"  # the repository alone: no ref
    assert p["policy"]["uri"].endswith("/.srcprov/policy.toml") and len(p["policy"]["digest"]["sha256"]) == 64
    assert p["verifier"] == {"id": "urn:srcprov:verifier:v1"} and p["timeVerified"].endswith("Z")
    assert [set(i) for i in p["inputAttestations"]] == [{"uri", "digest"}]
    assert p["slsaVersion"] == "1.2"
    assert [s["keyid"] for s in env["signatures"]] == [gpg_env.fpr["alice"]]
    strictly_parsed(st)


def test_resource_uri_is_the_repository_url_source_tool_compares(repo: Path, gpg_env: Env, tmp_path: Path) -> None:
    git(repo, "remote", "add", "origin", "https://github.com/acme/widget.git")
    _, st = _vsa(repo, tmp_path / "vsa.json", ["HEAD"])
    # source-tool strips `git+` and compares with the repository's URL.
    assert st["predicate"]["resourceUri"].removeprefix("git+") == "https://github.com/acme/widget"
    assert st["subject"][0]["annotations"]["source_refs"] == ["refs/heads/main"]


def test_failed_vsa_claims_no_level(repo: Path, gpg_env: Env, tmp_path: Path) -> None:
    commit_file(repo, "unrecorded.txt", "x\n", "no record")
    env, st = _vsa(repo, tmp_path / "vsa.json", ["HEAD~2..HEAD"], signed=False)
    assert env["signatures"] == []
    assert st["subject"][0]["digest"]["gitCommit"] == git(repo, "rev-parse", "HEAD")
    assert st["predicate"]["verificationResult"] == "FAILED" and st["predicate"]["verifiedLevels"] == ["FAILED"]
    strictly_parsed(st)


def test_verify_vsa_needs_a_source_key(repo: Path, gpg_env: Env, tmp_path: Path) -> None:
    vsa = tmp_path / "vsa.json"
    r = srcprov(repo, "verify", "--vsa", str(vsa))  # alice: author and reviewer
    assert r.returncode == 2 and "role source" in r.stderr and r.stderr.startswith("srcprov: error: ")
    assert not vsa.exists()
    write_policy(repo, gpg_env, {"alice": ["author", "reviewer"], "builder": ["builder", "source"]})
    git(repo, "config", "srcprov.signingKey", gpg_env.fpr["builder"])
    r = srcprov(repo, "verify", "--vsa", str(vsa))
    assert r.returncode == 0, r.stderr
    assert [s["keyid"] for s in json.loads(vsa.read_text())["signatures"]] == [gpg_env.fpr["builder"]]
