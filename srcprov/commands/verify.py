"""`show` and `verify`: records and commits judged against the policy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from srcprov.commands import commits_for, flush, policy_for
from srcprov.model.dsse import COMMIT_PROVENANCE
from srcprov.model.status import CommitStatus, RecordStatus

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.notes import Removal
    from srcprov.trust.verify import CommitResult

ATTENTION_LINES = 20  # verify's text output: lines for commits that need attention before "... and N more"
# Summary order: verified first, then what makes a required commit fail, then the commits nobody requires.
_SUMMARY_ORDER = tuple(CommitStatus)


@dataclass
class ShowResult:
    commit: CommitResult
    ok: bool = True
    warnings: list[str] = field(default_factory=list)
    # sha256 of each attribution's evidence -> {"status": "matches" | "changed" | "absent" | "malformed", "tools"}
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> Any:
        out = self.commit.to_json(with_statement=True)
        if self.evidence:
            out["evidence"] = [{"sha256": k, **v} for k, v in sorted(self.evidence.items())]
        return out

    def lines(self) -> Iterator[str]:
        """The text output; what a signer wrote (names, comments, paths) cannot move the cursor or clear the
        screen: characters that are not printable are shown escaped."""
        for line in self._lines():
            yield line if line.isprintable() else "".join(
                c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in line)

    def _lines(self) -> Iterator[str]:
        from srcprov.model.statements import CommitProvenance, Review, SourceProvenance

        cr = self.commit
        yield f"commit {cr.commit}: {cr.status}" + (f" ({cr.reason})" if cr.reason and cr.status != CommitStatus.VERIFIED else "")
        if not cr.records:
            yield "  no records"
        for r in sorted(cr.records, key=lambda r: r.predicate_type != COMMIT_PROVENANCE):
            pt = r.predicate_type or "unreadable"
            kind = pt.split(":")[2] if pt.startswith("urn:srcprov:") else pt
            yield f"  {kind}: {r.status}" + (f" - {r.reason}" if r.reason else "") + (f"  signer {r.signer}" if r.signer else "")
            rec = r.record
            if isinstance(rec, CommitProvenance):
                ch = rec.changes or {}
                yield (f"    trigger {rec.trigger}, recorded {rec.recorded_at}, origin {rec.origin}, "
                       f"{ch.get('files', 0)} file(s) +{ch.get('insertions', 0)} -{ch.get('deletions', 0)}")
                if rec.attribution:
                    yield from self.attribution_lines(rec.attribution)
                for c in rec.checks:
                    yield f"    check {c.name}: exit {c.exit_code} in {c.duration_ms} ms"
                for link in rec.rewritten_from:
                    yield f"    rewritten from {link.commit[:12]}"
                for link in rec.derived_from:
                    yield f"    derived from {link.commit[:12]} ({rec.how})"
            elif isinstance(rec, SourceProvenance):
                yield f"    {rec.ref} {rec.before[:12]}..{rec.after[:12]} at {rec.updated_at}" + (f" by {rec.actor}" if rec.actor else "")
                for ctl in rec.controls:
                    yield f"    control {ctl.name} since {ctl.since} ({ctl.since_commit[:12]})"
            elif isinstance(rec, Review):
                yield (f"    {rec.verdict} by {rec.reviewer.name} <{rec.reviewer.email}> at {rec.reviewed_at}"
                       + (f": {rec.comment}" if rec.comment else ""))

    def attribution_lines(self, attribution: dict[str, Any]) -> Iterator[str]:
        """The record's line-level origin, and whether the evidence it signed still stands."""
        lines = attribution.get("lines", {})
        counts = ", ".join(f"{lines.get(k, 0)} {k}" for k in ("ai", "human", "mixed", "unknown"))
        yield f"    attribution ({attribution.get('format')} from {attribution.get('source')}): {counts} lines"
        ev = self.evidence.get(attribution.get("sha256", ""), {})
        status = ev.get("status", "unchecked")
        if status == "matches":
            yield "    evidence matches its signed digest" + (f"; tools: {', '.join(ev['tools'])}" if ev.get("tools") else "")
        elif status == "unchecked":
            yield "    evidence not checked: the record is not verified, the report does not use it"
        else:
            yield f"    evidence {EVIDENCE_STATES[status]}: the report uses the claimed origin instead"


EVIDENCE_STATES = {"changed": "changed since it was signed", "absent": "not found where its tool keeps it",
                   "malformed": "cannot be read"}


def evidence_states(repo: Repo, cr: CommitResult) -> dict[str, dict[str, Any]]:
    """For each commit-provenance record's attribution: does the evidence it signed still stand, and what
    tools does it name."""
    from srcprov.model.evidence import Evidence
    from srcprov.model.statements import CommitProvenance
    from srcprov.recording.evidence import signed_evidence

    out: dict[str, dict[str, Any]] = {}
    for r in cr.records:
        rec = r.record
        if not isinstance(rec, CommitProvenance) or not rec.attribution or r.status != RecordStatus.VERIFIED:
            continue  # a forged record's digest is nobody's word: its evidence is not read
        fmt, digest = rec.attribution.get("format", ""), rec.attribution.get("sha256", "")
        got = signed_evidence(repo, cr.commit, fmt, digest)
        out[digest] = ({"status": "matches", "tools": sorted(got.tools)} if isinstance(got, Evidence)
                       else {"status": got, "tools": []})
    return out


def show(repo: Repo, rev: str, policy_dir: str | None, policy_rev: str | None) -> ShowResult:
    """Decode a commit's records and judge each (a missing work-tree policy is a warning here)."""
    from srcprov.trust.verify import verify_commits

    warnings: list[str] = []
    commit = str(repo.resolve_commit(rev).id)
    flush(repo, warnings)
    policy = policy_for(repo, policy_dir, policy_rev, warnings)
    cr = verify_commits(repo, policy, [commit])[0]
    cr.load_lines(repo)
    return ShowResult(cr, warnings=warnings, evidence=evidence_states(repo, cr))


def needs_attention(cr: CommitResult, strict: bool) -> bool:
    """A commit that makes verify fail: required and not verified or, strictly, with any bad record."""
    if cr.required and cr.status != CommitStatus.VERIFIED:
        return True
    return strict and any(r.status != RecordStatus.VERIFIED for r in cr.records)


def commit_line(cr: CommitResult) -> str:
    """One line about a commit: status, why, and how many of its records are bad."""
    extra = "" if cr.required else " (not required)"
    line = f"{cr.commit[:12]} {cr.status}{extra}" + (f": {cr.reason}" if cr.reason else "")
    bad = [r for r in cr.records if r.status != RecordStatus.VERIFIED]
    if cr.status == CommitStatus.VERIFIED and bad:
        line += f"; {len(bad)} bad record(s): {bad[0].status}" + (f" ({bad[0].reason})" if bad[0].reason else "")
    return line


def verify_summary(results: list[CommitResult], removed: list[Removal] | None) -> str:
    """`N commits: a verified, b missing, c not required`, and with --strict how many records were removed."""
    counts: dict[str, int] = {"verified": 0}
    not_required = 0
    for cr in results:
        if cr.status != CommitStatus.VERIFIED and not cr.required:
            not_required += 1
        else:
            counts[cr.status] = counts.get(cr.status, 0) + 1
    rank = {s: i for i, s in enumerate(_SUMMARY_ORDER)}
    parts = [f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: (rank.get(kv[0], 99), kv[0]))
             if n or s == "verified"]
    if not_required:
        parts.append(f"{not_required} not required")
    if removed:
        parts.append(f"{len(removed)} record(s) removed")
    return f"{len(results)} commit{'' if len(results) == 1 else 's'}: " + ", ".join(parts)


@dataclass
class VerifyResult:
    ok: bool
    policy: str
    results: list[CommitResult]
    removed: list[Removal] | None = None  # only with --strict
    strict: bool = False
    verbose: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> Any:
        doc: dict[str, Any] = {"ok": self.ok, "policy": self.policy, "commits": [cr.to_json() for cr in self.results]}
        if self.removed is not None:
            doc["removed"] = [r.to_json() for r in self.removed]
        return doc

    def lines(self) -> Iterator[str]:
        lines = [commit_line(cr) for cr in self.results if self.verbose or needs_attention(cr, self.strict)]
        lines += [f"{r.commit[:12]} record {r.sha256[:12]} was removed from its note by notes commit {r.removed_by[:12]}"
                  for r in self.removed or ()]
        shown = lines if self.verbose else lines[:ATTENTION_LINES]
        yield from shown
        if len(lines) > len(shown):
            yield f"... and {len(lines) - len(shown)} more"
        yield f"{verify_summary(self.results, self.removed)} ({'ok' if self.ok else 'FAILED'}; policy: {self.policy})"


def verify(repo: Repo, revs: list[str], *, policy_dir: str | None = None, policy_rev: str | None = None,
           strict: bool = False, vsa: str | None = None, verbose: bool = False, progress: Any = None) -> VerifyResult:
    """Judge every commit of REVS; `ok` only when each required commit is verified (and, strictly, nothing is
    bad or removed). With VSA, also write a signed Source VSA for the newest commit."""
    from srcprov.notes import removed_records
    from srcprov.trust.verify import verdict_ok, verify_commits

    warnings: list[str] = []
    commits = commits_for(repo, revs)
    flush(repo, warnings)
    policy = policy_for(repo, policy_dir, policy_rev)
    results = verify_commits(repo, policy, commits, progress=progress)
    # Only --strict walks the notes ref's history: a plain verify costs no more than the notes it reads.
    removed = removed_records(repo, commits) if strict else None
    ok = verdict_ok(results, strict) and not removed
    if vsa:
        from srcprov.attest.vsa import write_vsa
        from srcprov.commands import source_signer
        write_vsa(repo, policy, results, vsa, source_signer(repo, policy), passed=ok)
    return VerifyResult(ok, policy.source, results, removed, strict, verbose, warnings)

