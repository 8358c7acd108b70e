"""Command declarations for the build side: attest, reproduce, verify-attestation, sync, repair, source-update."""

from __future__ import annotations

import sys

import typer

from srcprov.cli.app import JsonOpt, PolicyDirOpt, PolicyRevOpt, app, open_repo, render, warn
from srcprov.errors import SrcprovError


@app.command()
def attest(
    subject: list[str] = typer.Option(..., "--subject", help="An artifact the build made (repeatable)."),
    rev: str = typer.Option("HEAD", "--rev", help="The commit the build is of."),
    builder_id: str | None = typer.Option(None, "--builder-id", help="The builder's URI (default: from the CI's environment)."),
    command: str | None = typer.Option(None, "--command", help="The build command, recorded so `reproduce` can run it again."),
    deps: list[str] | None = typer.Option(None, "--deps", help="auto (the lock files at the commit, default), none, or a lock "
                                          "file (repeatable)."),
    sbom: str | None = typer.Option(None, "--sbom", help="An SBOM file (CycloneDX or SPDX JSON), or auto (needs the sbom extra: "
                                    "cyclonedx-bom)."),
    output: str | None = typer.Option(None, "--output", "-o", help="Write the attestation bundle here (default: stdout)."),
    no_sign: bool = typer.Option(False, "--no-sign", help='Leave the envelopes unsigned ("signatures": []).'),
) -> None:
    """Write an in-toto SLSA Provenance v1 attestation linking the artifacts to the commit, its records and
    the build's inputs; with --sbom, a bundle (JSON Lines): the provenance, then the SBOM statement."""
    from srcprov.commands.build import attest as run

    res = run(open_repo(), subject, rev, builder_id, output, sign=not no_sign, command=command, deps=deps or ["auto"], sbom=sbom)
    warn(res.warnings)
    if output:
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(res.line)
        sys.stdout.flush()


@app.command()
def reproduce(
    file: str = typer.Argument(..., help="The attestation (or bundle) of the build to redo."),
    subject: list[str] | None = typer.Option(None, "--subject", help="Your copy of an attested artifact: compare only "
                                             "these, byte by byte (repeatable)."),
    command: str | None = typer.Option(None, "--command", help="Run this instead of the attested build command."),
    keep: bool = typer.Option(False, "--keep", help="Keep the temporary worktree of the rebuild."),
    timeout: float = typer.Option(3600.0, "--timeout", help="Seconds the build may take before it is stopped."),
    as_json: JsonOpt = False,
) -> None:
    """Rebuild the attested commit in a temporary worktree and compare each artifact's sha256 with the attestation."""
    from srcprov.commands.build import reproduce as run

    render(run(open_repo(), file, subject or [], command, keep, timeout), as_json)


@app.command("verify-attestation")
def verify_attestation(
    file: str = typer.Argument(..., help="The attestation: a DSSE envelope, or a bundle (one envelope a line)."),
    subject: list[str] = typer.Option(..., "--subject", help="An artifact to check against the attestation (repeatable)."),
    policy_dir: PolicyDirOpt = None,
    policy_rev: PolicyRevOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify the chain artifact -> attestation -> commit -> note -> signers; name the first broken link."""
    from srcprov.commands.build import verify_attestation as run

    render(run(open_repo(), file, subject, policy_dir, policy_rev), as_json)


@app.command()
def sync(
    remote: str = typer.Option("origin", "--remote", help="The remote to sync the notes ref with."),
    as_json: JsonOpt = False,
) -> None:
    """Fetch the remote's notes into a tracking ref, merge them (cat_sort_uniq), push without force."""
    from srcprov.commands.build import sync as run

    render(run(open_repo(), remote), as_json)


@app.command()
def repair(
    revs: list[str] | None = typer.Argument(None, help="Commits or a range (default HEAD: HEAD's whole history)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be repaired; write nothing."),
    as_json: JsonOpt = False,
) -> None:
    """Record commits made where no hook ran (forge squash/rebase merges, cherry-picks) from the recorded
    commits they came from (same tree or same patch-id), with trigger repair and rewrittenFrom."""
    from srcprov.commands.build import repair as run

    res = run(open_repo(), list(revs or ["HEAD"]), dry_run)
    warn(res.warnings)
    res.warnings = []
    if as_json:
        from srcprov.cli.app import emit_json

        emit_json(res.to_json())
    else:
        for line in res.lines():
            print(line)
    if res.failed:
        raise SrcprovError(f"could not record {res.failed[0][0][:12]}: {res.failed[0][1]}")


@app.command("source-update")
def source_update(
    before: str | None = typer.Option(None, "--before", help="The branch's tip before the push (default: from the CI's environment)."),
    after: str = typer.Option("HEAD", "--after", help="The branch's tip after the push."),
    ref: str | None = typer.Option(None, "--ref", help="The branch pushed, e.g. refs/heads/main (default: the CI's, else HEAD's)."),
    push: str | None = typer.Option(None, "--push", help="Then merge and push the notes to this remote (as `sync`)."),
    policy_dir: PolicyDirOpt = None,
    policy_rev: PolicyRevOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """CI as the source control system (key of role source): record the forge-made commits of BEFORE..AFTER that
    derive from verified commits (merge, squash, rebase) and the branch update; the policy is BEFORE's."""
    from srcprov.commands.source import source_update as run

    render(run(open_repo(), before, after, ref, push, policy_dir, policy_rev), as_json)
