"""The build side: `attest`, `reproduce`, `verify-attestation`, `sync`, `repair`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srcprov.commands import flush, policy_for
from srcprov.errors import SrcprovError

if TYPE_CHECKING:
    from srcprov.git import Repo


@dataclass
class AttestResult:
    line: bytes
    output: str | None
    ok: bool = True
    warnings: list[str] = field(default_factory=list)


def attest(repo: Repo, subjects: list[str], rev: str, builder_id: str | None, output: str | None,
           sign: bool, command: str | None = None, deps: list[str] | None = None, sbom: str | None = None) -> AttestResult:
    """Make the build attestation (a bundle when an SBOM is given); write it to OUTPUT when given."""
    from srcprov.attest.provenance import attest as make

    warnings: list[str] = []
    flush(repo, warnings)
    made = make(repo, subjects, rev, builder_id, sign=sign, command=command, deps=deps or ["auto"], sbom=sbom)
    data = made.bundle()
    if output:
        try:
            Path(output).write_bytes(data)
        except OSError as e:
            raise SrcprovError(f"cannot write {output}: {e.strerror}") from None
    return AttestResult(data, output, warnings=warnings + made.warnings)


def reproduce(repo: Repo, file: str, subjects: list[str], command: str | None, keep: bool, timeout: float) -> Any:
    """Rebuild the attestation's commit in a temporary worktree and compare the subjects' digests."""
    from srcprov.attest.reproduce import reproduce as redo

    return redo(repo, file, subjects, command, keep, timeout)


def verify_attestation(repo: Repo, file: str, subjects: list[str], policy_dir: str | None,
                       policy_rev: str | None) -> Any:
    """The chain artifact -> attestation -> commit -> note -> signers, each link named."""
    from srcprov.attest.chain import verify_attestation as check

    return check(repo, file, subjects, policy_for(repo, policy_dir, policy_rev))


def sync(repo: Repo, remote: str) -> Any:
    """Union the notes with REMOTE's and push them."""
    from srcprov.recording.sync import sync as do_sync

    warnings: list[str] = []
    flush(repo, warnings)
    res = do_sync(repo, remote)
    res.warnings += warnings
    return res


def repair(repo: Repo, revs: list[str], dry_run: bool) -> Any:
    """Record commits made where no hook ran from the recorded commits they came from."""
    from srcprov.recording.repair import repair as do_repair

    warnings: list[str] = []
    flush(repo, warnings)
    res = do_repair(repo, revs, dry_run=dry_run)
    res.warnings += warnings
    return res
