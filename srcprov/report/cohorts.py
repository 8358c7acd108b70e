"""Code age over time (`report --history`): the lines alive at samples along the first-parent history, by
the year their blamed commit was authored, with each cohort's survival and the code's half-life.

Every sample is attributed exactly as `git blame SAMPLE -- FILE` would (the same attribution as the
report's). The work is shared: a file's blame is keyed by the commit where its content last changed, so a
sample reuses the attribution of every file that did not change since an earlier sample, and all the
blames that remain run in one pool. Each sample's count is cached, so a warm run redoes nothing.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from srcprov.git import Repo
from srcprov.report.attribution import (
    BINARY_PROBE,
    BlobKinds,
    ChangedPaths,
    IgnoreRevs,
    TreeEntries,
    TreeFile,
    blame_pool,
    changed_paths_of,
    count_lines,
    list_tree,
    start_points,
    unquote_c,
)
from srcprov.report.cache import ReportCache, Runs
from srcprov.report.commit_graph import blame_env
from srcprov.report.derive import DIFF_ARGS, Hunk, Step, derive, parse_hunks, plan_steps
from srcprov.report.history import CommitRow
from srcprov.report.model import Window, iso_utc

DAY = 86400


def sample_commits(commits: list[CommitRow], step: int) -> list[CommitRow]:
    """Samples along the first-parent history of commits[0], oldest first: commits[0] itself, then each
    first-parent ancestor committed at least STEP seconds before the last sample taken (as git-of-theseus
    samples)."""
    if not commits:
        return []
    by_id = {c.id: c for c in commits}
    taken: list[CommitRow] = []
    row: CommitRow | None = commits[0]
    last: int | None = None
    while row is not None:
        if last is None or row.committer_time <= last - step:
            taken.append(row)
            last = row.committer_time
        row = by_id.get(row.parents[0]) if row.parents else None
    return taken[::-1]


def sample_variant(ignore: IgnoreRevs | None, paths: list[str] | None) -> str:
    """What besides the revision decides a sample's count: the ignore list and the --path globs."""
    return json.dumps({"ignore": ignore.key if ignore else "", "paths": sorted(paths or [])})


def lines_by_commit(
    repo: Repo,
    commits: list[CommitRow],
    samples: list[CommitRow],
    *,
    keep: Callable[[bytes], bool] | None = None,
    paths: list[str] | None = None,
    cache: ReportCache | None = None,
    ignore: IgnoreRevs | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, int]]:
    """For each sample, the lines of its text files (those KEEP accepts) by the commit blame names.

    COMMITS is every commit reachable from the newest sample, children first (`list_commits`).
    """
    index = {c.id: i for i, c in enumerate(commits)}
    variant = sample_variant(ignore, paths)
    attr_variant = ignore.key if ignore is not None else ""
    changed = changed_paths_of(repo, commits[0].id)
    kinds: BlobKinds = {}
    found: list[dict[str, int] | None] = []
    plans: dict[int, list[tuple[str, bytes]]] = {}
    runs: dict[tuple[str, bytes], Runs] = {}
    todo: dict[tuple[str, bytes], TreeFile] = {}
    bases: dict[tuple[str, bytes], str] = {}
    last_key: dict[bytes, tuple[str, bytes]] = {}  # each path's (start, path) at the last sample listed
    # Oldest first: a sample's walk to its files' start points stops at the previous sample's stored map.
    for i, s in enumerate(samples):
        stored = cache.get_sample(s.id, variant) if cache else None
        found.append(stored)
        if stored is not None:
            continue
        listing = list_tree(repo, s.id, keep, kinds)
        starts = start_points(repo, commits[index[s.id]:], listing.text, cache, changed)
        plan = []
        for f in listing.text:
            key = (starts[f.path], f.path)
            plan.append(key)
            before = last_key.get(f.path)
            last_key[f.path] = key
            if key in runs or key in todo:
                continue
            got = cache.get_attribution(key[0], f.path, f.blob, f.lines, attr_variant) if cache else None
            if got is None:
                todo[key] = f
                if before is not None and before[0] != key[0]:
                    bases[key] = before[0]  # blame only back to where the last sample's blame of it started
            else:
                runs[key] = got
        plans[i] = plan
    runs.update(_attribute_all(repo, commits, index, todo, bases, runs, kinds, changed, cache, ignore, on_progress))
    out: list[dict[str, int]] = []
    for i, s in enumerate(samples):
        alive = found[i]
        if alive is None:
            count: Counter[str] = Counter()
            for key in plans[i]:
                for cid, n in runs[key]:
                    count[cid] += n
            alive = dict(count)
            if cache:
                cache.put_sample(s.id, variant, alive)
                cache.stats.samples_computed += 1
        out.append(alive)
    return out


def _attribute_all(
    repo: Repo,
    commits: list[CommitRow],
    index: dict[str, int],
    todo: dict[tuple[str, bytes], TreeFile],
    bases: dict[tuple[str, bytes], str],
    known: dict[tuple[str, bytes], Runs],
    kinds: BlobKinds,
    changed: ChangedPaths,
    cache: ReportCache | None,
    ignore: IgnoreRevs | None,
    on_progress: Callable[[int, int], None] | None,
) -> dict[tuple[str, bytes], Runs]:
    """The blames of TODO: derived in process along single-parent steps where that is what git blame
    does (report.derive), the rest by git blame (ranged back to BASES where it can be)."""
    steps: dict[tuple[str, bytes], Step] = {}
    hunks: dict[tuple[str, bytes], list[Hunk]] = {}
    # Derivation walks pygit2's parents and follows git's diff: not where git's parents differ (replace
    # refs, grafts) nor with ignored revisions (blame then passes lines by a guess, not by the diff).
    if cache is not None and cache.usable_start_points and ignore is None and todo:
        entries = TreeEntries(repo)
        memo: dict[tuple[str, bytes], str | None] = {}

        def start_of(rev: str, path: bytes, blob: str, mode: int) -> str | None:
            i = index.get(rev)
            if i is None:
                return None
            if (rev, path) not in memo:
                got = start_points(repo, commits[i:], [TreeFile(path, mode, blob)], cache, changed, store=False,
                                   trees=entries.trees)
                memo[(rev, path)] = got.get(path)
            return memo[(rev, path)]

        def line_count(blob: str) -> int | None:
            if blob not in kinds:
                data = repo.blob_data(blob)
                kinds[blob] = None if b"\0" in data[:BINARY_PROBE] else count_lines(data)
            return kinds[blob]

        steps = plan_steps({c.id: c for c in commits}, {k: f.lines for k, f in todo.items()},
                           lambda k: k in known or k in todo, start_of, entries.file_at, line_count)
        need = sorted({s.commit for s in steps.values() if not s.same_blob})
        if need:
            out = repo.git(*DIFF_ARGS, input=("\n".join(need) + "\n").encode()).stdout
            hunks = parse_hunks(out, unquote_c)
    resolved: dict[tuple[str, bytes], Runs] = dict(known)
    derived: dict[tuple[str, bytes], Runs] = {}
    failed: set[tuple[str, bytes]] = set()
    waiting = [k for k in todo if k not in steps]  # git blames these, in sample order
    done, total = 0, len(todo)

    def finished(_start: str, _f: TreeFile, _got: Runs) -> None:
        nonlocal done
        done += 1
        if on_progress:
            on_progress(done, total)

    env = blame_env(repo, cache, commits[0].id, len(commits), len(waiting))
    # Rounds: derive what can be derived, then blame the keys whose base is known (a ranged blame whose
    # boundary is not known yet would fall back to a whole one), until nothing moves.
    while True:
        more, bad = derive({k: s for k, s in steps.items() if k not in resolved and k not in failed}, hunks, resolved)
        failed |= bad
        resolved.update(more)
        derived.update(more)
        done += sum(1 for k in more if k in todo)
        if on_progress and total:
            on_progress(done, total)
        ready = [k for k in waiting if k not in bases or (bases[k], k[1]) in resolved]
        if not ready and not more:
            ready = waiting  # nothing else will resolve their bases: blame them, falling back where needed
        if not ready:
            if not more:
                break
            continue
        chosen = set(ready)
        waiting = [k for k in waiting if k not in chosen]
        resolved.update(blame_pool(repo, [(k[0], todo[k]) for k in ready], cache, ignore, on_done=finished,
                                   bases=bases, known=resolved, env=env))
    # Whatever could not be derived (a diff that did not fit, a chain through such a step): git blames it.
    left = [k for k in todo if k not in resolved]
    resolved.update(blame_pool(repo, [(k[0], todo[k]) for k in left], cache, ignore, on_done=finished, env=env))
    if cache:
        cache.stats.derived += len(derived)
        with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
            list(pool.map(lambda kv: cache.put_attribution(kv[0][0], kv[0][1], steps[kv[0]].blob,
                                                           steps[kv[0]].nlines, kv[1]), derived.items()))
    return resolved


def year_of(seconds: int) -> str:
    """The UTC year of an epoch time, as a cohort name."""
    return str(datetime.fromtimestamp(seconds, UTC).year)


@dataclass(frozen=True)
class SurvivalPoint:
    """The share of lines still alive DAYS after their commit was first seen at a sample."""

    days: float
    share: float


def survival_curve(samples: list[CommitRow], counts: list[dict[str, int]], step: int) -> list[SurvivalPoint]:
    """Line-weighted survival, every STEP: of the lines each commit had at the first sample where it
    appears, the share alive that long after, over the commits observed for at least that long (as
    git-of-theseus's survival plot counts them, sampled at the same points)."""
    if not samples:
        return []
    dates = [s.committer_time for s in samples]
    first: dict[str, int] = {}
    for i, c in enumerate(counts):
        for cid in c:
            first.setdefault(cid, i)
    steps = (dates[-1] - dates[0]) // step + 1 if dates[-1] >= dates[0] else 1
    alive = [0] * steps
    born = [0] * steps
    for cid, i in first.items():
        n0 = counts[i][cid]
        j = i
        for k in range(steps):
            delta = k * step
            if dates[-1] - dates[i] < delta:
                break  # not observed this long: censored from here on
            while j + 1 < len(dates) and dates[j + 1] - dates[i] <= delta:
                j += 1
            born[k] += n0
            alive[k] += counts[j].get(cid, 0)
    return [SurvivalPoint(round(k * step / DAY, 2), round(alive[k] / born[k], 4)) for k in range(steps) if born[k]]


def half_life_days(curve: list[SurvivalPoint]) -> float | None:
    """Where the survival curve first falls to one half, interpolated between its points; None if it never does."""
    for a, b in zip(curve, curve[1:], strict=False):
        if b.share <= 0.5 < a.share:
            return round(a.days + (b.days - a.days) * (a.share - 0.5) / (a.share - b.share), 1)
    return None


def build_history(
    samples: list[CommitRow], counts: list[dict[str, int]], by_id: dict[str, CommitRow], step: Window
) -> dict[str, Any]:
    """The report's `history`: samples with their cohorts, the survival curve, each cohort's survival
    and the half-life."""
    per_sample: list[Counter[str]] = []
    years: set[str] = set()
    for c in counts:
        cohorts: Counter[str] = Counter()
        for cid, n in c.items():
            cohorts[year_of(by_id[cid].author_time)] += n
        years.update(cohorts)
        per_sample.append(cohorts)
    order = sorted(years)
    cohort_survival = {}
    for y in order:
        peak_i = max(range(len(per_sample)), key=lambda i: (per_sample[i][y], -i))
        peak = per_sample[peak_i][y]
        now = per_sample[-1][y]
        cohort_survival[y] = {"peakLines": peak, "peakDate": iso_utc(samples[peak_i].committer_time),
                              "lines": now, "share": round(now / peak, 4) if peak else 0.0}
    curve = survival_curve(samples, counts, step.seconds)
    return {
        "step": step.name,
        "samples": [
            {"revision": s.id, "date": iso_utc(s.committer_time), "cohorts": {y: cohorts[y] for y in order}}
            for s, cohorts in zip(samples, per_sample, strict=True)
        ],
        "halfLifeDays": half_life_days(curve),
        "survival": [{"days": p.days, "share": p.share} for p in curve],
        "cohortSurvival": cohort_survival,
    }
