"""Command declarations for developers and maintainers: parse, call one function of srcprov.commands, render."""

from __future__ import annotations

import sys

import typer

from srcprov.cli.app import JsonOpt, PolicyDirOpt, PolicyRevOpt, app, open_repo, policy_app, progress_bar, render, warn
from srcprov.errors import SrcprovError


@app.command()
def install(
    hooks: str | None = typer.Option(None, "--hooks", help="Comma-separated hooks (default: all five)."),
    force: bool = typer.Option(False, "--force", help="Install even beside a hook manager, or over a leftover chained hook."),
) -> None:
    """Install the hook shims into the effective hooks directory (core.hooksPath honoured)."""
    from srcprov.commands.setup import install as run

    render(run(open_repo(), hooks, force), False)


@app.command()
def uninstall() -> None:
    """Remove srcprov's shims and config; restore chained hooks byte for byte."""
    from srcprov.commands.setup import uninstall as run

    render(run(open_repo()), False)


@app.command(hidden=True, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def hook(ctx: typer.Context, name: str = typer.Argument(..., help="Hook name.")) -> None:
    """What the shims call; not for people."""
    from srcprov.hooks.dispatch import run_hook

    raise typer.Exit(run_hook(name, ctx.args))


@app.command()
def record(
    revs: list[str] | None = typer.Argument(None, help="Commits or ranges (default HEAD)."),
    backfill: bool = typer.Option(False, "--backfill", help="Mark records made after the fact; with a range, fill every commit that has none."),
    claim: list[str] | None = typer.Option(None, "--claim", help="KEY=VALUE added to claims (e.g. origin=vendored)."),
    force: bool = typer.Option(False, "--force", help="Add a commit-provenance record beside an existing one (notes are append-only)."),
    pending_: bool = typer.Option(False, "--pending", help="Write the records whose hook could not."),
    wait: bool = typer.Option(False, "--wait", help="With --pending: wait for a running worker first."),
    all_: bool = typer.Option(False, "--all", help="Every commit reachable from any ref (with --backfill)."),
    trace: str | None = typer.Option(None, "--trace", help="An Agent Trace record (v0.1): which lines of the commit an AI wrote."),
    as_json: JsonOpt = False,
) -> None:
    """Write a signed commit-provenance record for each commit."""
    from srcprov.commands import record as commands

    repo = open_repo()
    if wait and not pending_:
        raise SrcprovError("--wait goes with --pending")
    if pending_:
        if revs or backfill or claim or force or all_ or trace:
            raise SrcprovError("--pending takes no revisions, --all, --backfill, --claim, --trace or --force")
        res = commands.record_pending(repo, wait)
    else:
        args = list(revs or ([] if all_ else ["HEAD"])) + (["--all"] if all_ else [])
        bar = progress_bar("record", enabled=not as_json, unit="commits")
        try:
            res = commands.record(repo, args, backfill=backfill, claims=tuple(claim or ()), force=force, trace=trace,
                                  progress=bar)
        finally:
            bar.close()
    render(res, as_json)
    if res.failed:
        what = f"{len(res.failed)} record(s) still queued" if pending_ else f"could not record {res.failed[0][0][:12]}"
        raise SrcprovError(f"{what}: {res.failed[0][1]}")


@app.command()
def review(
    revs: list[str] = typer.Argument(..., help="Commits to review."),
    verdict: str = typer.Option("approved", "--verdict", help="approved or rejected."),
    comment: str = typer.Option("", "--comment", help="A comment kept in the record."),
    as_json: JsonOpt = False,
) -> None:
    """Append a signed review record to each commit's note."""
    from srcprov.commands.record import review as run

    render(run(open_repo(), revs, verdict, comment), as_json)


@app.command()
def show(
    rev: str = typer.Argument("HEAD", help="The commit."),
    policy_dir: PolicyDirOpt = None,
    policy_rev: PolicyRevOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decode a commit's records and show each with its verification status."""
    from srcprov.commands.verify import show as run

    render(run(open_repo(), rev, policy_dir, policy_rev), as_json)


@app.command()
def verify(
    revs: list[str] | None = typer.Argument(None, help="Commits or ranges (default HEAD; A..B and --all as in git log)."),
    policy_dir: PolicyDirOpt = None,
    policy_rev: PolicyRevOpt = None,
    strict: bool = typer.Option(False, "--strict", help="Also fail when any record of any commit is bad or was ever removed "
                                "from a note (walks the notes ref's history; `removed` in --json)."),
    all_: bool = typer.Option(False, "--all", help="Every commit reachable from any ref but refs/stash."),
    vsa: str | None = typer.Option(None, "--vsa", help="Also write a signed SLSA Source VSA for the newest commit to FILE."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List every commit, not only those that need attention."),
    as_json: JsonOpt = False,
) -> None:
    """Verify the records of each commit in the range against the policy."""
    from srcprov.commands.verify import verify as run

    args = list(revs or []) + (["--all"] if all_ else [])
    bar = progress_bar("verify", enabled=not as_json, unit="records")
    try:
        res = run(open_repo(), args, policy_dir=policy_dir, policy_rev=policy_rev, strict=strict, vsa=vsa,
                  verbose=verbose, progress=bar)
    finally:
        bar.close()
    render(res, as_json)


@policy_app.command("init")
def policy_init(force: bool = typer.Option(False, "--force", help="Overwrite an existing policy.toml.")) -> None:
    """Create .srcprov/policy.toml."""
    from srcprov.commands.policy import init_policy

    print(init_policy(open_repo(), force))


@policy_app.command("add-signer")
def policy_add_signer(
    key: str = typer.Argument(..., help="A key id, fingerprint or email gpg knows."),
    email: list[str] | None = typer.Option(None, "--email", help="Allowed committer email (repeatable)."),
    role: list[str] | None = typer.Option(None, "--role", help="author, maintainer, reviewer, builder or source (repeatable; default author)."),
) -> None:
    """Export a public key to .srcprov/keys/<FPR>.asc and list it as a signer."""
    from srcprov.commands.policy import add_signer

    print(add_signer(open_repo(), key, list(email or []), list(role or ["author"])))


@policy_app.command("retire-signer")
def policy_retire_signer(
    key: str = typer.Argument(..., help="The signer's key id (fingerprint)."),
    at: str | None = typer.Option(None, "--at", help="When it stopped being trusted (RFC 3339; default now)."),
) -> None:
    """Set a signer's `until`: what it signed before stays verified, nothing after."""
    from srcprov.commands.policy import retire_signer

    print(retire_signer(open_repo(), key, at))


@policy_app.command("show")
def policy_show(policy_dir: PolicyDirOpt = None, policy_rev: PolicyRevOpt = None, as_json: JsonOpt = False) -> None:
    """Show the policy."""
    from srcprov.commands.policy import show_policy

    render(show_policy(open_repo(), policy_dir, policy_rev), as_json)


@app.command()
def report(
    rev: str = typer.Option("HEAD", "--rev", help="The revision to report on."),
    as_of: str | None = typer.Option(None, "--as-of", help="Reference time: an ISO date, or a revision (its committer time)."),
    date: str = typer.Option("author", "--date", help="author or committer time decides a line's age."),
    buckets: str = typer.Option("1d,14d,90d,365d,730d", "--buckets", help="Age bucket edges."),
    windows: str = typer.Option("14d,90d,365d", "--windows", help="Churn windows back from AS-OF."),
    by: str = typer.Option("dir", "--by", help="Group rows by dir or file."),
    depth: int = typer.Option(1, "--depth", help="Directory depth for --by dir."),
    path: list[str] | None = typer.Option(None, "--path", help="Only paths matching this glob (repeatable)."),
    fmt: str = typer.Option("table", "--format", help="table, json, markdown, csv or html."),
    output: str | None = typer.Option(None, "--output", help="Write to FILE instead of stdout."),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    policy_dir: str | None = typer.Option(None, "--policy", help="A .srcprov directory (for coverage)."),
    policy_rev: str | None = typer.Option(None, "--policy-rev", help="Use the .srcprov/ committed at REV (for coverage)."),
) -> None:
    """The provenance report: age, churn, authors, coverage, origin, review, hotspots and legacy."""
    from srcprov.commands.report import report as run

    fmt = "json" if as_json else fmt
    warnings: list[str] = []
    try:
        run(open_repo(), rev=rev, policy_dir=policy_dir, policy_rev=policy_rev, warnings=warnings, as_of=as_of,
            date_field=date, buckets=buckets, windows=windows, by=by, depth=depth, paths=list(path or []), fmt=fmt,
            output=output, progress=fmt != "json" and sys.stderr.isatty())
    finally:
        warn(warnings)


@app.command()
def doctor(as_json: JsonOpt = False) -> None:
    """Say what is wrong with this setup and how to mend each thing."""
    from srcprov.commands.doctor import doctor as run

    render(run(open_repo()), as_json)


@app.command()
def demo(directory: str | None = typer.Option(None, "--dir", help="Where to build the demo (default: a new temporary directory).")) -> None:
    """Build a repository from the sample project and run the whole flow, printing each step."""
    from srcprov.commands.demo import run_demo

    run_demo(directory)
