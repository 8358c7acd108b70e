"""`report`: the provenance report, with coverage from verification when a policy is there."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from srcprov.commands import flush, policy_for
from srcprov.errors import SrcprovError

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.report.facts import CommitFacts, EvidenceFor
    from srcprov.trust.policy import Policy


def report_facts(repo: Repo, policy: Policy) -> Callable[[list[str]], dict[str, CommitFacts]]:
    """A `facts_for(commit_ids)` for the report: status, verified origin, approving review, in one pass."""
    from srcprov.model.dsse import REVIEW
    from srcprov.model.status import RecordStatus
    from srcprov.report.facts import CommitFacts
    from srcprov.trust.verify import verify_commits

    def facts_for(commits: list[str]) -> dict[str, CommitFacts]:
        out = {}
        for cr in verify_commits(repo, policy, commits):
            best = cr.best
            good = best is not None and best.status == RecordStatus.VERIFIED
            origin = best.facts["origin"] if good else None
            evidence = tuple(best.facts["evidence"]) if good and best.facts.get("evidence") else None
            reviewed = any(
                r.predicate_type == REVIEW and r.status == RecordStatus.VERIFIED and r.facts["verdict"] == "approved"
                for r in cr.records
            )
            out[cr.commit] = CommitFacts(cr.status, origin, reviewed, evidence)  # type: ignore[arg-type]
        return out

    return facts_for


def report_evidence(repo: Repo) -> EvidenceFor:
    """An `evidence_for(commits)` for the report: each commit's evidence where it still hashes to the digest
    its verified record signed (see recording.evidence.signed_evidence)."""
    from srcprov.recording.evidence import signed_evidence

    def evidence_for(wanted: dict[str, tuple[str, str]]) -> dict[str, Any]:
        return {c: signed_evidence(repo, c, fmt, digest) for c, (fmt, digest) in wanted.items()}

    return evidence_for


def report(repo: Repo, *, rev: str, policy_dir: str | None, policy_rev: str | None, warnings: list[str],
           **options: Any) -> None:
    """Compute and write the report (OPTIONS as `run_report` takes them); a missing policy only costs coverage."""
    from srcprov.report import run_report

    repo.resolve_commit(rev)
    flush(repo, warnings)
    facts_for = None
    try:
        facts_for = report_facts(repo, policy_for(repo, policy_dir, policy_rev, warnings,
                                                  "coverage counts every commit as missing"))
    except SrcprovError as e:
        if policy_dir or policy_rev:
            raise
        warnings.append(f"{e}; coverage counts every commit as missing")
    run_report(repo, rev=rev, facts_for=facts_for, evidence_for=report_evidence(repo), warnings=warnings,
               **options)
