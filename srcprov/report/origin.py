"""The origin of each line at a revision: from line-level evidence where a verified record binds it, else from
the blamed commit's claimed origin.

Evidence (a git-ai authorship log, an Agent Trace record) names lines by their numbers in the blamed commit's
version of each file. `git blame` says, for every line today, which commit it came from and its number and
path in that commit (its original line), so a line keeps the kind its evidence gave it however later commits
moved it. The evidence is used only where the commit's verified record signed its digest and its bytes still
hash to it (the caller's `evidence_for` checks that); everywhere else the record's `claims.origin` counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from srcprov.git import Repo
from srcprov.model.evidence import Evidence
from srcprov.report.attribution import Attribution, IgnoreRevs, TreeFile, blame_entries
from srcprov.report.cache import Entries, ReportCache, Runs
from srcprov.report.facts import CommitFacts, EvidenceFor

UNTRACKED = "unknown"  # a line of a commit with evidence that its evidence does not cover


@dataclass
class Origins:
    """Lines by origin per file, and what the evidence contributed."""

    per_file: dict[bytes, Counter[str]] = field(default_factory=dict)
    used: list[str] = field(default_factory=list)  # commits whose evidence gave their lines' origin
    unusable: dict[str, str] = field(default_factory=dict)  # commit -> why its evidence was not used

    def warnings(self) -> list[str]:
        """One line per reason some commits' evidence was not used."""
        out = []
        for reason, what in (("changed", "no longer hashes to the digest its record signed"),
                             ("absent", "is no longer where its tool kept it"),
                             ("malformed", "cannot be read")):
            bad = sorted(c for c, r in self.unusable.items() if r == reason)
            if bad:
                out.append(f"the origin evidence of {len(bad)} commit(s) ({', '.join(c[:12] for c in bad[:3])}"
                           f"{', ...' if len(bad) > 3 else ''}) {what}: their lines count by claims.origin")
        return out

    def as_json(self) -> dict[str, object]:
        return {"commits": len(self.used),
                "unusable": [{"commit": c, "reason": r} for c, r in sorted(self.unusable.items())]}


def claimed(runs: Runs, facts: dict[str, CommitFacts]) -> Counter[str]:
    """Lines by the claimed origin of their blamed commit (`unknown` without a verified record)."""
    out: Counter[str] = Counter()
    for cid, n in runs:
        out[facts[cid].origin or "unknown"] += n
    return out


def from_entries(entries: Entries, facts: dict[str, CommitFacts], evidence: dict[str, Evidence]) -> Counter[str]:
    """Lines by origin, each line of a commit with EVIDENCE by the kind its evidence gives its original line."""
    out: Counter[str] = Counter()
    for cid, orig, _final, count, path in entries:
        ev = evidence.get(cid)
        if ev is None:
            out[facts[cid].origin or "unknown"] += count
            continue
        # Evidence paths are UTF-8 text; a path that is not never matches (surrogates cannot be in one).
        per = ev.lines.get(path.decode("utf-8", "surrogateescape"), {})
        for n in range(orig, orig + count):
            out[per.get(n, UNTRACKED)] += 1
    return out


def line_origins(
    repo: Repo,
    attribution: Attribution,
    files: list[TreeFile],
    facts: dict[str, CommitFacts],
    evidence_for: EvidenceFor | None = None,
    cache: ReportCache | None = None,
    ignore: IgnoreRevs | None = None,
    jobs: int | None = None,
) -> Origins:
    """Lines by origin for every file of FILES (attributed in ATTRIBUTION)."""
    result = Origins()
    present = {cid for f in files for cid, _ in attribution.runs[f.path]}
    wanted = {c: facts[c].evidence for c in sorted(present) if facts[c].evidence is not None}
    got = evidence_for(wanted) if evidence_for is not None and wanted else {}  # type: ignore[arg-type]
    evidence = {c: ev for c, ev in got.items() if isinstance(ev, Evidence)}
    result.used = sorted(evidence)
    result.unusable = {c: r for c, r in got.items() if isinstance(r, str)}
    mapped = [f for f in files if any(cid in evidence for cid, _ in attribution.runs[f.path])]
    entries = blame_entries(repo, [(attribution.starts[f.path], f) for f in mapped], cache, ignore, jobs)
    for f in files:
        if f.path in entries:
            result.per_file[f.path] = from_entries(entries[f.path], facts, evidence)
        else:
            result.per_file[f.path] = claimed(attribution.runs[f.path], facts)
    return result
