"""`verify --vsa FILE`: a signed SLSA Source Verification Summary Attestation for the newest commit."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srcprov.errors import SrcprovError
from srcprov.model.dsse import SOURCE_VSA, statement
from srcprov.model.timefmt import utc_now

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.signing import Signer
    from srcprov.trust.policy import Policy
    from srcprov.trust.verify import CommitResult

# A URI naming srcprov as the verifier (a URN: srcprov has no web address of its own to name).
VERIFIER_ID = "urn:srcprov:verifier:v1"
SLSA_VERSION = "1.2"
LEVELS = ("SLSA_SOURCE_LEVEL_1", "SLSA_SOURCE_LEVEL_2", "SLSA_SOURCE_LEVEL_3", "SLSA_SOURCE_LEVEL_4")


def _policy_descriptor(repo: Repo, policy: Policy, url: str) -> dict[str, Any]:
    """`policy`: where it came from and the sha256 of its policy.toml bytes (a git blob id too when committed)."""
    m = re.search(r"\(([0-9a-f]{40}|[0-9a-f]{64})\)$", policy.source)
    if m:
        commit = repo.pg[m.group(1)]
        try:
            blob_id = commit.tree[".srcprov/policy.toml"].id
            data = repo.blob_data(blob_id)
        except KeyError:
            return {"uri": f"git+{url}@{m.group(1)}#.srcprov/policy.toml"}
        return {"uri": f"git+{url}@{m.group(1)}#.srcprov/policy.toml",
                "digest": {"sha256": hashlib.sha256(data).hexdigest(), "gitBlob": str(blob_id)}}
    if policy.source.startswith("work tree") and repo.workdir is not None:
        path = repo.workdir / ".srcprov" / "policy.toml"
    elif policy.source and policy.source != "none":
        path = Path(policy.source) / "policy.toml"
    else:
        return {"uri": "urn:srcprov:policy:none"}
    try:
        data = path.read_bytes()
    except OSError:
        return {"uri": path.resolve().as_uri()}
    return {"uri": path.resolve().as_uri(), "digest": {"sha256": hashlib.sha256(data).hexdigest()}}


def resource_uri(url: str) -> str:
    """`resourceUri`: the repository's URI alone, as source-tool compares it (no ref, no `.git`, no trailing /)."""
    url = url.rstrip("/")
    return "git+" + (url[: -len(".git")] if url.endswith(".git") else url)


def _tip_update(repo: Repo, policy: Policy, commit: str, ref: str) -> dict[str, list[str]] | None:
    """The controls of the verified branch-update record of REF on COMMIT (the update that made it the tip)."""
    from srcprov.model.dsse import SOURCE_PROVENANCE
    from srcprov.model.status import RecordStatus
    from srcprov.trust.verify import verify_commits

    cr = verify_commits(repo, policy, [commit])[0]
    found = [r.facts.get("controls") or {} for r in cr.records
             if r.predicate_type == SOURCE_PROVENANCE and r.status == RecordStatus.VERIFIED and r.facts.get("ref") == ref]
    return max(found, key=len) if found else None


def verified_levels(repo: Repo, policy: Policy, commit: str, ref: str, passed: bool) -> list[str]:
    """`verifiedLevels`: `["FAILED"]`, or the highest Source level met and the SRCPROV_* controls that hold.

    L1: the commit verifies. L2: the update that made it REF's tip has a branch-update record, and every update
    since the policy's `since` has one (SRCPROV_PROVENANCE). L3: and every commit of every update verified
    (SRCPROV_VERIFIED_COMMITS has held since). L4: and under a policy requiring an approving review by
    someone other than the author (SRCPROV_REVIEWED), which the policy still requires.
    """
    from srcprov.recording.source_update import PROVENANCE, REVIEWED, VERIFIED

    if not passed:
        return ["FAILED"]
    controls = _tip_update(repo, policy, commit, ref) if ref.startswith("refs/") else None
    held = set(controls or ())
    level = 1
    if PROVENANCE in held:
        level = 2
        if VERIFIED in held:
            level = 3
            if REVIEWED in held and policy.require.reviews >= 1:
                level = 4
    return [LEVELS[level - 1], *sorted(c for c in held if c.startswith("SRCPROV_"))]


def vsa_statement(
    repo: Repo, policy: Policy, results: Sequence[CommitResult], passed: bool, ref: str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Source VSA statement (SLSA v1.2): subject the newest commit of RESULTS, result PASSED or FAILED.

    Only fields the VSA schema defines: strict parsers (source-tool's, in-toto's protobuf bindings) reject
    a VSA with any other.
    """
    from srcprov.attest.provenance import build_context, git_uri, source_ref, source_url

    if not results:
        raise SrcprovError("no commits verified: nothing for a VSA to name")
    newest = results[0].commit
    ctx = build_context(os.environ if env is None else env)
    if ref is not None:
        ctx = dataclasses.replace(ctx, ref=ref)
    url = source_url(repo, ctx)
    ref = source_ref(repo, newest, "HEAD", ctx)
    subj: dict[str, Any] = {"digest": {"gitCommit": newest, "gitTree": str(repo.commit(newest).tree_id)}}
    if ref.startswith("refs/"):
        # Both spellings: the SLSA spec's and source-tool's.
        subj["annotations"] = {"sourceRefs": [ref], "source_refs": [ref]}
    inputs = []
    note = results[0].note_blob
    if note is not None:
        data = repo.blob_data(note)
        inputs.append({"uri": git_uri(url, repo.notes_ref),
                       "digest": {"sha256": hashlib.sha256(data).hexdigest(), "gitBlob": note}})
    pred: dict[str, Any] = {
        "verifier": {"id": VERIFIER_ID},
        "timeVerified": utc_now(),
        "resourceUri": resource_uri(url),
        "policy": _policy_descriptor(repo, policy, url),
        "inputAttestations": inputs,
        "verificationResult": "PASSED" if passed else "FAILED",
        "verifiedLevels": verified_levels(repo, policy, newest, ref, passed),
        "slsaVersion": SLSA_VERSION,
    }
    return statement([subj], SOURCE_VSA, pred)


def write_vsa(
    repo: Repo,
    policy: Policy,
    results: Sequence[CommitResult],
    path: str | os.PathLike[str],
    signer: Signer | None,
    *,
    passed: bool | None = None,
) -> None:
    """Write the Source VSA for RESULTS (newest first) to PATH as a DSSE envelope line, signed by SIGNER
    (None: unsigned). PASSED defaults to verdict_ok(results); pass verify's own verdict (--strict)."""
    from srcprov.attest.provenance import envelope_line
    from srcprov.trust.verify import verdict_ok

    ok = verdict_ok(list(results)) if passed is None else passed
    line = envelope_line(vsa_statement(repo, policy, results, ok), signer)
    try:
        Path(path).write_bytes(line + b"\n")
    except OSError as e:
        raise SrcprovError(f"cannot write {path}: {e.strerror}") from None
