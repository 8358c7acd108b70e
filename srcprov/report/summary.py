"""Assemble the provenance report from attribution, history, churn and the commits' facts."""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from srcprov.errors import SrcprovError
from srcprov.git import Repo, path_str
from srcprov.model.status import CommitStatus
from srcprov.report.attribution import Attribution, IgnoreRevs, TreeListing, attribute, list_tree
from srcprov.report.cache import ReportCache
from srcprov.report.churn import ChurnCounts, compute_churn, numstat, window_commits
from srcprov.report.cohorts import build_history, lines_by_commit, sample_commits
from srcprov.report.facts import CommitFacts, EvidenceFor, FactsFor, facts_of
from srcprov.report.generated import generated_kind
from srcprov.report.history import CommitRow, list_commits
from srcprov.report.model import DATE_FIELDS, Buckets, Report, Window, iso_utc
from srcprov.report.origin import Origins, line_origins

HOTSPOTS = 10
DAY = 86400


def path_filter(globs: list[str] | None) -> Callable[[bytes], bool] | None:
    """A predicate for `--path GLOB`: a path matches a glob (`*` crosses `/`) or lies under a directory it names."""
    if not globs:
        return None
    pats = [g.strip() for g in globs if g.strip()]
    if not pats:
        raise SrcprovError("bad --path: empty pattern")

    def keep(raw: bytes) -> bool:
        p = path_str(raw)
        return any(fnmatch.fnmatchcase(p, g) or p.startswith(g.rstrip("/") + "/") for g in pats)

    return keep


def directory_of(path: str, depth: int) -> str:
    """The first DEPTH directories of PATH (`.` for a file at the top)."""
    parts = path.split("/")[:-1]
    return "/".join(parts[:depth]) or "."


def _share(n: int, total: int) -> float:
    return round(n / total, 4) if total else 0.0


def _iso_week(seconds: int) -> str:
    y, w, _ = datetime.fromtimestamp(seconds, UTC).isocalendar()
    return f"{y}-W{w:02d}"


def build_report(
    repo: Repo,
    commit_id: str,
    *,
    as_of: int,
    date_field: str,
    buckets: Buckets,
    windows: list[Window],
    by: str = "dir",
    depth: int = 1,
    paths: list[str] | None = None,
    facts_for: FactsFor | None = None,
    cache: ReportCache | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    ignore: IgnoreRevs | None = None,
    history_step: Window | None = None,
    jobs: int | None = None,
    on_history_progress: Callable[[int, int], None] | None = None,
    evidence_for: EvidenceFor | None = None,
    warnings: list[str] | None = None,
) -> Report:
    """The report of COMMIT_ID as of AS_OF (epoch seconds); see SPEC "The provenance report".

    IGNORE: attribute as `git blame --ignore-revs-file`; HISTORY_STEP: add the cohorts over time (`history`);
    JOBS caps the git blames run at once (default one per core; the fleet runs many reports side by side).
    EVIDENCE_FOR: the line-level evidence verified records bind (report.origin); what could not be used is
    said in WARNINGS.
    """
    if date_field not in DATE_FIELDS:
        raise SrcprovError(f"bad --date: {date_field!r} (expected author or committer)")
    if by not in ("dir", "file"):
        raise SrcprovError(f"bad --by: {by!r} (expected dir or file)")
    if not isinstance(depth, int) or depth < 1:
        raise SrcprovError(f"bad --depth: {depth!r} (expected a whole number of at least 1)")
    keep = path_filter(paths)
    if not repo.git("ls-tree", commit_id).stdout:
        raise SrcprovError(f"revision {commit_id[:12]} has no files")
    listing = list_tree(repo, commit_id, keep)
    if keep is not None and not any((listing.text, listing.binary, listing.symlinks, listing.submodules)):
        raise SrcprovError(f"no file at {commit_id[:12]} matches --path {' '.join(paths or [])}")

    commits = list_commits(repo, commit_id)
    history = None
    if history_step is not None:
        # The history first: its last sample is COMMIT_ID, whose files it blames from the sample before
        # (a short walk), and the attribution below then finds every one of them in the cache.
        samples = sample_commits(commits, history_step.seconds)
        counts = lines_by_commit(repo, commits, samples, keep=keep, paths=paths, cache=cache, ignore=ignore,
                                 on_progress=on_history_progress)
        history = build_history(samples, counts, {c.id: c for c in commits}, history_step)
    facts = facts_of([c.id for c in commits], facts_for)
    with_evidence = {c for c, f in facts.items() if f.evidence is not None}
    attribution = attribute(repo, commits, listing.text, cache, jobs=jobs, on_progress=on_progress, ignore=ignore,
                            keep_entries=(lambda runs: any(c in with_evidence for c, _ in runs)) if with_evidence else None)
    changes = numstat(repo, [c.id for c in window_commits(commits, windows, as_of)], cache)
    origins = line_origins(repo, attribution, listing.text, facts, evidence_for, cache, ignore, jobs)
    if warnings is not None:
        warnings += origins.warnings()
    report = _assemble(
        commit_id, commits, listing, attribution, origins, changes, facts,
        as_of=as_of, date_field=date_field, buckets=buckets, windows=windows, by=by, depth=depth, keep=keep,
    )
    if history is not None:
        report.doc["history"] = history
    return report


def _assemble(
    commit_id: str,
    commits: list[CommitRow],
    listing: TreeListing,
    attribution: Attribution,
    origins: Origins,
    changes: dict,
    facts: dict[str, CommitFacts],
    *,
    as_of: int,
    date_field: str,
    buckets: Buckets,
    windows: list[Window],
    by: str,
    depth: int,
    keep: Callable[[bytes], bool] | None,
) -> Report:
    names = buckets.names
    by_id = {c.id: c for c in commits}
    oldest = names[-1]

    def group_of(raw: bytes) -> str:
        return directory_of(path_str(raw), depth)

    churn_total, churn_file, churn_dir = compute_churn(commits, changes, windows, as_of, keep, group_of)
    zero_churn = {w.name: ChurnCounts() for w in windows}

    age_total = [0] * len(names)
    authors: Counter[str] = Counter()
    origin_total: Counter[str] = Counter()
    verified_lines = reviewed_lines = total_lines = 0
    files: list[dict[str, Any]] = []  # the report's JSON `files` entries
    mean_age: dict[str, float] = {}
    dirs: dict[str, dict] = {}
    for f in sorted(listing.text, key=lambda f: path_str(f.path)):
        path = path_str(f.path)
        age = [0] * len(names)
        origin = origins.per_file[f.path]
        age_sum = 0
        for cid, n in attribution.runs[f.path]:
            row = by_id[cid]
            fact = facts[cid]
            seconds = max(0, as_of - row.time(date_field))
            age[buckets.index(seconds)] += n
            age_sum += seconds * n
            authors[row.author] += n
            if fact.status == CommitStatus.VERIFIED:
                verified_lines += n
            if fact.reviewed:
                reviewed_lines += n
        total_lines += f.lines
        origin_total.update(origin)
        for i, n in enumerate(age):
            age_total[i] += n
        churn = churn_file.get(f.path, zero_churn)
        files.append(
            {
                "path": path,
                "lines": f.lines,
                "age": dict(zip(names, age, strict=True)),
                "churn": {w: c.as_json() for w, c in churn.items()},
                "origin": dict(sorted(origin.items(), key=lambda kv: (-kv[1], kv[0]))),
            }
        )
        mean_age[path] = round(age_sum / f.lines / DAY, 2) if f.lines else 0.0
        d = dirs.setdefault(
            directory_of(path, depth), {"files": 0, "lines": 0, "age": [0] * len(names), "origin": Counter()}
        )
        d["files"] += 1
        d["lines"] += f.lines
        d["origin"].update(origin)
        for i, n in enumerate(age):
            d["age"][i] += n

    directories = [
        {
            "path": name,
            "files": d["files"],
            "lines": d["lines"],
            "age": dict(zip(names, d["age"], strict=True)),
            "churn": {
                w: {**c.as_json(), "ratio": c.ratio(d["lines"])}
                for w, c in churn_dir.get(name, zero_churn).items()
            },
            "origin": dict(sorted(d["origin"].items(), key=lambda kv: (-kv[1], kv[0]))),
        }
        for name, d in sorted(dirs.items())
    ]

    widest = windows[-1].name
    hotspots = []
    for entry in files:
        c = entry["churn"][widest]
        score = c["commits"] * entry["lines"]
        if score:
            hotspots.append(
                {"path": entry["path"], "lines": entry["lines"], "window": widest, **c,
                 "ratio": ChurnCounts(**c).ratio(entry["lines"]), "score": score,
                 "generated": generated_kind(entry["path"])}
            )
    hotspots.sort(key=lambda h: (-h["score"], h["path"]))
    # The top files by score; among them, generated and vendored ones (flagged) after the code people write.
    hotspots = sorted(hotspots[:HOTSPOTS], key=lambda h: h["generated"] is not None)
    legacy = [
        {"path": f["path"], "lines": f["lines"], "oldLines": f["age"][oldest], "share": _share(f["age"][oldest], f["lines"])}
        for f in files
        if f["lines"] and f["age"][oldest] * 2 > f["lines"]
    ]
    legacy.sort(key=lambda x: (-x["oldLines"], x["path"]))

    statuses = Counter(facts[c.id].status for c in commits)
    weeks: dict[str, list[int]] = {}
    for c in commits:
        slot = weeks.setdefault(_iso_week(c.time(date_field)), [0, 0])
        slot[0] += 1
        slot[1] += facts[c.id].status == CommitStatus.VERIFIED

    doc = {
        "revision": commit_id,
        "asOf": iso_utc(as_of),
        "dateField": date_field,
        "buckets": names,
        "windows": [w.name for w in windows],
        "totals": {
            "files": len(files),
            "lines": total_lines,
            "commits": len(commits),
            "binaryFiles": sorted(path_str(f.path) for f in listing.binary),
            "symlinks": sorted(path_str(f.path) for f in listing.symlinks),
            "submodules": sorted(
                ({"path": path_str(f.path), "commit": f.blob} for f in listing.submodules), key=lambda s: s["path"]
            ),
        },
        "age": [{"bucket": b, "lines": n, "share": _share(n, total_lines)} for b, n in zip(names, age_total, strict=True)],
        "churn": {w: {**c.as_json(), "ratio": c.ratio(total_lines)} for w, c in churn_total.items()},
        "authors": [
            {"author": a, "lines": n, "share": _share(n, total_lines)}
            for a, n in sorted(authors.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "coverage": {
            "commits": dict(sorted(statuses.items(), key=lambda kv: (-kv[1], kv[0]))),
            "verifiedCommitShare": _share(statuses.get(CommitStatus.VERIFIED, 0), len(commits)),
            "verifiedLines": verified_lines,
            "verifiedLineShare": _share(verified_lines, total_lines),
            "weekly": [
                {"week": w, "commits": n, "verified": v, "share": _share(v, n)} for w, (n, v) in sorted(weeks.items())
            ],
        },
        "origin": [
            {"origin": o, "lines": n, "share": _share(n, total_lines)}
            for o, n in sorted(origin_total.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "review": {
            "reviewedLines": reviewed_lines,
            "share": _share(reviewed_lines, total_lines),
            "reviewedCommits": sum(1 for c in commits if facts[c.id].reviewed),
        },
        "files": files,
        "directories": directories,
        "hotspots": hotspots,
        "legacy": legacy,
        # Beyond the SPEC's keys: whose line-level evidence gave their lines' origin, and why any was not used.
        "originEvidence": origins.as_json(),
    }
    return Report(doc=doc, by=by, mean_age_days=mean_age)
