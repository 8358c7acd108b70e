"""`fleet report`: the provenance report over many repositories, one Dask job per repository.

The job (`repository_outcome`) runs on a worker: it opens or clones the repository, verifies its commits
against the repository's own policy (with its verdict cache) and builds its report (with its attribution
cache), and sends back only the summary. The client merges the summaries into the fleet report.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from srcprov.errors import PolicyNotFound, SrcprovError

if TYPE_CHECKING:
    from srcprov.fleet.sources import Entry
    from srcprov.fleet.summary import Outcome
    from srcprov.git import Repo
    from srcprov.trust.policy import Policy

NO_POLICY = "coverage counts every commit as missing"


@dataclass(frozen=True)
class FleetOptions:
    """The report options every repository of a fleet is reported with (one AS-OF for all, so ages add up)."""

    rev: str
    as_of: int
    date_field: str
    buckets: str
    windows: str
    policy_rev: str | None = None
    # git blames one report runs at once: the fleet's parallelism is its workers (one per core), so a report
    # takes two, not one per core (on a 32-core machine that would be 32 workers x 32 blames).
    blame_jobs: int = 2


def fleet_policy(repo: Repo, commit_id: str, policy_rev: str | None, warnings: list[str]) -> Policy | None:
    """The policy coverage is judged by: `--policy-rev` in every repository when given (an error if a repository
    lacks it); else the repository's work-tree `.srcprov/`, or for a bare repository or clone the `.srcprov/`
    committed at the reported revision (what a checkout would hold). None, with a warning, when there is none."""
    from srcprov.trust.policy import load_policy, load_policy_rev

    if policy_rev:
        return load_policy(repo, None, policy_rev)
    try:
        return load_policy(repo) if repo.workdir is not None else load_policy_rev(repo, commit_id)
    except PolicyNotFound as e:
        warnings.append(f"{e}; {NO_POLICY}")
    except SrcprovError as e:
        warnings.append(f"policy: {e}; {NO_POLICY}")
    return None


def repository_outcome(entry: Entry, options: FleetOptions) -> Outcome:
    """One repository's report as a summary (runs on a Dask worker); an error of the repository is its outcome."""
    from srcprov.commands.report import report_evidence, report_facts
    from srcprov.fleet.clones import open_entry, scrubbed
    from srcprov.fleet.summary import Outcome, summarise
    from srcprov.report import ReportCache, build_report, parse_buckets, parse_windows

    t0 = time.monotonic()
    warnings: list[str] = []
    try:
        repo = open_entry(entry)
        commit_id = str(repo.resolve_commit(options.rev).id)
        policy = fleet_policy(repo, commit_id, options.policy_rev, warnings)
        report = build_report(
            repo, commit_id, as_of=options.as_of, date_field=options.date_field,
            buckets=parse_buckets(options.buckets), windows=parse_windows(options.windows),
            facts_for=report_facts(repo, policy) if policy is not None else None, cache=ReportCache(repo),
            jobs=options.blame_jobs, evidence_for=report_evidence(repo), warnings=warnings,
        )
    except SrcprovError as e:
        error = scrubbed(str(e), entry.location) if entry.is_url else str(e)
        return Outcome(entry.name, entry.source, error=error, seconds=time.monotonic() - t0)
    return Outcome(entry.name, entry.source, summary=summarise(report.doc), warnings=warnings,
                   seconds=time.monotonic() - t0)


@dataclass
class FleetResult:
    """The fleet report (its JSON document and the text in the chosen format) and what failed."""

    doc: dict[str, Any]
    text: str
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """A report with failed repositories is still a report (they are listed in it); with none reported it is not."""
        return self.doc["repositories"]["reported"] > 0

    def to_json(self) -> Any:
        return self.doc

    def lines(self) -> Iterator[str]:
        yield from self.text.splitlines()


def fleet_report(
    repos: str,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    rev: str = "HEAD",
    as_of: str | None = None,
    date_field: str = "author",
    buckets: str = "1d,14d,90d,365d,730d",
    windows: str = "14d,90d,365d",
    policy_rev: str | None = None,
    fmt: str = "table",
    output: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> FleetResult:
    """Report every repository of REPOS (a list file or a directory) on Dask and merge them into one report."""
    from srcprov.fleet.cluster import run_on_dask
    from srcprov.fleet.render import FORMATS, render
    from srcprov.fleet.sources import read_entries
    from srcprov.fleet.summary import Totals, compact, fleet_doc
    from srcprov.report import parse_buckets, parse_windows
    from srcprov.report.model import DATE_FIELDS, iso_utc

    # Bad options fail here, once, before any worker starts.
    if fmt not in FORMATS:
        raise SrcprovError(f"bad --format: {fmt!r} (expected {', '.join(FORMATS)})")
    if date_field not in DATE_FIELDS:
        raise SrcprovError(f"bad --date: {date_field!r} (expected author or committer)")
    if workers is not None and workers < 1:
        raise SrcprovError(f"bad --workers: {workers} (expected at least 1)")
    names = parse_buckets(buckets).names
    window_names = [w.name for w in parse_windows(windows)]
    reference = fleet_as_of(as_of)
    if output is not None:
        from srcprov.report import check_output

        check_output(output)  # before the work, not after it
    entries = read_entries(repos)
    options = FleetOptions(rev, reference, date_field, buckets, windows, policy_rev)
    totals = Totals(names, window_names)

    def fold(o: Outcome) -> Outcome:
        # The client keeps the running totals and a compact row per repository, never every full summary.
        if o.summary is None:
            return o
        totals.add(o.summary)
        return dataclasses.replace(o, summary=compact(o.summary))

    outcomes = run_on_dask(entries, repository_outcome, options, scheduler=scheduler, workers=workers,
                           on_progress=on_progress, on_outcome=fold)
    doc = fleet_doc(outcomes, totals.summary(), as_of=iso_utc(reference), date_field=date_field, buckets=names, windows=window_names,
                    revision=rev)
    warnings = [f"{o.name}: could not be reported: {o.error}" for o in outcomes if not o.ok]
    return FleetResult(doc, render(doc, fmt), warnings)


def fleet_as_of(text: str | None) -> int:
    """One reference time for the whole fleet: now, or an ISO date (a revision would differ per repository)."""
    from datetime import UTC, datetime

    if text is None:
        return int(datetime.now(UTC).timestamp())
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SrcprovError(f"bad --as-of: {text!r} is not an ISO date (e.g. 2024-05-01); in a fleet a revision "
                           "would mean a different time in each repository") from None
    return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())
