"""CLI commands for the build side: attest, reproduce, verify-attestation, sync, repair (registered on cli.app)."""

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
    command: str | None = typer.Option(None, "--command", help="The build command, recorded so `reproduce` can run it again."),
    deps: list[str] | None = typer.Option(None, "--deps", help="auto (the lock files at the commit, default), none, or a lock "
                                          "file (repeatable)."),
    sbom: str | None = typer.Option(None, "--sbom", help="An SBOM file (CycloneDX or SPDX JSON), or auto (needs the sbom extra: cyclonedx-bom)."),
    output: str | None = typer.Option(None, "--output", "-o", help="Write the attestation bundle here (default: stdout)."),
    no_sign: bool = typer.Option(False, "--no-sign", help='Leave the envelopes unsigned ("signatures": []).'),
) -> None:
    """Write an in-toto SLSA Provenance v1 attestation linking the artifacts to the commit, its records and
    the build's inputs; with --sbom, a bundle (JSON Lines): the provenance, then the SBOM statement."""
    from srcprov.attest.provenance import attest as make

    res = make(open_repo(), subject, rev, builder_id, sign=not no_sign, command=command, deps=deps or ["auto"], sbom=sbom)
    for w in res.warnings:
        print(f"srcprov: warning: {w}", file=sys.stderr)
    data = res.bundle()
    if output:
        try:
            Path(output).write_bytes(data)
        except OSError as e:
            raise SrcprovError(f"cannot write {output}: {e.strerror}") from None
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


@app.command()
def reproduce(
    file: str = typer.Argument(..., help="The attestation (or bundle) of the build to redo."),
    subject: list[str] | None = typer.Option(None, "--subject", help="Your copy of an attested artifact: compare only "
                                             "these, byte by byte (repeatable)."),
    command: str | None = typer.Option(None, "--command", help="Run this instead of the attested build command."),
    keep: bool = typer.Option(False, "--keep", help="Keep the temporary worktree of the rebuild."),
    timeout: float = typer.Option(3600.0, "--timeout", help="Seconds the build may take before it is stopped."),
    as_json: bool = typer.Option(False, "--json", help="Machine output."),
) -> None:
    """Rebuild the attested commit in a temporary worktree and compare each artifact's sha256 with the attestation."""
    from srcprov.attest.reproduce import reproduce as redo

    res = redo(open_repo(), file, subject or [], command, keep, timeout)
    for w in res.warnings:
        print(f"srcprov: warning: {w}", file=sys.stderr)
    if as_json:
        emit_json(res.to_json())
    else:
        for line in res.lines():
            print(line)
    if not res.ok:
        raise typer.Exit(1)


@app.command("verify-attestation")
def verify_attestation(
    file: str = typer.Argument(..., help="The attestation: a DSSE envelope, or a bundle (one envelope a line)."),
    subject: list[str] = typer.Option(..., "--subject", help="An artifact to check against the attestation (repeatable)."),
    policy_dir: str | None = typer.Option(None, "--policy", help="A .srcprov directory."),
    policy_rev: str | None = typer.Option(None, "--policy-rev", help="Use the .srcprov/ committed at REV (CI: the base branch)."),
    as_json: bool = typer.Option(False, "--json", help="Machine output."),
) -> None:
    """Verify the chain artifact -> attestation -> commit -> note -> signers; name the first broken link."""
    from srcprov.attest.chain import verify_attestation as check

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
