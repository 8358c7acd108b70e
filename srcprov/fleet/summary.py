"""One repository's report reduced to the sections that sum, and the fleet report merged from them.

A summary is small (counts by bucket, window, author, status, week and origin: no files, no lines of code),
so the client of a fleet of thousands of repositories holds thousands of these and nothing else.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from srcprov.model.status import CommitStatus

Summary = dict[str, Any]
# Authors listed per repository in the fleet report (the fleet's own list is complete).
ROW_AUTHORS = 10


@dataclass
class Outcome:
    """What a worker sends back for one repository: its summary, or the error that stopped it."""

    name: str
    source: str
    summary: Summary | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the repository was reported."""
        return self.summary is not None


def summarise(doc: dict[str, Any]) -> Summary:
    """The sections of a report's JSON document (SPEC "The provenance report") that add up across repositories."""
    t = doc["totals"]
    cov = doc["coverage"]
    return {
        "revision": doc["revision"],
        "totals": {"files": t["files"], "lines": t["lines"], "commits": t["commits"],
                   "binaryFiles": len(t["binaryFiles"]), "symlinks": len(t["symlinks"]),
                   "submodules": len(t["submodules"])},
        "age": {a["bucket"]: a["lines"] for a in doc["age"]},
        "churn": {w: {k: c[k] for k in ("commits", "insertions", "deletions")} for w, c in doc["churn"].items()},
        "authors": {a["author"]: a["lines"] for a in doc["authors"]},
        "coverage": {"commits": dict(cov["commits"]), "verifiedLines": cov["verifiedLines"],
                     "weekly": {w["week"]: [w["commits"], w["verified"]] for w in cov["weekly"]}},
        "origin": {o["origin"]: o["lines"] for o in doc["origin"]},
        "review": {"reviewedLines": doc["review"]["reviewedLines"], "reviewedCommits": doc["review"]["reviewedCommits"]},
        "legacyFiles": len(doc["legacy"]),
        # Commits whose signed line-level evidence gave their lines' origin, and those whose could not.
        "originEvidence": {"commits": doc["originEvidence"]["commits"],
                           "unusable": len(doc["originEvidence"]["unusable"])},
    }


class Totals:
    """The running sum of summaries, section by section (a commit in two repositories counts in both):
    the client adds each repository's summary as it arrives and keeps only a compact row of it."""

    def __init__(self, buckets: list[str], windows: list[str]) -> None:
        self.buckets = buckets
        self.totals: Counter[str] = Counter()
        self.age: Counter[str] = Counter({b: 0 for b in buckets})
        self.churn = {w: Counter({"commits": 0, "insertions": 0, "deletions": 0}) for w in windows}
        self.authors: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.weekly: dict[str, list[int]] = {}
        self.origin: Counter[str] = Counter()
        self.review: Counter[str] = Counter({"reviewedLines": 0, "reviewedCommits": 0})
        self.evidence: Counter[str] = Counter({"commits": 0, "unusable": 0})
        self.verified = self.legacy = 0

    def add(self, s: Summary) -> None:
        """Add one repository's summary."""
        self.totals.update(s["totals"])
        self.age.update(s["age"])
        for w, c in s["churn"].items():
            self.churn[w].update(c)
        self.authors.update(s["authors"])
        self.statuses.update(s["coverage"]["commits"])
        self.verified += s["coverage"]["verifiedLines"]
        for week, (n, v) in s["coverage"]["weekly"].items():
            slot = self.weekly.setdefault(week, [0, 0])
            slot[0] += n
            slot[1] += v
        self.origin.update(s["origin"])
        self.review.update(s["review"])
        self.evidence.update(s.get("originEvidence", {}))
        self.legacy += s["legacyFiles"]

    def summary(self) -> Summary:
        """The sum so far, as a summary."""
        return {
            "totals": {k: self.totals.get(k, 0) for k in ("files", "lines", "commits", "binaryFiles", "symlinks", "submodules")},
            "age": {b: self.age[b] for b in self.buckets},
            "churn": {w: dict(c) for w, c in self.churn.items()},
            "authors": dict(self.authors),
            "coverage": {"commits": dict(self.statuses), "verifiedLines": self.verified, "weekly": self.weekly},
            "origin": dict(self.origin),
            "review": dict(self.review),
            "legacyFiles": self.legacy,
            "originEvidence": dict(self.evidence),
        }


def merge(summaries: list[Summary], buckets: list[str], windows: list[str]) -> Summary:
    """The sum of SUMMARIES, section by section."""
    totals = Totals(buckets, windows)
    for s in summaries:
        totals.add(s)
    return totals.summary()


def compact(s: Summary) -> Summary:
    """What the client keeps of a repository once its summary is in the totals: its top authors (and how many
    there are) and no weekly capture rate, the two parts that grow with a repository's history."""
    top = dict(_by_size(s["authors"])[:ROW_AUTHORS])
    return {**s, "authors": top, "authorCount": len(s["authors"]),
            "coverage": {k: v for k, v in s["coverage"].items() if k != "weekly"}}


def _share(n: int, total: int) -> float:
    return round(n / total, 4) if total else 0.0


def _by_size(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def sections(s: Summary, buckets: list[str]) -> dict[str, Any]:
    """A summary in the shape of the single report's JSON sections (lists with shares, as `report --json`)."""
    lines = s["totals"]["lines"]
    commits = s["totals"]["commits"]
    cov = s["coverage"]
    return {
        "totals": dict(s["totals"]),
        "age": [{"bucket": b, "lines": s["age"].get(b, 0), "share": _share(s["age"].get(b, 0), lines)} for b in buckets],
        "churn": {w: {**c, "ratio": round((c["insertions"] + c["deletions"]) / lines, 4) if lines else 0.0}
                  for w, c in s["churn"].items()},
        "authors": [{"author": a, "lines": n, "share": _share(n, lines)} for a, n in _by_size(s["authors"])],
        "authorCount": s.get("authorCount", len(s["authors"])),
        "coverage": {
            "commits": dict(_by_size(cov["commits"])),
            "verifiedCommitShare": _share(cov["commits"].get(CommitStatus.VERIFIED, 0), commits),
            "verifiedLines": cov["verifiedLines"],
            "verifiedLineShare": _share(cov["verifiedLines"], lines),
            **({"weekly": [{"week": w, "commits": n, "verified": v, "share": _share(v, n)}
                           for w, (n, v) in sorted(cov["weekly"].items())]} if "weekly" in cov else {}),
        },
        "origin": [{"origin": o, "lines": n, "share": _share(n, lines)} for o, n in _by_size(s["origin"])],
        "review": {**s["review"], "share": _share(s["review"]["reviewedLines"], lines)},
        "legacyFiles": s["legacyFiles"],
        "originEvidence": dict(s.get("originEvidence", {"commits": 0, "unusable": 0})),
    }


def fleet_doc(outcomes: list[Outcome], total: Summary, *, as_of: str, date_field: str, buckets: list[str],
              windows: list[str], revision: str) -> dict[str, Any]:
    """The fleet report's JSON document: the fleet's TOTAL in the single report's sections, each repository
    in list order with the same sections (its summary compacted or not), and the repositories that failed."""
    reported = [o for o in outcomes if o.summary is not None]
    doc: dict[str, Any] = {
        "asOf": as_of,
        "dateField": date_field,
        "revision": revision,
        "buckets": buckets,
        "windows": windows,
        "repositories": {"listed": len(outcomes), "reported": len(reported), "failed": len(outcomes) - len(reported)},
    }
    doc.update(sections(total, buckets))
    doc["perRepository"] = [
        {"name": o.name, "source": o.source, "revision": o.summary["revision"], **sections(o.summary, buckets),
         "warnings": o.warnings}
        for o in reported if o.summary is not None
    ]
    doc["failed"] = [{"name": o.name, "source": o.source, "error": o.error} for o in outcomes if o.summary is None]
    return doc
