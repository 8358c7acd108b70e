"""Build attestations: an in-toto Statement v1 with an SLSA Provenance v1 predicate that names the
commit and its signed records, and the verification of that chain from an artifact back to signers."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from srcprov.errors import SrcprovError
from srcprov.model.dsse import PAYLOAD_TYPE, SLSA_PROVENANCE, Envelope, Malformed, parse_envelope, parse_statement, statement
from srcprov.model.status import CommitStatus
from srcprov.model.timefmt import utc_now
from srcprov.model.urls import clean_url  # here too for srcprov.attest.provenance.clean_url's importers

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.signing import Signer
    from srcprov.trust.policy import Policy

BUILD_TYPE = "urn:srcprov:build:v1"
BUNDLE_MEDIA_TYPE = "application/vnd.in-toto.bundle"
LINKS = ("signature", "subject", "commit", "note", "policy")


# --- where the build runs ---------------------------------------------------------------------
@dataclass(frozen=True)
class BuildContext:
    """What the CI's environment says about this build; nothing else is copied from it."""

    ci: str  # github | gitlab | generic | local
    builder_id: str
    invocation_id: str = ""
    repository_url: str | None = None
    ref: str | None = None
    started_on: str | None = None
    workflow: dict[str, str] = field(default_factory=dict)
    ref_commit: str | None = None  # the commit the CI's ref points at (GITHUB_SHA)


# Generic CI systems: variables naming a build (never a token; URLs are cleaned).
_GENERIC_INVOCATION = ("BUILD_URL", "BUILDKITE_BUILD_URL", "CIRCLE_BUILD_URL", "CI_BUILD_URL", "BUILD_ID",
                       "CI_BUILD_ID", "BUILD_NUMBER")


def build_context(env: Mapping[str, str], builder_id: str | None = None) -> BuildContext:
    """The builder, invocation and source location from GitHub Actions, GitLab CI or a generic CI."""
    g = env.get
    if g("GITHUB_ACTIONS") == "true" and g("GITHUB_REPOSITORY"):
        server = clean_url(g("GITHUB_SERVER_URL") or "https://github.com")
        repo_url = f"{server}/{g('GITHUB_REPOSITORY')}"
        wf_ref = g("GITHUB_WORKFLOW_REF", "")  # owner/repo/.github/workflows/x.yml@refs/heads/main
        run = f"{repo_url}/actions/runs/{g('GITHUB_RUN_ID', '')}"
        if g("GITHUB_RUN_ATTEMPT"):
            run += f"/attempts/{g('GITHUB_RUN_ATTEMPT')}"
        workflow = {}
        if wf_ref:
            path, _, wf_at = wf_ref.partition("@")
            workflow = {"ref": wf_at, "repository": repo_url, "path": path.split("/", 2)[-1]}
        return BuildContext(
            "github",
            builder_id or (f"{server}/{wf_ref}" if wf_ref else f"{repo_url}/actions"),
            run,
            repo_url,
            g("GITHUB_REF") or None,
            None,
            workflow,
            g("GITHUB_SHA") or None,
        )
    if g("GITLAB_CI") == "true" and g("CI_PROJECT_PATH"):
        server = clean_url(g("CI_SERVER_URL") or "https://gitlab.com")
        repo_url = clean_url(g("CI_PROJECT_URL") or f"{server}/{g('CI_PROJECT_PATH')}")
        if g("CI_MERGE_REQUEST_REF_PATH"):
            ref = g("CI_MERGE_REQUEST_REF_PATH")
        elif g("CI_COMMIT_TAG"):
            ref = f"refs/tags/{g('CI_COMMIT_TAG')}"
        elif g("CI_COMMIT_BRANCH") or g("CI_COMMIT_REF_NAME"):
            ref = f"refs/heads/{g('CI_COMMIT_BRANCH') or g('CI_COMMIT_REF_NAME')}"
        else:
            ref = None
        job = clean_url(g("CI_JOB_URL") or f"{repo_url}/-/jobs/{g('CI_JOB_ID', '')}")
        runner = f"{server}/{g('CI_PROJECT_PATH')}/-/runners/{g('CI_RUNNER_ID')}" if g("CI_RUNNER_ID") else f"{server}/-/runners"
        workflow = {k: v for k, v in {"pipeline": clean_url(g("CI_PIPELINE_URL", "")) if g("CI_PIPELINE_URL") else "",
                                      "pipelineId": g("CI_PIPELINE_ID", ""), "configPath": g("CI_CONFIG_PATH", ""),
                                      "job": g("CI_JOB_NAME", "")}.items() if v}
        return BuildContext("gitlab", builder_id or runner, job, repo_url, ref, g("CI_JOB_STARTED_AT") or None, workflow)
    invocation = next((g(k, "") for k in _GENERIC_INVOCATION if g(k)), "")
    if "://" in invocation:
        invocation = clean_url(invocation)
    ci = "generic" if g("CI") or invocation else "local"
    return BuildContext(ci, builder_id or g("SRCPROV_BUILDER_ID") or f"urn:srcprov:builder:{ci}", invocation)


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


def git_uri(url: str, ref: str) -> str:
    """An SPDX-style VCS locator: `git+<url>@<ref>`."""
    return f"git+{url}@{ref}"


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


def provenance_statement(
    repo: Repo,
    subjects: Sequence[tuple[str, str]],
    commit_id: str,
    note: NoteFacts | None,
    ctx: BuildContext,
    ref: str,
    started_on: str,
) -> dict[str, Any]:
    """The SLSA Provenance v1 statement for SUBJECTS ((name, sha256) pairs) built from COMMIT_ID."""
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
    external: dict[str, Any] = {"source": source}
    if ctx.workflow:
        external["workflow"] = dict(ctx.workflow)
    metadata = {"invocationId": ctx.invocation_id, "startedOn": ctx.started_on or started_on, "finishedOn": utc_now()}
    if not metadata["invocationId"]:
        # No CI names this run: a fresh id still tells two local builds of one commit apart.
        import uuid

        metadata["invocationId"] = f"urn:uuid:{uuid.uuid4()}"
    predicate = {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": external,
            "internalParameters": {},
            "resolvedDependencies": deps,
        },
        "runDetails": {"builder": {"id": ctx.builder_id}, "metadata": metadata},
    }
    return statement([{"name": n, "digest": {"sha256": d}} for n, d in subjects], SLSA_PROVENANCE, predicate)


def envelope_line(st: dict[str, Any], signer: Signer | None) -> bytes:
    """The statement as a DSSE envelope line: signed by SIGNER, or with no signatures."""
    from srcprov.model.dsse import statement_bytes
    from srcprov.recording.statements import sign_statement

    if signer is not None:
        return sign_statement(st, signer)
    return Envelope(PAYLOAD_TYPE, statement_bytes(st), ()).to_line()


def attest(
    repo: Repo,
    subject_files: Sequence[str],
    rev: str = "HEAD",
    builder_id: str | None = None,
    sign: bool = True,
    env: Mapping[str, str] | None = None,
) -> bytes:
    """The build attestation for SUBJECT_FILES built from REV: one DSSE envelope line (no newline)."""
    from srcprov.recording.signer import make_signer

    started = utc_now()
    if not subject_files:
        raise SrcprovError("attest needs at least one --subject FILE")
    subjects = [(subject_name(p), file_digest(p)) for p in subject_files]
    names = [n for n, _ in subjects]
    if len(set(names)) != len(names):
        raise SrcprovError("two --subject files have the same name")
    commit_id = str(repo.resolve_commit(rev).id)
    signer = make_signer(repo) if sign else None
    ctx = build_context(os.environ if env is None else env, builder_id)
    policy = _work_tree_policy(repo)
    note = note_facts(repo, policy, commit_id)
    if note is None:
        print(f"srcprov: warning: {commit_id[:12]} has no srcprov note in {repo.notes_ref}: the attestation "
              "cannot name its records (fetch the notes, or `srcprov record`)", file=sys.stderr)
    st = provenance_statement(repo, subjects, commit_id, note, ctx, source_ref(repo, commit_id, rev, ctx), started)
    return envelope_line(st, signer)


def _work_tree_policy(repo: Repo) -> Policy:
    """The policy the annotations' status is judged by: the work tree's, or none (nothing trusted)."""
    from srcprov.trust.policy import Policy, load_policy

    try:
        return load_policy(repo)
    except SrcprovError as e:
        print(f"srcprov: warning: {e}; the note's status is judged with no trusted signer", file=sys.stderr)
        return Policy(source="none")


# --- verification ------------------------------------------------------------------------------
@dataclass
class Link:
    link: str
    ok: bool | None  # None: not checked (an earlier link broke)
    detail: str = ""


@dataclass
class ChainResult:
    links: list[Link]
    commit: str | None = None
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> Iterator[str]:
        """Each link, then the verdict."""
        for link in self.links:
            mark = "ok  " if link.ok else ("FAIL" if link.ok is False else "--  ")
            yield f"{mark} {link.link}: {link.detail}"
        yield "attestation verified" if self.ok else f"FAILED: broken link: {self.broken}"

    @property
    def ok(self) -> bool:
        """True when every link holds."""
        return all(link.ok for link in self.links)

    @property
    def broken(self) -> str | None:
        """The first link that broke, or None."""
        return next((link.link for link in self.links if link.ok is False), None)

    def to_json(self) -> dict[str, Any]:
        """`verify-attestation --json`."""
        return {"ok": self.ok, "commit": self.commit, "brokenLink": self.broken,
                "links": [{"link": x.link, "ok": x.ok, "detail": x.detail} for x in self.links]}


class _Broken(Exception):
    def __init__(self, link: str, detail: str) -> None:
        super().__init__(detail)
        self.link, self.detail = link, detail


def load_attestation(path: str) -> tuple[Envelope, dict[str, Any]]:
    """The SLSA provenance envelope and statement in an attestation file; SrcprovError (exit 2) when it is not one.

    The file is one DSSE envelope, or a bundle (JSON Lines, one envelope a line, e.g. the provenance and a
    CycloneDX SBOM statement): every line must be an envelope holding an in-toto statement, and exactly one
    of them SLSA provenance.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise SrcprovError(f"cannot read {path}: {e.strerror}") from None
    found = [(n, env, st) for n, env, st in _bundle_statements(path, data) if st["predicateType"] == SLSA_PROVENANCE]
    if len(found) != 1:
        many = f"{len(found)} SLSA provenance statements, not one" if found else "no SLSA provenance statement"
        raise SrcprovError(f"{path} holds {many}")
    n, env, st = found[0]
    pred = st["predicate"]
    deps = pred.get("buildDefinition", {}).get("resolvedDependencies") if isinstance(pred.get("buildDefinition"), dict) else None
    if not isinstance(deps, list) or not deps or not all(isinstance(d, dict) for d in deps):
        raise SrcprovError(f"{path}:{n}: the provenance has no resolvedDependencies")
    return env, st


def _bundle_statements(path: str, data: bytes) -> list[tuple[int, Envelope, dict[str, Any]]]:
    """(line number, envelope, statement) of each line of a bundle; one entry for a whole-file envelope
    (e.g. pretty-printed). SrcprovError when a non-blank line is not an envelope holding a statement."""
    lines = [(n, ln) for n, ln in enumerate(data.splitlines(), 1) if ln.strip()]
    if not lines:
        raise SrcprovError(f"{path} is empty, not a DSSE envelope")
    if len(lines) > 1:
        try:
            parse_envelope(data)
            lines = [(1, data)]  # one envelope over several lines (pretty-printed)
        except Malformed:
            pass  # JSON Lines
    out = []
    for n, line in lines:
        try:
            env = parse_envelope(line)
            out.append((n, env, parse_statement(env)))
        except Malformed as e:
            where = f"{path}:{n}" if len(lines) > 1 else path
            raise SrcprovError(f"{where} is not a DSSE envelope holding an in-toto statement: {e}") from None
    return out


def verify_attestation(
    repo: Repo, path: str, subject_files: Sequence[str], policy: Policy
) -> ChainResult:
    """Check the chain artifact -> attestation -> commit -> note -> signers, in the SPEC's order."""
    from srcprov.trust.verify import Verifier

    if not subject_files:
        raise SrcprovError("verify-attestation needs at least one --subject FILE")
    env, st = load_attestation(path)
    digests = [(p, file_digest(p)) for p in subject_files]  # bad input (exit 2) before any verdict
    done: list[Link] = []
    result = ChainResult(done)
    with Verifier(repo, policy) as verifier:
        checks = [
            ("signature", lambda: _check_signature(verifier, policy, env, _stated_time(st))),
            ("subject", lambda: _check_subjects(st, digests)),
            ("commit", lambda: _check_commit(repo, st, result)),
            ("note", lambda: _check_note(repo, st, result.commit or "")),
            ("policy", lambda: _check_policy(repo, policy, result.commit or "", verifier)),
        ]
        for name, check in checks:
            if result.broken:
                done.append(Link(name, None, "not checked"))
                continue
            try:
                done.append(Link(name, True, check()))
            except _Broken as b:
                done.append(Link(b.link, False, b.detail))
    return result


def _stated_time(st: dict[str, Any]) -> int | None:
    """When the attestation says the build finished (else started): the time of an SSH or PEM signature, which
    states none itself. Like an OpenPGP signature's own time, it is the signer's word."""
    from srcprov.model.timefmt import parse_rfc3339

    meta = _dict_or_empty(_dict_or_empty(_dict_or_empty(st.get("predicate")).get("runDetails")).get("metadata"))
    for key in ("finishedOn", "startedOn"):
        at = parse_rfc3339(meta.get(key)) if isinstance(meta.get(key), str) else None
        if at is not None:
            return int(at.timestamp())
    return None


def _check_signature(verifier: Any, policy: Policy, env: Envelope, stated: int | None = None) -> str:
    if not env.signatures:
        raise _Broken("signature", "the attestation is not signed")
    j = verifier.judge_envelope(env, ("builder",), signed_at=stated)
    if not j.trusted:
        raise _Broken("signature", j.reason or "no valid signature")
    return f"signed by {j.keyid} ({j.signer.name or 'builder'}, role builder)"


def _check_subjects(st: dict[str, Any], digests: Sequence[tuple[str, str]]) -> str:
    attested: dict[str, str] = {}
    for s in st["subject"]:
        d = s.get("digest", {}).get("sha256")
        if isinstance(d, str):
            attested.setdefault(d.lower(), str(s.get("name", "")))
    for path, digest in digests:
        if digest not in attested:
            names = ", ".join(sorted(set(attested.values()))) or "none"
            raise _Broken("subject", f"{path}: sha256 {digest[:16]}... is not attested (attested: {names})")
    return ", ".join(f"{p} = {attested[d]}" for p, d in digests)


def _dict_or_empty(value: object) -> dict[str, Any]:
    """VALUE when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _dependencies(st: dict[str, Any]) -> list[dict[str, Any]]:
    """resolvedDependencies (load_attestation made sure it is a non-empty list of objects)."""
    deps: list[dict[str, Any]] = st["predicate"]["buildDefinition"]["resolvedDependencies"]
    return deps


def _git_commit(entry: object) -> object:
    """The `digest.gitCommit` a resource descriptor names, or None."""
    return _dict_or_empty(_dict_or_empty(entry).get("digest")).get("gitCommit")


def _short(value: object) -> str:
    """An attacker-chosen value, cut short for a message."""
    text = str(value)
    return text if len(text) <= 72 else text[:69] + "..."


def _check_commit(repo: Repo, st: dict[str, Any], result: ChainResult) -> str:
    import pygit2

    deps = _dependencies(st)
    commit_id = _git_commit(deps[0])  # resolvedDependencies[0] IS the source: never searched for by name
    if not isinstance(commit_id, str) or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit_id):
        raise _Broken("commit", "the attestation names no source commit (resolvedDependencies[0].digest.gitCommit)")
    # Any other commit named anywhere would be the source to some other consumer (a decoy).
    external = _dict_or_empty(_dict_or_empty(st["predicate"]["buildDefinition"].get("externalParameters")).get("source"))
    named = [(f"resolvedDependencies[{i}]", _git_commit(d)) for i, d in enumerate(deps[1:], 1)]
    named.append(("externalParameters.source", _git_commit(external)))
    for where, other in named:
        if other is not None and other != commit_id:
            raise _Broken("commit", f"{where} names commit {_short(other)}, not the source {commit_id} "
                                    "(resolvedDependencies[0])")
    result.commit = commit_id
    try:
        obj = repo.pg[commit_id]
    except (KeyError, ValueError):
        obj = None
    if not isinstance(obj, pygit2.Commit):
        raise _Broken("commit", f"commit {commit_id} is not in this repository (fetch it?)")
    return f"{commit_id} ({_short(deps[0].get('uri', ''))})"


def notes_history_refs(repo: Repo) -> list[str]:
    """The notes ref and the tracking refs `sync` fetches into: where an attested note may be found."""
    out = [repo.notes_ref] if repo.notes_ref in repo.pg.references else []
    out += sorted(r for r in repo.pg.references if r.startswith("refs/notes/remotes/"))
    return out


def note_in_history(repo: Repo, commit_id: str, blob: str) -> bool:
    """True when BLOB was COMMIT_ID's (unambiguous) note at some commit of the notes ref's history."""
    from srcprov.notes import list_notes

    refs = notes_history_refs(repo)
    if not refs:
        return False
    ids = repo.git("rev-list", *refs, "--").stdout.decode().split()
    for nid in ids:
        entry = list_notes(repo, at=nid, only=[commit_id]).get(commit_id)
        if entry is not None and entry.blob == blob:
            return True
    return False


def _check_note(repo: Repo, st: dict[str, Any], commit_id: str) -> str:
    from srcprov.notes import MAX_NOTE_BYTES, blob_size, commit_note, note_lines

    # The note is the entry with the bundle mediaType and annotations.subjectGitCommit (never found by name).
    notes = [d for d in _dependencies(st) if d.get("mediaType") == BUNDLE_MEDIA_TYPE
             and "subjectGitCommit" in _dict_or_empty(d.get("annotations"))]
    if not notes:
        raise _Broken("note", f"the attestation names no note (no dependency with mediaType {BUNDLE_MEDIA_TYPE} "
                              "and annotations.subjectGitCommit; the commit had no records?)")
    if len(notes) > 1:
        raise _Broken("note", f"the attestation names {len(notes)} notes, not one")
    dep = notes[0]
    subject_commit = dep["annotations"]["subjectGitCommit"]
    if subject_commit != commit_id:
        raise _Broken("note", f"the note names commit {_short(subject_commit)}, not the source {commit_id}")
    digest = _dict_or_empty(dep.get("digest"))
    blob, sha = digest.get("gitBlob"), digest.get("sha256")
    if not isinstance(blob, str) or not isinstance(sha, str):
        raise _Broken("note", "the note has no gitBlob and sha256 digest")
    if not note_in_history(repo, commit_id, blob):
        raise _Broken("note", f"note {blob[:12]} was never the note of {commit_id[:12]} in {repo.notes_ref} "
                              "(fetch the notes ref?)")
    if blob_size(repo, blob) > MAX_NOTE_BYTES:
        raise _Broken("note", f"note {blob[:12]} is over 4 MiB (malformed, unread)")
    data = repo.blob_data(blob)
    if hashlib.sha256(data).hexdigest() != sha.lower():
        raise _Broken("note", f"note {blob[:12]} does not hash to the attested sha256")
    note = commit_note(repo, commit_id)
    if note.malformed:
        raise _Broken("note", f"the commit's current note is malformed ({note.malformed})")
    current = set(note.lines)
    attested = note_lines(data)
    gone = [ln for ln in attested if ln not in current]
    if gone:
        raise _Broken("note", f"{len(gone)} of the {len(attested)} attested record(s) are no longer in the "
                              f"commit's current note (replaced or removed)")
    added = len(current) - len(set(attested))
    return f"note {blob[:12]} still stands" + (f" ({added} record(s) added since)" if added > 0 else "")


def _check_policy(repo: Repo, policy: Policy, commit_id: str, verifier: Any) -> str:
    from srcprov.trust.verify import verdict_ok, verify_commits

    cr = verify_commits(repo, policy, [commit_id], verifier=verifier)[0]
    if not verdict_ok([cr]) or cr.status != CommitStatus.VERIFIED:  # a commit `since` exempts still has no verified record
        raise _Broken("policy", f"{commit_id[:12]} is {cr.status} under policy {policy.source}"
                                + (f": {cr.reason}" if cr.reason else ""))
    return f"{commit_id[:12]} {cr.status} under policy {policy.source}"
