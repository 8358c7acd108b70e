"""Build attestations: an in-toto Statement v1 with an SLSA Provenance v1 predicate that names the commit and
its signed records and every input of the build (lock-file packages, the CI's workflow file, the command, the
environment), signed, with the SBOM as the bundle's second statement. Verification is in chain.py."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from srcprov.attest.context import BuildContext, build_context, git_uri  # noqa: F401  (vsa.py and tests import them here)
from srcprov.errors import SrcprovError
from srcprov.model.dsse import PAYLOAD_TYPE, SLSA_PROVENANCE, Envelope, statement
from srcprov.model.timefmt import utc_now
from srcprov.model.urls import clean_url  # here too for srcprov.attest.provenance.clean_url's importers

if TYPE_CHECKING:
    from srcprov.attest.deps import LockResult
    from srcprov.git import Repo
    from srcprov.signing import Signer
    from srcprov.trust.policy import Policy

BUILD_TYPE = "urn:srcprov:build:v1"
BUNDLE_MEDIA_TYPE = "application/vnd.in-toto.bundle"
LINKS = ("signature", "subject", "commit", "note", "policy")


# --- where the build's source is -----------------------------------------------------------
def source_url(repo: Repo, ctx: BuildContext) -> str:
    """The repository's URL as an attestation names it: the CI's, else origin's (cleaned), else a local URN."""
    if ctx.repository_url:
        return ctx.repository_url
    url = repo.config("remote.origin.url")
    if url:
        return clean_url(url)
    # No remote: name the repository, never a path on this machine (it would leak who built where).
    return f"urn:srcprov:local:{quote((repo.workdir or repo.common_dir).name)}"


def source_ref(repo: Repo, commit_id: str, rev: str, ctx: BuildContext) -> str:
    """The ref the build is of: the CI's, else the branch or tag REV names, else HEAD's branch, else the commit."""
    if ctx.ref:
        pr = re.fullmatch(r"(refs/pull/\d+)/merge", ctx.ref)
        if pr and ctx.ref_commit and ctx.ref_commit != commit_id:
            return f"{pr.group(1)}/head"  # the job checked out the pull request's head, not GitHub's merge
        return ctx.ref
    import pygit2

    pg = repo.pg
    try:
        ref = pg.lookup_reference_dwim(rev)
        name = ref.resolve().name if ref.name == "HEAD" else ref.name
        if name.startswith("refs/") and str(ref.resolve().peel().id) == commit_id:
            return name
    except (KeyError, ValueError, pygit2.GitError):  # REV is no ref name (a commit id, HEAD~1)
        pass
    if not pg.head_is_detached and not pg.head_is_unborn and str(pg.head.target) == commit_id:
        return pg.head.name
    return commit_id


# --- the attestation ---------------------------------------------------------------------------
def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except IsADirectoryError:
        raise SrcprovError(f"{path} is a directory, not a file") from None
    except OSError as e:
        raise SrcprovError(f"cannot read {path}: {e.strerror}") from None
    return h.hexdigest()


def subject_name(path: str) -> str:
    """How a subject is named: the path as given (normalised), or the file name of an absolute path."""
    norm = os.path.normpath(path)
    return os.path.basename(norm) if os.path.isabs(norm) or norm.startswith("..") else norm


@dataclass(frozen=True)
class NoteFacts:
    """The commit's note as the attestation names it."""

    blob: str
    sha256: str
    status: str
    signers: tuple[str, ...]


def note_facts(repo: Repo, policy: Policy, commit_id: str) -> NoteFacts | None:
    """The commit's current note, its status under POLICY and who signed its records; None without a note."""
    from srcprov.trust.verify import verify_commits

    cr = verify_commits(repo, policy, [commit_id])[0]
    if cr.note_blob is None:
        return None
    data = repo.blob_data(cr.note_blob)
    signers = sorted({r.signer for r in cr.records if r.signer and r.status not in ("bad-signature", "malformed")})
    return NoteFacts(cr.note_blob, hashlib.sha256(data).hexdigest(), cr.status, tuple(signers))



@dataclass
class BuildInputs:
    """What the build used besides the source and its note: command, environment, files of the repository
    (the CI's workflow file, lock files), packages, SBOM byproducts."""

    command: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)  # resource descriptors with gitBlob + sha256
    packages: list[dict[str, Any]] = field(default_factory=list)
    byproducts: list[dict[str, Any]] = field(default_factory=list)


def repo_file_entry(url: str, ref: str, path: str, blob: str, data: bytes, role: str) -> dict[str, Any]:
    """A resolvedDependencies entry for a file of the source commit: `git+URL@REF#PATH`, its blob id and sha256."""
    return {"uri": f"{git_uri(url, ref)}#{quote(path, safe='/')}",
            "digest": {"gitBlob": blob, "sha256": hashlib.sha256(data).hexdigest()},
            "annotations": {"role": role}}


def provenance_statement(
    repo: Repo,
    subjects: Sequence[tuple[str, str]],
    commit_id: str,
    note: NoteFacts | None,
    ctx: BuildContext,
    ref: str,
    started_on: str,
    inputs: BuildInputs | None = None,
) -> dict[str, Any]:
    """The SLSA Provenance v1 statement for SUBJECTS ((name, sha256) pairs) built from COMMIT_ID with INPUTS."""
    inputs = inputs or BuildInputs()
    url = source_url(repo, ctx)
    source = {"uri": git_uri(url, ref), "digest": {"gitCommit": commit_id}}
    # resolvedDependencies[0] is the source; no entry has a `name` (GUAC would file every source under one).
    deps: list[dict[str, Any]] = [{"uri": source["uri"], "digest": {"gitCommit": commit_id}}]
    if note is not None:
        deps.append({
            "uri": git_uri(url, repo.notes_ref),
            "digest": {"sha256": note.sha256, "gitBlob": note.blob},
            "mediaType": BUNDLE_MEDIA_TYPE,
            "annotations": {"subjectGitCommit": commit_id, "status": note.status, "signers": list(note.signers)},
        })
    deps += inputs.files
    deps += inputs.packages
    external: dict[str, Any] = {"source": source}
    if inputs.command is not None:
        external["command"] = inputs.command
    if ctx.workflow:
        external["workflow"] = dict(ctx.workflow)
    metadata = {"invocationId": ctx.invocation_id, "startedOn": ctx.started_on or started_on, "finishedOn": utc_now()}
    if not metadata["invocationId"]:
        # No CI names this run: a fresh id still tells two local builds of one commit apart.
        import uuid

        metadata["invocationId"] = f"urn:uuid:{uuid.uuid4()}"
    run_details: dict[str, Any] = {"builder": {"id": ctx.builder_id}, "metadata": metadata}
    if inputs.byproducts:
        run_details["byproducts"] = list(inputs.byproducts)
    predicate = {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": external,
            "internalParameters": {"environment": inputs.environment} if inputs.environment else {},
            "resolvedDependencies": deps,
        },
        "runDetails": run_details,
    }
    return statement([{"name": n, "digest": {"sha256": d}} for n, d in subjects], SLSA_PROVENANCE, predicate)


def envelope_line(st: dict[str, Any], signer: Signer | None) -> bytes:
    """The statement as a DSSE envelope line: signed by SIGNER, or with no signatures."""
    from srcprov.model.dsse import statement_bytes
    from srcprov.recording.statements import sign_statement

    if signer is not None:
        return sign_statement(st, signer)
    return Envelope(PAYLOAD_TYPE, statement_bytes(st), ()).to_line()


@dataclass
class Attestation:
    """What `attest` made: the bundle's envelope lines (provenance first, then the SBOM statement) and the
    warnings to show (a missing note, lock-file problems, packages without digests)."""

    lines: list[bytes]
    warnings: list[str] = field(default_factory=list)

    def bundle(self) -> bytes:
        """The bundle as written: JSON Lines, one envelope a line."""
        return b"".join(line + b"\n" for line in self.lines)


def _tree_blob(repo: Repo, commit_id: str, path: str, limit: int | None = None) -> tuple[str, bytes | None] | None:
    """(blob id, bytes) of the file PATH in COMMIT_ID's tree (bytes None when over LIMIT), or None when the tree
    holds no file there."""
    import pygit2

    parts = path.split("/")
    if not path or any(p in ("", ".", "..") for p in parts):
        return None
    try:
        obj = repo.commit(commit_id).tree[path]
    except (KeyError, ValueError):
        return None
    if not isinstance(obj, pygit2.Blob):
        return None
    if limit is not None and obj.size > limit:
        return str(obj.id), None
    return str(obj.id), obj.data


def _repo_path(repo: Repo, path: str) -> str:
    """PATH (as given on the command line) as a path in the repository; SrcprovError when it is outside."""
    if repo.workdir is None:
        return path.strip("/")
    full = os.path.abspath(path)
    rel = os.path.relpath(full, repo.workdir)
    if rel.startswith("..") or os.path.isabs(rel):
        raise SrcprovError(f"--deps {path}: not a file of this repository (lock files are read at the source commit)")
    return rel.replace(os.sep, "/")


def read_lockfiles(repo: Repo, commit_id: str, deps: Sequence[str]) -> list[tuple[str, str, bytes | None, LockResult]]:
    """(path, blob id, bytes, parsed) of each lock file DEPS names at COMMIT_ID: `auto` (those found in its tree),
    `none`, or paths. SrcprovError for a named file the commit does not hold."""
    from srcprov.attest.deps import MAX_LOCKFILE_BYTES, LockResult, find_lockfiles, lockfile_kind, parse_lockfile

    specs = list(deps) or ["auto"]
    if len(specs) > 1 and ({"auto", "none"} & set(specs)):
        raise SrcprovError("--deps takes auto, none, or lock files, not a mix")
    if specs == ["none"]:
        return []
    if specs == ["auto"]:
        listing = repo.git("ls-tree", "-r", "-z", "--name-only", commit_id).stdout.decode("utf-8", "surrogateescape")
        paths = find_lockfiles(p for p in listing.split("\0") if p)
        explicit = False
    else:
        paths = [_repo_path(repo, p) for p in specs]
        explicit = True
    out = []
    for path in paths:
        kind = lockfile_kind(path, explicit=explicit)
        if kind is None:
            raise SrcprovError(f"--deps {path}: not a lock file srcprov reads (requirements*.txt or *.txt, uv.lock, "
                               "poetry.lock, Pipfile.lock, package-lock.json, Cargo.lock, go.sum)")
        found = _tree_blob(repo, commit_id, path, MAX_LOCKFILE_BYTES)
        if found is None:
            if explicit:
                raise SrcprovError(f"--deps {path}: commit {commit_id[:12]} has no such file "
                                   "(lock files are read at the source commit, not the work tree)")
            continue
        blob, data = found
        if data is None:
            res = LockResult(path, kind, problems=[f"{path} is over {MAX_LOCKFILE_BYTES >> 20} MiB: its packages are not listed"])
        else:
            res = parse_lockfile(path, data, kind)
        out.append((path, blob, data, res))
    return out


def attest(
    repo: Repo,
    subject_files: Sequence[str],
    rev: str = "HEAD",
    builder_id: str | None = None,
    sign: bool = True,
    env: Mapping[str, str] | None = None,
    command: str | None = None,
    deps: Sequence[str] = ("auto",),
    sbom: str | None = None,
) -> Attestation:
    """The build attestation for SUBJECT_FILES built from REV with COMMAND: the provenance envelope, and the
    SBOM statement's when SBOM (a file, or `auto`) is given."""
    from srcprov.attest.deps import dependency_warnings
    from srcprov.attest.machine import build_environment
    from srcprov.attest.sbom import auto_sbom, read_sbom, sbom_statement
    from srcprov.recording.signer import make_signer

    started = utc_now()
    env = os.environ if env is None else env
    if not subject_files:
        raise SrcprovError("attest needs at least one --subject FILE")
    if command is not None and not command.strip():
        raise SrcprovError("--command is empty")
    subjects = [(subject_name(p), file_digest(p)) for p in subject_files]
    names = [n for n, _ in subjects]
    if len(set(names)) != len(names):
        raise SrcprovError("two --subject files have the same name")
    commit_id = str(repo.resolve_commit(rev).id)
    locks = read_lockfiles(repo, commit_id, deps)
    the_sbom = None if sbom is None else (auto_sbom() if sbom == "auto" else read_sbom(sbom))
    signer = make_signer(repo) if sign else None
    ctx = build_context(env, builder_id)
    warnings: list[str] = []
    policy = _work_tree_policy(repo, warnings)
    note = note_facts(repo, policy, commit_id)
    if note is None:
        warnings.append(f"{commit_id[:12]} has no srcprov note in {repo.notes_ref}: the attestation cannot name its "
                        "records (fetch the notes, or `srcprov record`)")
    ref = source_ref(repo, commit_id, rev, ctx)
    url = source_url(repo, ctx)
    inputs = BuildInputs(command=command, environment=build_environment(env, command, repo.workdir))
    if ctx.config_path:
        found = _tree_blob(repo, commit_id, ctx.config_path)
        if found is None or found[1] is None:
            warnings.append(f"the CI's configuration {ctx.config_path} is not a file of {commit_id[:12]}: not named")
        else:
            inputs.files.append(repo_file_entry(url, ref, ctx.config_path, found[0], found[1], "build-config"))
    for path, blob, data, res in locks:
        if data is not None:  # an oversized lock file is named in a warning, not hashed
            inputs.files.append(repo_file_entry(url, ref, path, blob, data, "lockfile"))
        inputs.packages += [d.descriptor() for d in res.deps]
    warnings += dependency_warnings([res for *_, res in locks])
    if the_sbom is not None:
        inputs.byproducts.append(the_sbom.byproduct())
    st = provenance_statement(repo, subjects, commit_id, note, ctx, ref, started, inputs)
    lines = [envelope_line(st, signer)]
    if the_sbom is not None:
        lines.append(envelope_line(sbom_statement(st["subject"], the_sbom), signer))
    return Attestation(lines, warnings)


def _work_tree_policy(repo: Repo, warnings: list[str]) -> Policy:
    """The policy the annotations' status is judged by: the work tree's, or none (nothing trusted)."""
    from srcprov.trust.policy import Policy, load_policy

    try:
        return load_policy(repo)
    except SrcprovError as e:
        warnings.append(f"{e}; the note's status is judged with no trusted signer")
        return Policy(source="none")
