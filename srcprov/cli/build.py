"""CLI commands for the build side: attest, verify-attestation, sync, repair (registered on cli.app)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from srcprov.cli import _policy, app, emit_json, open_repo
from srcprov.errors import SrcprovError


@app.command()
def attest(
    subject: list[str] = typer.Option(..., "--subject", help="An artifact the build made (repeatable)."),
    rev: str = typer.Option("HEAD", "--rev", help="The commit the build is of."),
    builder_id: str | None = typer.Option(None, "--builder-id", help="The builder's URI (default: from the CI's environment)."),
    output: str | None = typer.Option(None, "--output", "-o", help="Write the attestation here (default: stdout)."),
    no_sign: bool = typer.Option(False, "--no-sign", help='Leave the envelope unsigned ("signatures": []).'),
) -> None:
    """Write an in-toto SLSA Provenance v1 attestation linking the artifacts to the commit and its records."""
    from srcprov.attest.provenance import attest as make

    line = make(open_repo(), subject, rev, builder_id, sign=not no_sign) + b"\n"
    if output:
        try:
            Path(output).write_bytes(line)
        except OSError as e:
            raise SrcprovError(f"cannot write {output}: {e.strerror}") from None
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(line)
        sys.stdout.flush()


@app.command("verify-attestation")
def verify_attestation(
    file: str = typer.Argument(..., help="The attestation: a DSSE envelope, or a bundle (one envelope a line)."),
    subject: list[str] = typer.Option(..., "--subject", help="An artifact to check against the attestation (repeatable)."),
    policy_dir: str | None = typer.Option(None, "--policy", help="A .srcprov directory."),
    policy_rev: str | None = typer.Option(None, "--policy-rev", help="Use the .srcprov/ committed at REV (CI: the base branch)."),
    as_json: bool = typer.Option(False, "--json", help="Machine output."),
) -> None:
    """Verify the chain artifact -> attestation -> commit -> note -> signers; name the first broken link."""
    from srcprov.attest.provenance import verify_attestation as check

    repo = open_repo()
    policy = _policy(repo, policy_dir, policy_rev)
    res = check(repo, file, subject, policy)
    if as_json:
        emit_json(res.to_json())
    else:
        for link in res.links:
            mark = "ok  " if link.ok else ("FAIL" if link.ok is False else "--  ")
            print(f"{mark} {link.link}: {link.detail}")
        print("attestation verified" if res.ok else f"FAILED: broken link: {res.broken}")
    if not res.ok:
        raise typer.Exit(1)


@app.command()
def sync(
    remote: str = typer.Option("origin", "--remote", help="The remote to sync the notes ref with."),
    as_json: bool = typer.Option(False, "--json", help="Machine output."),
) -> None:
    """Fetch the remote's notes into a tracking ref, merge them (cat_sort_uniq), push without force."""
    from srcprov.recording.sync import sync as do_sync
    from srcprov.recording.writer import flush_quietly

    repo = open_repo()
    flush_quietly(repo)
    res = do_sync(repo, remote)
    if as_json:
        emit_json(res.to_json())
    else:
        for line in res.lines():
            print(line)


@app.command()
def repair(
    revs: list[str] | None = typer.Argument(None, help="Commits or a range (default HEAD: HEAD's whole history)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be repaired; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Machine output."),
) -> None:
    """Record commits made where no hook ran (forge squash/rebase merges, cherry-picks) from the recorded
    commits they came from (same tree or same patch-id), with trigger repair and rewrittenFrom."""
    from srcprov.recording.repair import repair as do_repair
    from srcprov.recording.writer import flush_quietly

    repo = open_repo()
    flush_quietly(repo)
    res = do_repair(repo, list(revs or ["HEAD"]), dry_run=dry_run)
    if as_json:
        emit_json(res.to_json())
    else:
        for line in res.lines():
            print(line)
    if res.failed:
        raise SrcprovError(f"could not record {res.failed[0][0][:12]}: {res.failed[0][1]}")
