"""The command line: arguments in, one call per command, errors out as one line and an exit code."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import typer

from srcprov import __version__
from srcprov.errors import PolicyNotFound, SrcprovError


def docs_location() -> str:
    """Where the user's reference (docs/index.md) is in this installation."""
    from srcprov.resources import data_dir

    try:
        return str(data_dir("docs", "index.md") / "index.md")
    except SrcprovError:
        return "docs/index.md in srcprov's source"


app = typer.Typer(add_completion=False, no_args_is_help=True, help="Signed provenance for every commit.",
                  epilog=f"Reference (record format, policy, statuses, exit codes, attestations, CI recipes): {docs_location()}",
                  context_settings={"help_option_names": ["-h", "--help"]})
policy_app = typer.Typer(help="Create and inspect .srcprov/policy.toml.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

_state: dict[str, Any] = {"repo": None}


def _version(value: bool) -> None:
    if value:
        print(f"srcprov {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    repo: str | None = typer.Option(None, "--repo", help="Repository path (default: the one containing the working directory)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    _state["repo"] = repo


def open_repo():  # type: ignore[no-untyped-def]
    """The repository named by --repo, or the one containing the working directory."""
    from srcprov.git import Repo

    return Repo(_state["repo"])


def emit_json(obj: Any) -> None:
    """Machine output: JSON on stdout and nothing else."""
    # Indented for a person at a terminal; compact for a program (json's C encoder runs only without indent).
    indent = 2 if sys.stdout.isatty() else None
    sys.stdout.write(json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def _commits_for(repo: Any, revs: list[str]) -> list[str]:
    """A plain REV names that commit; ranges (A..B, ^A B, --all) list commits as git log does."""
    revs = revs or ["HEAD"]
    if any(".." in r or r.startswith("^") or r.startswith("--") for r in revs):
        return repo.rev_list(revs)
    return list(dict.fromkeys(str(repo.resolve_commit(r).id) for r in revs))


def _flush(repo: Any) -> None:
    from srcprov.recording.writer import flush_quietly

    flush_quietly(repo)


# --- install ----------------------------------------------------------------------------------
@app.command()
def install(
    hooks: str | None = typer.Option(None, "--hooks", help="Comma-separated hooks (default: all five)."),
    force: bool = typer.Option(False, "--force", help="Install even beside a hook manager, or over a leftover chained hook."),
) -> None:
    """Install the hook shims into the effective hooks directory (core.hooksPath honoured)."""
    from srcprov.hooks.install import install as do_install

    names = [h.strip() for h in hooks.split(",") if h.strip()] if hooks else None
    for line in do_install(open_repo(), names, force):
        print(line)


@app.command()
def uninstall() -> None:
    """Remove srcprov's shims and config; restore chained hooks byte for byte."""
    from srcprov.hooks.install import uninstall as do_uninstall
    from srcprov.recording.writer import pending

    repo = open_repo()
    for line in do_uninstall(repo):
        print(line)
    left = pending(repo)
    if left:
        print(f"srcprov: warning: {len(left)} record(s) still queued: `srcprov record --pending` writes them",
              file=sys.stderr)


@app.command(hidden=True, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def hook(ctx: typer.Context, name: str = typer.Argument(..., help="Hook name.")) -> None:
    """What the shims call; not for people."""
    from srcprov.hooks.dispatch import run_hook

    raise typer.Exit(run_hook(name, ctx.args))


# --- record / review --------------------------------------------------------------------------
@app.command()
def record(
    revs: list[str] | None = typer.Argument(None, help="Commits or ranges (default HEAD)."),
    backfill: bool = typer.Option(False, "--backfill", help="Mark records made after the fact; with a range, fill every commit that has none."),
    claim: list[str] | None = typer.Option(None, "--claim", help="KEY=VALUE added to claims (e.g. origin=vendored)."),
    force: bool = typer.Option(False, "--force", help="Add a commit-provenance record beside an existing one (notes are append-only)."),
    pending_: bool = typer.Option(False, "--pending", help="Write the records whose hook could not."),
    wait: bool = typer.Option(False, "--wait", help="With --pending: wait for a running worker first."),
    all_: bool = typer.Option(False, "--all", help="Every commit reachable from any ref (with --backfill)."),
    as_json: bool = typer.Option(False, "--json", help="Machine output."),
) -> None:
    """Write a signed commit-provenance record for each commit."""
    from srcprov.progress import ProgressBar
    from srcprov.recording.statements import claims_from
    from srcprov.recording.writer import Entry, Outcome, drain, make_signer, pending, record_commits

    repo = open_repo()
    if wait and not pending_:
        raise SrcprovError("--wait goes with --pending")
    claims_from("", list(claim or ()))  # bad --claim values fail before anything is signed
    if pending_:
        if revs or backfill or claim or force or all_:
            raise SrcprovError("--pending takes no revisions, --all, --backfill, --claim or --force")
        n = len(pending(repo))
        res = drain(repo, wait=wait)
        if res is None:
            msg = f"a worker is writing {n} queued record(s) now (--wait waits for it)"
            emit_json({"written": [], "skipped": [], "failed": [], "busy": True}) if as_json else print(msg)
            return
        _print_outcome(res, as_json)
        if res.failed:
            raise SrcprovError(f"{len(res.failed)} record(s) still queued: {res.failed[0][1]}")
        return
    revs = list(revs or ([] if all_ else ["HEAD"])) + (["--all"] if all_ else [])
    is_range = any(".." in r or r.startswith("^") or r.startswith("--") for r in revs)
    commits = _commits_for(repo, revs)
    if not commits:
        raise SrcprovError(f"no commits in {' '.join(revs)}")
    trigger = "backfill" if backfill else "record"
    signer = make_signer(repo)
    warning = _acceptance_warning(repo, signer, commits, trigger)
    if warning:
        print(f"srcprov: warning: {warning}", file=sys.stderr)
    # Oldest first, like the hooks would have. In a range, record_commits skips commits that already
    # have a record (and counts them); a plain REV that has one is an error without --force.
    commits.reverse()
    total = Outcome()
    batch = 200
    bar = ProgressBar("record", enabled=not as_json, unit="commits")
    try:
        for i in range(0, len(commits), batch):
            part = [Entry(c, trigger) for c in commits[i:i + batch]]
            res = record_commits(repo, part, signer, force=force, claims=tuple(claim or ()),
                                 strict_existing=not is_range)
            total.written += res.written
            total.skipped += res.skipped
            total.failed += res.failed
            bar(min(i + batch, len(commits)), len(commits))
            if res.failed:
                break
    finally:
        bar.close()
    _print_outcome(total, as_json)
    if total.failed:
        raise SrcprovError(f"could not record {total.failed[0][0][:12]}: {total.failed[0][1]}")


def _acceptance_warning(repo: Any, signer: Any, commits: list[str], trigger: str) -> str | None:
    """Say, before signing, how many of these records the work tree's policy would not accept, and why."""
    import time

    from srcprov.trust.judge import would_accept
    from srcprov.trust.policy import load_policy

    try:
        policy = load_policy(repo)
    except SrcprovError:
        return None  # no policy here (yet): nothing to compare with; verify says the rest
    fpr = signer.primary_fingerprint() if hasattr(signer, "primary_fingerprint") else None
    if not policy.signers or fpr is None:
        return None
    roles = ("maintainer", "author") if trigger in ("backfill", "repair") else ("author",)
    now = int(time.time())
    refused: dict[str, int] = {}
    for cid in commits:
        email = repo.commit(cid).committer.raw_email.decode("utf-8", "backslashreplace")
        j = would_accept(policy, fpr, roles, email=email, when=now)
        if not j.trusted:
            refused[j.reason] = refused.get(j.reason, 0) + 1
    if not refused:
        return None
    n = sum(refused.values())
    reason, _ = max(refused.items(), key=lambda kv: kv[1])
    hint = " (a maintainer role lets a key backfill anyone's commits)" if "emails" in reason else ""
    return (f"the policy ({policy.source}) would not accept {n} of the {len(commits)} record(s) about to be "
            f"signed by {fpr}: {reason}{hint}")


LIST_AT_MOST = 20  # commits listed one a line; more are summed up


def _print_outcome(res: Any, as_json: bool) -> None:
    if as_json:
        emit_json({"written": res.written, "skipped": res.skipped,
                   "failed": [{"commit": c, "reason": r} for c, r in res.failed]})
        return
    if len(res.written) <= LIST_AT_MOST:
        for c in res.written:
            print(f"recorded {c[:12]}")
    else:  # a backfill of a long history: the progress bar showed the way, one line says where it ended
        print(f"recorded {len(res.written)} commits ({res.written[0][:12]} .. {res.written[-1][:12]})")
    if res.skipped:
        print(f"{len(res.skipped)} commit(s) already had a record")
    if not res.written and not res.skipped and not res.failed:
        print("nothing to record")


@app.command()
def review(
    revs: list[str] = typer.Argument(..., help="Commits to review."),
    verdict: str = typer.Option("approved", "--verdict", help="approved or rejected."),
    comment: str = typer.Option("", "--comment", help="A comment kept in the record."),
    as_json: bool = typer.Option(False, "--json", help="Machine output."),
) -> None:
    """Append a signed review record to each commit's note."""
    from srcprov.notes import notes_lock, write_notes
    from srcprov.recording.statements import review_statement, sign_statement
    from srcprov.recording.writer import make_signer

    repo = open_repo()
    if verdict not in ("approved", "rejected"):
        raise SrcprovError(f"bad --verdict {verdict!r}: approved or rejected")
    name, email = repo.config("user.name"), repo.config("user.email")
    if not name or not email:
        raise SrcprovError("set user.name and user.email: a review names its reviewer")
    signer = make_signer(repo)
    commits = _commits_for(repo, revs)
    lines = {c: sign_statement(review_statement(repo, repo.pg[c], {"name": name, "email": email}, verdict, comment), signer)
             for c in commits}
    with notes_lock(repo):
        # write_notes adds each line to what the commit's note holds (append-only).
        write_notes(repo, {c: ln + b"\n" for c, ln in lines.items()}, f"srcprov: review {len(lines)} commit(s)")
    if as_json:
        emit_json({"reviewed": commits, "verdict": verdict})
    else:
        for c in commits:
            print(f"{verdict} {c[:12]}")


# --- show / verify ----------------------------------------------------------------------------
def _policy(repo: Any, policy_dir: str | None, policy_rev: str | None, required: bool = True) -> Any:
    from srcprov.trust.policy import Policy, load_policy

    try:
        return load_policy(repo, policy_dir, policy_rev)
    except PolicyNotFound as e:
        if required or policy_dir or policy_rev:
            raise
        print(f"srcprov: warning: {e}; no signer can be trusted", file=sys.stderr)
        return Policy(source="none")


@app.command()
def show(
    rev: str = typer.Argument("HEAD", help="The commit."),
    policy_dir: str | None = typer.Option(None, "--policy", help="A .srcprov directory."),
    policy_rev: str | None = typer.Option(None, "--policy-rev", help="Use the .srcprov/ committed at REV."),
    as_json: bool = typer.Option(False, "--json", help="Machine output."),
) -> None:
    """Decode a commit's records and show each with its verification status."""
    from srcprov.trust.verify import verify_commits

    repo = open_repo()
    commit = str(repo.resolve_commit(rev).id)
    _flush(repo)
    policy = _policy(repo, policy_dir, policy_rev, required=False)
    cr = verify_commits(repo, policy, [commit])[0]
    cr.load_lines(repo)
    if as_json:
        emit_json(cr.to_json(with_statement=True))
        return
    print(f"commit {cr.commit}: {cr.status}" + (f" ({cr.reason})" if cr.reason and cr.status != "verified" else ""))
    if not cr.records:
        print("  no records")
    for r in sorted(cr.records, key=lambda r: r.predicate_type != "urn:srcprov:commit-provenance:v1"):
        pt = r.predicate_type or "unreadable"
        kind = pt.split(":")[2] if pt.startswith("urn:srcprov:") else pt
        print(f"  {kind}: {r.status}" + (f" - {r.reason}" if r.reason else "") + (f"  signer {r.signer}" if r.signer else ""))
        pred = (r.statement or {}).get("predicate") or {}
        if "recorder" in pred:
            ch = pred.get("changes", {})
            print(f"    trigger {pred['recorder'].get('trigger')}, recorded {pred.get('recordedAt')}, "
                  f"origin {pred.get('claims', {}).get('origin')}, "
                  f"{ch.get('files', 0)} file(s) +{ch.get('insertions', 0)} -{ch.get('deletions', 0)}")
            for c in (pred.get("precommit") or {}).get("checks", []):
                print(f"    check {c.get('name')}: exit {c.get('exitCode')} in {c.get('durationMs')} ms")
            for rw in pred.get("rewrittenFrom", []):
                print(f"    rewritten from {str(rw.get('commit'))[:12]}")
        elif "verdict" in pred:
            rv = pred.get("reviewer", {})
            print(f"    {pred['verdict']} by {rv.get('name')} <{rv.get('email')}> at {pred.get('reviewedAt')}"
                  + (f": {pred.get('comment')}" if pred.get("comment") else ""))


ATTENTION_LINES = 20  # verify's text output: lines for commits that need attention before "... and N more"
# Summary order: verified first, then what makes a required commit fail, then the commits nobody requires.
_SUMMARY_ORDER = ("verified", "missing", "unreviewed", "unchecked", "backfill-denied", "untrusted-signer",
                  "content-mismatch", "subject-mismatch", "bad-signature", "malformed")


def _needs_attention(cr: Any, strict: bool) -> bool:
    """A commit that makes verify fail: required and not verified or, strictly, with any bad record."""
    if cr.required and cr.status != "verified":
        return True
    return strict and any(r.status != "verified" for r in cr.records)


def _commit_line(cr: Any) -> str:
    extra = "" if cr.required else " (not required)"
    line = f"{cr.commit[:12]} {cr.status}{extra}" + (f": {cr.reason}" if cr.reason else "")
    bad = [r for r in cr.records if r.status != "verified"]
    if cr.status == "verified" and bad:
        line += f"; {len(bad)} bad record(s): {bad[0].status}" + (f" ({bad[0].reason})" if bad[0].reason else "")
    return line


def verify_summary(results: list[Any], removed: list[Any] | None) -> str:
    """`N commits: a verified, b missing, c not required`, and with --strict how many records were removed."""
    counts: dict[str, int] = {"verified": 0}
    not_required = 0
    for cr in results:
        if cr.status != "verified" and not cr.required:
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


@app.command()
def verify(
    revs: list[str] | None = typer.Argument(None, help="Commits or ranges (default HEAD; A..B and --all as in git log)."),
    policy_dir: str | None = typer.Option(None, "--policy", help="A .srcprov directory."),
    policy_rev: str | None = typer.Option(None, "--policy-rev", help="Use the .srcprov/ committed at REV (CI: the base branch)."),
    strict: bool = typer.Option(False, "--strict", help="Also fail when any record of any commit is bad or was ever removed "
                                "from a note (walks the notes ref's history; `removed` in --json)."),
    all_: bool = typer.Option(False, "--all", help="Every commit reachable from any ref but refs/stash."),
    vsa: str | None = typer.Option(None, "--vsa", help="Also write a signed SLSA Source VSA for the newest commit to FILE."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List every commit, not only those that need attention."),
    as_json: bool = typer.Option(False, "--json", help="Machine output."),
) -> None:
    """Verify the records of each commit in the range against the policy."""
    from srcprov.notes import removed_records
    from srcprov.progress import ProgressBar
    from srcprov.trust.verify import verdict_ok, verify_commits

    repo = open_repo()
    args = list(revs or [])
    if all_:
        args.append("--all")
    commits = _commits_for(repo, args)
    _flush(repo)
    policy = _policy(repo, policy_dir, policy_rev)
    bar = ProgressBar("verify", enabled=not as_json, unit="records")
    try:
        results = verify_commits(repo, policy, commits, progress=bar)
    finally:
        bar.close()
    # Only --strict walks the notes ref's history: a plain verify costs no more than the notes it reads.
    removed = removed_records(repo, commits) if strict else None
    ok = verdict_ok(results, strict) and not removed
    if vsa:
        from srcprov.attest.vsa import write_vsa
        from srcprov.recording.writer import make_signer

        write_vsa(repo, policy, results, vsa, make_signer(repo), passed=ok)
    if as_json:
        doc: dict[str, Any] = {"ok": ok, "policy": policy.source, "commits": [cr.to_json() for cr in results]}
        if removed is not None:
            doc["removed"] = [r.to_json() for r in removed]
        emit_json(doc)
    else:
        lines = [_commit_line(cr) for cr in results if verbose or _needs_attention(cr, strict)]
        lines += [f"{r.commit[:12]} record {r.sha256[:12]} was removed from its note by notes commit {r.removed_by[:12]}"
                  for r in removed or ()]
        shown = lines if verbose else lines[:ATTENTION_LINES]
        for line in shown:
            print(line)
        if len(lines) > len(shown):
            print(f"... and {len(lines) - len(shown)} more")
        print(f"{verify_summary(results, removed)} ({'ok' if ok else 'FAILED'}; policy: {policy.source})")
    if not ok:
        raise typer.Exit(1)


# --- policy -----------------------------------------------------------------------------------
@policy_app.command("init")
def policy_init(force: bool = typer.Option(False, "--force", help="Overwrite an existing policy.toml.")) -> None:
    """Create .srcprov/policy.toml."""
    from srcprov.commands.policy import init_policy

    print(init_policy(open_repo(), force))


@policy_app.command("add-signer")
def policy_add_signer(
    key: str = typer.Argument(..., help="An OpenPGP fingerprint or email gpg knows; ssh:<public key file or line>; "
                                        "pem:<PEM public key file>."),
    email: list[str] | None = typer.Option(None, "--email", help="Allowed committer email (repeatable)."),
    role: list[str] | None = typer.Option(None, "--role", help="author, maintainer, reviewer, builder or source (repeatable; default author)."),
) -> None:
    """Store a public key in .srcprov/keys/ and list it as a signer."""
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
def policy_show(
    policy_dir: str | None = typer.Option(None, "--policy", help="A .srcprov directory."),
    policy_rev: str | None = typer.Option(None, "--policy-rev", help="Use the .srcprov/ committed at REV."),
    as_json: bool = typer.Option(False, "--json", help="Machine output."),
) -> None:
    """Show the policy."""
    from tabulate import tabulate

    from srcprov.trust.policy import load_policy

    p = load_policy(open_repo(), policy_dir, policy_rev)
    data: dict[str, Any] = {  # the --json document
        "source": p.source,
        "signers": [{"name": s.name, "kind": s.kind, "fingerprint": s.fingerprint, "emails": list(s.emails),
                     "roles": list(s.roles)} for s in p.signers],
        "checks": [{"name": c.name, "command": c.command, "timeout": c.timeout, "required": c.required} for c in p.checks],
        "require": {"since": p.require.since, "backfilled": p.require.backfilled, "reviews": p.require.reviews},
    }
    if as_json:
        emit_json(data)
        return
    print(f"policy: {p.source}")
    print(tabulate([[s["name"], s["kind"], s["fingerprint"], ", ".join(s["emails"]) or "any", ", ".join(s["roles"])]
                    for s in data["signers"]],
                   headers=["signer", "kind", "fingerprint", "emails", "roles"]) if p.signers else "no signers")
    if p.checks:
        print(tabulate([[c.name, c.command, f"{c.timeout:g}s", "yes" if c.required else "no"] for c in p.checks],
                       headers=["check", "command", "timeout", "required"]))
    r = p.require
    print(f"require: since={r.since or 'the first commit'} backfilled={r.backfilled} reviews={r.reviews}")


# --- report -----------------------------------------------------------------------------------

def report_facts(repo: Any, policy: Any) -> Any:
    """A `facts_for(commit_ids)` for the report: status, verified origin, approving review, in one pass."""
    from srcprov.model.dsse import REVIEW
    from srcprov.model.status import RecordStatus
    from srcprov.report.facts import CommitFacts
    from srcprov.trust.verify import verify_commits

    def facts_for(commits: list[str]) -> dict[str, CommitFacts]:
        out = {}
        for cr in verify_commits(repo, policy, commits):
            best = cr.best
            origin = None
            if best is not None and best.status == RecordStatus.VERIFIED:
                origin = best.facts["origin"]
            reviewed = any(
                r.predicate_type == REVIEW and r.status == RecordStatus.VERIFIED and r.facts["verdict"] == "approved"
                for r in cr.records
            )
            out[cr.commit] = CommitFacts(cr.status, origin, reviewed)
        return out

    return facts_for

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
    from srcprov.report import run_report

    repo = open_repo()
    fmt = "json" if as_json else fmt
    repo.resolve_commit(rev)
    _flush(repo)
    facts_for = None
    try:
        facts_for = report_facts(repo, _policy(repo, policy_dir, policy_rev))
    except SrcprovError as e:
        if policy_dir or policy_rev:
            raise
        print(f"srcprov: warning: {e}; coverage counts every commit as missing", file=sys.stderr)
    run_report(repo, rev=rev, as_of=as_of, date_field=date, buckets=buckets, windows=windows, by=by, depth=depth,
               paths=list(path or []), fmt=fmt, output=output, facts_for=facts_for,
               progress=fmt != "json" and sys.stderr.isatty())


# --- doctor / demo ----------------------------------------------------------------------------
@app.command()
def doctor(as_json: bool = typer.Option(False, "--json", help="Machine output.")) -> None:
    """Say what is wrong with this setup and how to mend each thing."""
    from srcprov.commands.doctor import diagnose

    findings = diagnose(open_repo())
    problems = [f for f in findings if not f.ok and not f.advice]
    if as_json:
        emit_json({"ok": not problems, "findings": [f.__dict__ for f in findings]})
    else:
        for f in findings:
            tag = "ok  " if f.ok else "tip " if f.advice else "FIX "
            print(f"{tag} {f.what}" + (f"\n     -> {f.fix}" if f.fix and not f.ok else ""))
    if problems:
        raise typer.Exit(1)


@app.command()
def demo(
    directory: str | None = typer.Option(None, "--dir", help="Where to build the demo (default: a new temporary directory)."),
    key_kind: str = typer.Option("openpgp", "--key-kind", help="openpgp (throwaway GnuPG keys) or ssh (throwaway SSH keys)."),
) -> None:
    """Build a repository from the sample project and run the whole flow, printing each step."""
    from srcprov.commands.demo import run_demo

    run_demo(directory, key_kind)


# --- entry ------------------------------------------------------------------------------------
def _click_exceptions() -> list[Any]:
    """click's exception modules: typer >= 0.20 vendors its own copy of click, older ones use click."""
    mods = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            mods.append(__import__(name, fromlist=["Exit"]))
        except ImportError:
            pass
    return mods


def run(argv: list[str]) -> int:
    """Run the CLI; every error becomes one line `srcprov: error: ...` and an exit code."""
    mods = _click_exceptions()
    exits = (typer.Exit, *(m.Exit for m in mods if hasattr(m, "Exit")))
    aborts = (typer.Abort, *(m.Abort for m in mods if hasattr(m, "Abort")))
    usage = tuple(m.ClickException for m in mods)
    cmd = typer.main.get_command(app)
    try:
        result = cmd.main(args=argv, prog_name="srcprov", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except SrcprovError as e:
        print(f"srcprov: error: {e}", file=sys.stderr)
        return e.exit_code
    except exits as e:
        return int(e.exit_code or 0)
    except aborts:
        print("srcprov: error: aborted", file=sys.stderr)
        return 2
    except usage as e:
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            return 2
        print(f"srcprov: error: {e.format_message()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("srcprov: error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:
        if os.environ.get("SRCPROV_DEBUG"):
            raise
        print(f"srcprov: error: internal error: {e.__class__.__name__}: {e} (SRCPROV_DEBUG=1 shows a traceback)",
              file=sys.stderr)
        return 2


# Commands for builds (attest, verify-attestation, sync, repair) register themselves on `app`.
from srcprov.cli import build  # noqa: E402,F401
