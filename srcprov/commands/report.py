"""`report`: the provenance report, with coverage from verification when a policy is there."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from srcprov.commands import flush, policy_for
from srcprov.errors import SrcprovError

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.report.facts import CommitFacts
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
            origin = best.facts["origin"] if best is not None and best.status == RecordStatus.VERIFIED else None
            reviewed = any(
                r.predicate_type == REVIEW and r.status == RecordStatus.VERIFIED and r.facts["verdict"] == "approved"
                for r in cr.records
            )
            out[cr.commit] = CommitFacts(cr.status, origin, reviewed)
        return out

    return facts_for


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
    run_report(repo, rev=rev, facts_for=facts_for, **options)
