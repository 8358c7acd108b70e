"""What the report needs to know about a commit's records, supplied by verification."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from srcprov.model.evidence import Evidence


@dataclass(frozen=True)
class CommitFacts:
    """A commit's verification status, its verified claimed origin, and whether an approving review verified."""

    status: str  # "verified", "missing", "unreviewed", "bad-signature", ...
    origin: str | None  # claims.origin of the verified commit-provenance record, None if none
    reviewed: bool  # has an approving verified review
    # (format, sha256) of the line-level evidence the verified record's `attribution` binds, None if none
    evidence: tuple[str, str] | None = None


MISSING = CommitFacts("missing", None, False)

FactsFor = Callable[[list[str]], "dict[str, CommitFacts]"]
# Commit -> (format, sha256) in; commit -> the evidence, or why it cannot be used (absent, changed, malformed) out.
EvidenceFor = Callable[["dict[str, tuple[str, str]]"], "dict[str, Evidence | str]"]


def facts_of(commit_ids: list[str], facts_for: FactsFor | None) -> dict[str, CommitFacts]:
    """Facts for every commit id, in one call to FACTS_FOR; a commit it does not answer for is `missing`."""
    got = facts_for(list(commit_ids)) if facts_for is not None and commit_ids else {}
    return {c: got.get(c, MISSING) for c in commit_ids}
