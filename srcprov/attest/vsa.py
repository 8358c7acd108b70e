"""`verify --vsa FILE`: a signed SLSA Source Verification Summary Attestation for the newest commit."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srcprov import __version__
from srcprov.errors import SrcprovError
from srcprov.model.dsse import SOURCE_VSA, statement
from srcprov.model.timefmt import utc_now

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.signing import Signer
    from srcprov.trust.policy import Policy
    from srcprov.trust.verify import CommitResult

VERIFIER_ID = "urn:srcprov:verifier:v1"
# srcprov checks that each commit carries signed provenance from a trusted signer. That is the source
# track's level 1 claim; levels 2+ are about the source control system (history, branch protection),
# which srcprov cannot vouch for.
VERIFIED_LEVEL = "SLSA_SOURCE_LEVEL_1"
SLSA_VERSION = "1.2"


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


def vsa_statement(
    repo: Repo, policy: Policy, results: Sequence[CommitResult], passed: bool, ref: str | None = None
) -> dict[str, Any]:
    """The Source VSA statement: subject the newest commit of RESULTS, result PASSED or FAILED."""
    from srcprov.attest.provenance import BuildContext, git_uri, source_ref, source_url
    from srcprov.recording.statements import subject

    if not results:
        raise SrcprovError("no commits verified: nothing for a VSA to name")
    newest = results[0].commit
    ctx = BuildContext("local", "", repository_url=None, ref=ref)
    url = source_url(repo, ctx)
    ref = source_ref(repo, newest, "HEAD", ctx)
    subj = subject(repo, newest)
    if ref.startswith("refs/"):
        subj[0]["annotations"] = {"source_refs": [ref]}
    inputs = []
    note = results[0].note_blob
    if note is not None:
        data = repo.blob_data(note)
        inputs.append({"uri": git_uri(url, repo.notes_ref), "name": "source-provenance",
                       "digest": {"sha256": hashlib.sha256(data).hexdigest(), "gitBlob": note}})
    pred: dict[str, Any] = {
        "verifier": {"id": VERIFIER_ID, "version": {"srcprov": __version__}},
        "timeVerified": utc_now(),
        "resourceUri": git_uri(url, ref),
        "policy": _policy_descriptor(repo, policy, url),
        "inputAttestations": inputs,
        "verificationResult": "PASSED" if passed else "FAILED",
        "verifiedLevels": [VERIFIED_LEVEL] if passed else [],
        "slsaVersion": SLSA_VERSION,
    }
    return statement(subj, SOURCE_VSA, pred)


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
