"""What verification concluded per (commit, note blob), kept in the git directory under the policy's digest.

A note blob is content-addressed and a policy digest covers policy.toml and every key, so a cached verdict
holds until either changes. The cache is a convenience: unreadable or unwritable, it is ignored.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import TYPE_CHECKING, Any

from srcprov import __version__, state
from srcprov.model.status import RecordStatus

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.trust.policy import Policy
    from srcprov.trust.verify import RecordResult

# Bump when the verdict for the same bytes could change (a new check, a fixed judgement).
VERDICT_VERSION = "8"  # 5: SSH and PEM signatures; 6: aiLines in commit facts; 7: branch-update records;
# 8: the signed evidence digest in commit facts


class VerdictCache:
    """Cached record verdicts for one policy digest."""

    def __init__(self, repo: Repo, policy: Policy) -> None:
        digest = (policy.digest or "none")[:32]
        anchor = f"-{policy.anchor[:16]}" if policy.anchor else ""  # protected history is part of a verdict
        self.path = (state.cache(repo.common_dir) /
                     f"verify-{digest}{anchor}-{__version__}-{VERDICT_VERSION}.json")
        self._now = time.time()
        self._data: dict[str, list[list[Any]]] = {}
        self._dirty = False
        try:
            loaded = json.loads(self.path.read_bytes())
            if isinstance(loaded, dict):
                self._data = loaded
        except (OSError, ValueError):
            pass

    def get(self, commit: str, blob: str) -> list[RecordResult] | None:
        """The cached results for the note BLOB of COMMIT (in line order, bytes not read), or None."""
        from srcprov.trust.verify import RecordResult

        entry = self._data.get(f"{commit} {blob}")
        if not isinstance(entry, list):
            return None
        try:
            out = [RecordResult(None, RecordStatus(status), ptype, signer, reason, facts, until)
                   for status, ptype, signer, reason, facts, until in entry]
        except (ValueError, TypeError):
            return None
        if any(r.stable_until is not None and r.stable_until <= self._now for r in out):
            return None  # a key or signer has ended since: judge again
        return out

    def put(self, commit: str, blob: str, results: list[RecordResult]) -> None:
        """Remember the verdicts on a note (results in line order)."""
        if any(r.reason == "commit not in this repository" for r in results):
            return  # a fetch may bring the commit: not a verdict to keep
        self._data[f"{commit} {blob}"] = [[str(r.status), r.predicate_type, r.signer, r.reason, r.facts,
                                           r.stable_until] for r in results]
        self._dirty = True

    def save(self) -> None:
        """Write the cache atomically, if anything was added; failures are ignored."""
        if not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".verify-")
            with os.fdopen(fd, "wb") as f:
                f.write(json.dumps(self._data, separators=(",", ":")).encode())
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            pass
