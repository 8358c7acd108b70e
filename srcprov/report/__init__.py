"""The provenance report (`srcprov report`): age, churn, authors, coverage, origin and review of a revision."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from srcprov.errors import SrcprovError
from srcprov.progress import ProgressBar
from srcprov.report.attribution import Attribution, IgnoreRevs, attribute, list_tree, load_ignore_revs
from srcprov.report.cache import ReportCache
from srcprov.report.churn import compute_churn, numstat
from srcprov.report.facts import CommitFacts, EvidenceFor
from srcprov.report.history import list_commits
from srcprov.report.model import Buckets, Report, Window, parse_as_of, parse_buckets, parse_step, parse_windows
from srcprov.report.summary import build_report

if TYPE_CHECKING:
    from srcprov.git import Repo

__all__ = [
    "Attribution", "Buckets", "CommitFacts", "IgnoreRevs", "Report", "Window", "attribute", "build_report",
    "compute_churn", "list_commits", "list_tree", "load_ignore_revs", "numstat", "parse_as_of", "parse_buckets",
    "parse_step", "parse_windows", "render", "run_report", "RENDERERS",
]

# Format -> (module, function): a renderer is imported only when its format is asked for.
RENDERERS: dict[str, tuple[str, str]] = {
    "table": ("srcprov.report.render_text", "render_table"),
    "json": ("srcprov.report.render_text", "render_json"),
    "markdown": ("srcprov.report.render_text", "render_markdown"),
    "csv": ("srcprov.report.render_text", "render_csv"),
    "html": ("srcprov.report.render_html", "render_html"),
}

# What `doctor` and a slow report suggest; writing it is left to the user (it changes the repository).
COMMIT_GRAPH_HINT = (
    "attribution runs git blame, which is about twice as fast with a commit-graph that has changed-path "
    "Bloom filters: git commit-graph write --reachable --changed-paths "
    "(and git config fetch.writeCommitGraph true to keep it current)"
)


def render(report: Report, fmt: str) -> str:
    """The report in FMT (table, json, markdown, csv or html)."""
    import importlib

    try:
        module, name = RENDERERS[fmt]
    except KeyError:
        raise SrcprovError(f"bad --format: {fmt!r} (expected {', '.join(RENDERERS)})") from None
    renderer: Callable[[Report], str] = getattr(importlib.import_module(module), name)
    return renderer(report)


def check_output(output: str) -> None:
    """Fail before the work, not after it, when --output cannot be written."""
    parent = os.path.dirname(os.path.abspath(output))
    if os.path.isdir(output):
        raise SrcprovError(f"cannot write --output {output}: it is a directory")
    if not os.path.isdir(parent):
        raise SrcprovError(f"cannot write --output {output}: no such directory {parent}")
    if not os.access(parent, os.W_OK) or (os.path.exists(output) and not os.access(output, os.W_OK)):
        raise SrcprovError(f"cannot write --output {output}: permission denied")


def run_report(
    repo: Repo,
    *,
    rev: str = "HEAD",
    as_of: str | None = None,
    date_field: str = "author",
    buckets: str = "1d,14d,90d,365d,730d",
    windows: str = "14d,90d,365d",
    by: str = "dir",
    depth: int = 1,
    paths: list[str] | None = None,
    fmt: str = "table",
    output: str | None = None,
    facts_for: Callable[[list[str]], dict[str, CommitFacts]] | None = None,
    progress: bool = False,
    ignore_revs_file: str | None = None,
    history: bool = False,
    step: str | None = None,
    evidence_for: EvidenceFor | None = None,
    warnings: list[str] | None = None,
) -> None:
    """Compute the provenance report of REV and write it in FMT to OUTPUT (a file) or stdout.

    IGNORE_REVS_FILE: attribute as `git blame --ignore-revs-file`; HISTORY: add the cohorts over time,
    sampled every STEP (default 30d) along the first-parent history of REV.
    """
    if fmt not in RENDERERS:
        raise SrcprovError(f"bad --format: {fmt!r} (expected {', '.join(RENDERERS)})")
    parsed_buckets = parse_buckets(buckets)
    parsed_windows = parse_windows(windows)
    if step is not None and not history:
        raise SrcprovError("--step needs --history")
    history_step = parse_step(step or "30d") if history else None
    if output is not None:
        check_output(output)
    ignore = load_ignore_revs(repo, ignore_revs_file) if ignore_revs_file is not None else None
    commit_id = str(repo.resolve_commit(rev).id)
    reference = parse_as_of(repo, as_of)
    enabled = progress and fmt != "json"
    bar = ProgressBar("attributing", enabled=enabled)
    history_bar = ProgressBar("history", enabled=enabled and history, unit="blames")

    def history_progress(done: int, total: int) -> None:
        bar.close()  # the attribution of REV is done; the history's bar takes the line
        history_bar(done, total)

    try:
        report = build_report(
            repo, commit_id, as_of=reference, date_field=date_field, buckets=parsed_buckets,
            windows=parsed_windows, by=by, depth=depth, paths=paths, facts_for=facts_for,
            cache=ReportCache(repo), on_progress=bar, ignore=ignore, history_step=history_step,
            on_history_progress=history_progress, evidence_for=evidence_for, warnings=warnings,
        )
    finally:
        bar.close()
        history_bar.close()
    text = render(report, fmt)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with open(output, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    except OSError as e:
        raise SrcprovError(f"cannot write --output {output}: {e.strerror or e}") from None
