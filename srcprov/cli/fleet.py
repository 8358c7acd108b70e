"""Command declarations for `fleet`: the provenance report over many repositories, on Dask."""

from __future__ import annotations

import sys

import typer

from srcprov.cli.app import app, progress_bar, warn
from srcprov.errors import SrcprovError

fleet_app = typer.Typer(help="Reports over many repositories at once, on Dask (srcprov's fleet extra).",
                        no_args_is_help=True)
app.add_typer(fleet_app, name="fleet")


@fleet_app.command("report")
def report(
    repos: str = typer.Option(..., "--repos", help="A file listing repositories (a path or clone URL a line, # comments), "
                                                    "or a directory: every repository below it."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="An existing Dask cluster (tcp://HOST:PORT); "
                                                                   "default: a local cluster, one worker per core."),
    workers: int | None = typer.Option(None, "--workers", help="Worker processes of the local cluster (default: one per core)."),
    rev: str = typer.Option("HEAD", "--rev", help="The revision to report on in each repository."),
    as_of: str | None = typer.Option(None, "--as-of", help="Reference time for every repository: an ISO date (default now)."),
    date: str = typer.Option("author", "--date", help="author or committer time decides a line's age."),
    buckets: str = typer.Option("1d,14d,90d,365d,730d", "--buckets", help="Age bucket edges."),
    windows: str = typer.Option("14d,90d,365d", "--windows", help="Churn windows back from AS-OF."),
    policy_rev: str | None = typer.Option(None, "--policy-rev", help="Judge coverage in every repository by the .srcprov/ "
                                                                     "committed at REV (default: each one's own policy)."),
    fmt: str = typer.Option("table", "--format", help="table, json, markdown, csv or html."),
    output: str | None = typer.Option(None, "--output", help="Write to FILE instead of stdout."),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
) -> None:
    """The provenance report of every repository listed, per repository and in total; a repository that fails
    is listed with its error and the rest is still reported (exit 0; exit 2 when none could be reported)."""
    from srcprov.commands.fleet import fleet_report

    fmt = "json" if as_json else fmt
    bar = progress_bar("reporting", enabled=fmt != "json" and sys.stderr.isatty(), unit="repositories")
    try:
        res = fleet_report(repos, scheduler=scheduler, workers=workers, rev=rev, as_of=as_of, date_field=date,
                           buckets=buckets, windows=windows, policy_rev=policy_rev, fmt=fmt, output=output,
                           on_progress=bar)
    finally:
        bar.close()
    warn(res.warnings)
    if output is None:
        sys.stdout.write(res.text)
        sys.stdout.flush()
    else:
        try:
            with open(output, "w", encoding="utf-8", newline="") as f:
                f.write(res.text)
        except OSError as e:
            raise SrcprovError(f"cannot write --output {output}: {e.strerror or e}") from None
    if not res.ok:
        raise SrcprovError(f"none of the {res.doc['repositories']['listed']} repositories could be reported")
