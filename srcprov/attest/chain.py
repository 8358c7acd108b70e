"""`verify-attestation`: the chain from an artifact back to trusted signers (signature, subject, commit, note,
policy), each link named, the first that breaks reported. A bundle's every statement must be signed by a
builder, and the SBOM statement must name the provenance's subjects."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srcprov.attest.provenance import BUNDLE_MEDIA_TYPE, LINKS, file_digest  # noqa: F401  (LINKS: the names below)
from srcprov.errors import SrcprovError
from srcprov.model.dsse import SLSA_PROVENANCE, Envelope, Malformed, parse_envelope, parse_statement
from srcprov.model.statements import SlsaProvenance, slsa_provenance
from srcprov.model.status import CommitStatus

if TYPE_CHECKING:
    from srcprov.git import Repo
    from srcprov.trust.policy import Policy


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


@dataclass
class Bundle:
    """An attestation file: the SLSA provenance, and the bundle's other statements (e.g. the SBOM's)."""

    envelope: Envelope
    statement: dict[str, Any]
    others: list[tuple[int, Envelope, dict[str, Any]]]  # (line number, envelope, statement)
    provenance: SlsaProvenance  # the statement's predicate, typed once


def load_bundle(path: str) -> Bundle:
    """The statements of an attestation file; SrcprovError (exit 2) when it is not one.

    The file is one DSSE envelope, or a bundle (JSON Lines, one envelope a line, e.g. the provenance and a
    CycloneDX SBOM statement): every line must be an envelope holding an in-toto statement, and exactly one
    of them SLSA provenance.
    """
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise SrcprovError(f"{path} is a directory, not an attestation") from None
    except OSError as e:
        raise SrcprovError(f"cannot read {path}: {e.strerror}") from None
    statements = _bundle_statements(path, data)
    found = [(n, env, st) for n, env, st in statements if st["predicateType"] == SLSA_PROVENANCE]
    if len(found) != 1:
        many = f"{len(found)} SLSA provenance statements, not one" if found else "no SLSA provenance statement"
        raise SrcprovError(f"{path} holds {many}")
    n, env, st = found[0]
    try:
        provenance = slsa_provenance(st["predicate"])
    except Malformed as e:
        raise SrcprovError(f"{path}:{n}: {e}") from None
    return Bundle(env, st, [x for x in statements if x[0] != n], provenance)


def load_attestation(path: str) -> tuple[Envelope, dict[str, Any]]:
    """The SLSA provenance envelope and statement in an attestation file (see load_bundle)."""
    b = load_bundle(path)
    return b.envelope, b.statement


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
    bundle = load_bundle(path)
    st = bundle.statement
    digests = [(p, file_digest(p)) for p in subject_files]  # bad input (exit 2) before any verdict
    done: list[Link] = []
    result = ChainResult(done)
    with Verifier(repo, policy) as verifier:
        checks = [
            ("signature", lambda: _check_signatures(verifier, bundle)),
            ("subject", lambda: _check_subjects(st, digests) + _check_bundle_subjects(bundle)),
            ("commit", lambda: _check_commit(repo, bundle.provenance, result)),
            ("note", lambda: _check_note(repo, bundle.provenance, result.commit or "")),
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


def stated_time(st: dict[str, Any]) -> int | None:
    """When the attestation says the build finished (else started): the time of an SSH or PEM signature, which
    states none itself. Like an OpenPGP signature's own time, it is the signer's word."""
    from srcprov.model.timefmt import parse_rfc3339

    meta = _dict_or_empty(_dict_or_empty(_dict_or_empty(st.get("predicate")).get("runDetails")).get("metadata"))
    for key in ("finishedOn", "startedOn"):
        at = parse_rfc3339(meta.get(key)) if isinstance(meta.get(key), str) else None
        if at is not None:
            return int(at.timestamp())
    return None


def _check_signature(verifier: Any, env: Envelope, what: str = "the attestation", stated: int | None = None) -> str:
    if not env.signatures:
        raise _Broken("signature", f"{what} is not signed")
    j = verifier.judge_envelope(env, ("builder",), signed_at=stated)
    if not j.trusted:
        raise _Broken("signature", f"{what}: {j.reason or 'no valid signature'}" if what != "the attestation"
                      else (j.reason or "no valid signature"))
    return f"signed by {j.keyid} ({j.signer.name or 'builder'}, role builder)"


def _check_signatures(verifier: Any, bundle: Bundle) -> str:
    """Every statement of the bundle is signed by a builder (an unsigned SBOM line could say anything)."""
    stated = stated_time(bundle.statement)  # the bundle's other statements (an SBOM) state no time of their own
    detail = _check_signature(verifier, bundle.envelope, stated=stated)
    for n, env, st in bundle.others:
        _check_signature(verifier, env, f"statement {n} ({_short(st['predicateType'])})", stated)
    if bundle.others:
        detail += f"; {len(bundle.others)} more statement(s) signed by a builder"
    return detail


def _subject_set(st: dict[str, Any]) -> set[tuple[str, str]]:
    return {(str(s.get("name", "")), str(_dict_or_empty(s.get("digest")).get("sha256", "")).lower()) for s in st["subject"]}


def _check_bundle_subjects(bundle: Bundle) -> str:
    """The bundle's other statements (the SBOM's) are about the provenance's subjects, no more, no fewer."""
    want = _subject_set(bundle.statement)
    for n, _env, st in bundle.others:
        if _subject_set(st) != want:
            raise _Broken("subject", f"statement {n} ({_short(st['predicateType'])}) names other subjects than the provenance")
    return f"; the {len(bundle.others)} other statement(s) name the same subjects" if bundle.others else ""


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


def _short(value: object) -> str:
    """An attacker-chosen value, cut short for a message."""
    text = str(value)
    return text if len(text) <= 72 else text[:69] + "..."


def _check_commit(repo: Repo, prov: SlsaProvenance, result: ChainResult) -> str:
    import pygit2

    deps = prov.resolved_dependencies
    commit_id = deps[0].git_commit  # resolvedDependencies[0] IS the source: never searched for by name
    if not isinstance(commit_id, str) or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit_id):
        raise _Broken("commit", "the attestation names no source commit (resolvedDependencies[0].digest.gitCommit)")
    # Any other commit named anywhere would be the source to some other consumer (a decoy).
    named = [(f"resolvedDependencies[{i}]", d.git_commit) for i, d in enumerate(deps[1:], 1)]
    named.append(("externalParameters.source", prov.source_parameter.git_commit))
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
    return f"{commit_id} ({_short(deps[0].raw.get('uri', ''))})"


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


def _check_note(repo: Repo, prov: SlsaProvenance, commit_id: str) -> str:
    from srcprov.notes import MAX_NOTE_BYTES, blob_size, commit_note, note_lines

    # The note is the entry with the bundle mediaType and annotations.subjectGitCommit (never found by name).
    notes = [d for d in prov.resolved_dependencies if d.media_type == BUNDLE_MEDIA_TYPE and "subjectGitCommit" in d.annotations]
    if not notes:
        raise _Broken("note", f"the attestation names no note (no dependency with mediaType {BUNDLE_MEDIA_TYPE} "
                              "and annotations.subjectGitCommit; the commit had no records?)")
    if len(notes) > 1:
        raise _Broken("note", f"the attestation names {len(notes)} notes, not one")
    dep = notes[0]
    subject_commit = dep.annotations["subjectGitCommit"]
    if subject_commit != commit_id:
        raise _Broken("note", f"the note names commit {_short(subject_commit)}, not the source {commit_id}")
    blob, sha = dep.digest.get("gitBlob"), dep.digest.get("sha256")
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
