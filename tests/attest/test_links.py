"""verify-attestation cannot be fooled about which commit or note an attestation names, and reads bundles:
the source is resolvedDependencies[0] (no other entry may name another commit), the note is the one entry
with the bundle mediaType and annotations.subjectGitCommit, and a bundle is read line by line."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.attest.conftest import ARTIFACT, Env, check, decoded, git, srcprov

CYCLONEDX = "https://cyclonedx.org/bom"


def signed_lines(repo: Path, gpg_env: Env, *statements: dict[str, Any]) -> bytes:
    """STATEMENTS as DSSE envelope lines signed by the policy's trusted builder key."""
    from srcprov.attest.provenance import envelope_line
    from srcprov.git import Repo
    from srcprov.recording.signer import make_signer

    git(repo, "config", "srcprov.signingKey", gpg_env.fpr["builder"])
    signer = make_signer(Repo(repo))
    return b"".join(envelope_line(st, signer) + b"\n" for st in statements)


def deps_of(st: dict[str, Any]) -> list[dict[str, Any]]:
    return st["predicate"]["buildDefinition"]["resolvedDependencies"]


def sbom_statement(st: dict[str, Any]) -> dict[str, Any]:
    """A CycloneDX statement about the provenance's subjects (the second line of an `attest --sbom` bundle)."""
    return {"_type": st["_type"], "subject": st["subject"], "predicateType": CYCLONEDX,
            "predicate": {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": []}}


def test_attest_writes_no_name_in_any_dependency(attested: tuple[Path, Path]) -> None:
    repo, att = attested
    _, st = decoded(att)
    deps = deps_of(st)
    assert len(deps) == 2 and all("name" not in d for d in deps)
    assert deps[0]["digest"] == {"gitCommit": git(repo, "rev-parse", "HEAD")}


@pytest.mark.parametrize("where", ["later", "first"])
def test_decoy_dependency_naming_another_commit_breaks_the_commit(
        attested: tuple[Path, Path], gpg_env: Env, where: str) -> None:
    """Signed by the trusted builder, naming commit A first and B later (or a decoy B first, ahead of the real
    source that says `name: source`): one commit to slsa-verifier, another to a search by name. It must fail."""
    repo, att = attested
    _, st = decoded(att)
    a, b = git(repo, "rev-parse", "HEAD"), git(repo, "rev-parse", "HEAD~1")  # both exist: only the link check stops it
    decoy = {"uri": "git+https://example.com/other@refs/heads/main", "digest": {"gitCommit": b}}
    deps = deps_of(st)
    if where == "later":
        deps.append(decoy)
    else:
        deps[0]["name"] = "source"
        deps.insert(0, decoy)
    att.write_bytes(signed_lines(repo, gpg_env, st))
    code, out = check(repo, att)
    assert code == 1 and out["brokenLink"] == "commit", out
    assert [x["ok"] for x in out["links"]] == [True, True, False, None, None]
    assert out["commit"] is None
    assert (a if where == "first" else b) in out["links"][2]["detail"]


def test_external_parameters_naming_another_commit_breaks_the_commit(attested: tuple[Path, Path], gpg_env: Env) -> None:
    repo, att = attested
    _, st = decoded(att)
    st["predicate"]["buildDefinition"]["externalParameters"]["source"]["digest"]["gitCommit"] = git(repo, "rev-parse", "HEAD~1")
    att.write_bytes(signed_lines(repo, gpg_env, st))
    code, out = check(repo, att)
    assert code == 1 and out["brokenLink"] == "commit" and "externalParameters.source" in out["links"][2]["detail"]


def test_other_entries_naming_the_same_commit_and_a_note_found_without_a_name(
        attested: tuple[Path, Path], gpg_env: Env) -> None:
    """The note is found by mediaType and subjectGitCommit wherever it stands, whatever `name` it has."""
    repo, att = attested
    _, st = decoded(att)
    deps = deps_of(st)
    source, note = deps
    note["name"] = "something-else"
    config = {"uri": source["uri"] + "#build.sh", "digest": {"gitCommit": source["digest"]["gitCommit"]},
              "annotations": {"role": "build-config"}}
    deps[1:] = [config, note]
    att.write_bytes(signed_lines(repo, gpg_env, st))
    code, out = check(repo, att)
    assert code == 0 and out["ok"], out


def _second_note(st: dict[str, Any], repo: Path) -> None:
    deps_of(st).append(copy.deepcopy(deps_of(st)[1]))


def _note_of_other_commit(st: dict[str, Any], repo: Path) -> None:
    deps_of(st)[1]["annotations"]["subjectGitCommit"] = git(repo, "rev-parse", "HEAD~1")


def _no_subject_commit(st: dict[str, Any], repo: Path) -> None:
    del deps_of(st)[1]["annotations"]["subjectGitCommit"]


@pytest.mark.parametrize("change, why", [
    (_second_note, "names 2 notes"),
    (_note_of_other_commit, "not the source"),
    (_no_subject_commit, "names no note"),
])
def test_note_entry_rules_break_the_note(attested: tuple[Path, Path], gpg_env: Env, change: Any, why: str) -> None:
    repo, att = attested
    _, st = decoded(att)
    change(st, repo)
    att.write_bytes(signed_lines(repo, gpg_env, st))
    code, out = check(repo, att)
    assert code == 1 and out["brokenLink"] == "note", out
    assert why in out["links"][3]["detail"]


def test_two_line_bundle_verifies(attested: tuple[Path, Path], gpg_env: Env) -> None:
    repo, att = attested
    first = att.read_bytes()
    _, st = decoded(att)
    att.write_bytes(first + signed_lines(repo, gpg_env, sbom_statement(st)))
    assert len(att.read_bytes().splitlines()) == 2
    code, out = check(repo, att)
    assert code == 0 and out["ok"], out
    text = srcprov(repo, "verify-attestation", str(att), "--subject", ARTIFACT)
    assert text.returncode == 0 and "attestation verified" in text.stdout


def test_pretty_printed_single_envelope_still_verifies(attested: tuple[Path, Path]) -> None:
    repo, att = attested
    att.write_text(json.dumps(json.loads(att.read_text()), indent=2) + "\n")
    code, out = check(repo, att)
    assert code == 0 and out["ok"], out


def _bad(repo: Path, att: Path) -> str:
    r = srcprov(repo, "verify-attestation", str(att), "--subject", ARTIFACT, "--json")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith("srcprov: error: ") and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stdout == ""
    return r.stderr


def test_bundle_with_a_garbage_second_line_exits_2(attested: tuple[Path, Path]) -> None:
    repo, att = attested
    first = att.read_bytes()
    att.write_bytes(first + b"this is not an envelope\n")
    assert ":2 is not a DSSE envelope" in _bad(repo, att)
    not_a_statement = {"payloadType": "application/vnd.in-toto+json",
                       "payload": base64.b64encode(b'{"hello": 1}').decode(), "signatures": []}
    att.write_bytes(first + json.dumps(not_a_statement).encode() + b"\n")
    assert ":2 is not a DSSE envelope holding an in-toto statement" in _bad(repo, att)


def test_bundle_needs_exactly_one_provenance_line(attested: tuple[Path, Path], gpg_env: Env) -> None:
    repo, att = attested
    first = att.read_bytes()
    _, st = decoded(att)
    att.write_bytes(first + first)
    assert "holds 2 SLSA provenance" in _bad(repo, att)
    att.write_bytes(signed_lines(repo, gpg_env, sbom_statement(st)))
    assert "holds no SLSA provenance" in _bad(repo, att)
