"""Record and commit statuses (SPEC Verification), as the JSON output spells them."""

from __future__ import annotations

from enum import StrEnum


class RecordStatus(StrEnum):
    VERIFIED = "verified"
    UNTRUSTED_SIGNER = "untrusted-signer"
    CONTENT_MISMATCH = "content-mismatch"
    SUBJECT_MISMATCH = "subject-mismatch"
    BAD_SIGNATURE = "bad-signature"
    MALFORMED = "malformed"


class CommitStatus(StrEnum):
    VERIFIED = "verified"
    MISSING = "missing"  # no commit-provenance record
    UNREVIEWED = "unreviewed"  # verified, but too few approving reviews by others than its author
    # Two the SPEC leaves unnamed: a required [[checks]] entry absent or failed, and require.backfilled = deny.
    UNCHECKED = "unchecked"
    BACKFILL_DENIED = "backfill-denied"
    UNTRUSTED_SIGNER = "untrusted-signer"
    CONTENT_MISMATCH = "content-mismatch"
    SUBJECT_MISMATCH = "subject-mismatch"
    BAD_SIGNATURE = "bad-signature"
    MALFORMED = "malformed"


# Best first: which of several commit-provenance records decides a commit's status.
RANK = {s: i for i, s in enumerate(RecordStatus)}
