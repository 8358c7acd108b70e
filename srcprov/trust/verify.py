"""Statuses for records and commits under a policy: many commits in one pass, in process, cached."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from srcprov.errors import SrcprovError
from srcprov.model.commit import commit_facts
from srcprov.model.dsse import COMMIT_PROVENANCE, REVIEW, SOURCE_PROVENANCE, Envelope, Malformed, parse_envelope
from srcprov.model.evidence import FORMATS as EVIDENCE_FORMATS
from srcprov.model.statements import (
    CommitFacts,
    CommitProvenance,
    Person,
    PredicateMalformed,
    Review,
    SourceProvenance,
    Typed,
    parse,
)
from srcprov.model.status import RANK, CommitStatus, RecordStatus
from srcprov.model.timefmt import parse_rfc3339
from srcprov.notes import NoteEntry, blob_sizes, list_notes, load_note, note_lines
from srcprov.signing import SigStatus
from srcprov.trust.judge import Judgement, best_judgement, judge_signature

if TYPE_CHECKING:
    import pygit2

    from srcprov.git import Repo
    from srcprov.signing import KeyState, SigCheck, SignatureVerifier
    from srcprov.trust.policy import Policy

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
RECORD_STATUSES = tuple(str(s) for s in RecordStatus)
PREDICATES = (COMMIT_PROVENANCE, REVIEW, SOURCE_PROVENANCE)


def record_facts(rec: Typed) -> dict[str, Any]:
    """What commit statuses, the report and the Source VSA need of a record: small enough to cache."""
    if isinstance(rec, CommitProvenance):
        attribution = rec.attribution or {}
        lines = attribution.get("lines", {})
        out = {"trigger": rec.trigger, "origin": rec.origin, "merge": len(rec.commit.parents) > 1,
               "checks": {c.name: c.exit_code for c in rec.checks},
               "aiLines": lines.get("ai", 0) + lines.get("mixed", 0)}
        if attribution.get("format") in EVIDENCE_FORMATS and SHA256_HEX.fullmatch(attribution.get("sha256", "")):
            out["evidence"] = [attribution["format"], attribution["sha256"]]  # what the report may map lines by
        return out
    if isinstance(rec, SourceProvenance):
        return {"ref": rec.ref, "before": rec.before,
                "controls": {c.name: [c.since, c.since_commit] for c in rec.controls}}
    return {"email": rec.reviewer.email, "at": rec.reviewed_at, "verdict": rec.verdict}


@dataclass
class RecordResult:
    line: bytes | None  # None when the verdict came from the cache and nobody asked for the bytes
    status: RecordStatus
    predicate_type: str | None = None
    signer: str | None = None
    reason: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    stable_until: int | None = None  # the verdict may change at this time (a key's or signer's end)
    _statement: dict[str, Any] | None = None
    typed: Typed | None = None  # set when this run parsed the record (not from the cache)

    @property
    def statement(self) -> dict[str, Any] | None:
        """The decoded statement of a well-formed record (None for a malformed one)."""
        if self._statement is None and self.line is not None and self.status != RecordStatus.MALFORMED:
            # These bytes passed the strict parser when their verdict was reached; a plain decode suffices.
            self._statement = json.loads(base64.b64decode(json.loads(self.line)["payload"]))
        return self._statement

    @property
    def record(self) -> Typed | None:
        """The typed predicate of a well-formed srcprov record (read again from the bytes after a cached verdict)."""
        if self.typed is None and self.predicate_type in PREDICATES and self.statement is not None:
            from srcprov.model.statements import typed_predicate

            self.typed = typed_predicate(self.predicate_type, self.statement["predicate"])
        return self.typed

    def to_json(self, with_statement: bool = False) -> dict[str, Any]:
        """The record's entry in `verify --json` (and `show --json` with its statement)."""
        out: dict[str, Any] = {
            "predicateType": self.predicate_type,
            "status": self.status,
            "signer": self.signer,
            "reason": self.reason,
        }
        if with_statement:
            out["statement"] = self.statement
        return out


@dataclass
class CommitResult:
    commit: str
    status: CommitStatus
    records: list[RecordResult] = field(default_factory=list)
    required: bool = True
    reason: str = ""
    note_blob: str | None = None

    @property
    def best(self) -> RecordResult | None:
        """The commit-provenance record that decides the commit's status."""
        cps = [r for r in self.records if r.predicate_type == COMMIT_PROVENANCE]
        if not cps:
            # A record too broken to say what it is may have been the commit's provenance: a note
            # of garbage is `malformed`, never quietly `missing`.
            cps = [r for r in self.records if r.predicate_type is None]
        # Among equals, a record made when the commit was (not backfilled) is the better evidence, and then
        # one that binds line-level evidence (an amend's post-rewrite record beside its post-commit one).
        return min(cps, key=lambda r: (RANK[r.status], r.facts.get("trigger") == "backfill", "evidence" not in r.facts),
                   default=None)

    def load_lines(self, repo: Repo) -> None:
        """Read the record bytes that a cached verdict left out (for `show`)."""
        if self.note_blob is None or all(r.line is not None for r in self.records):
            return
        lines = dict.fromkeys(note_lines(repo.blob_data(self.note_blob)))  # as load_note orders them
        for r, line in zip(self.records, lines, strict=False):
            r.line = line

    def to_json(self, with_statement: bool = False) -> dict[str, Any]:
        """The commit's entry in `verify --json`."""
        return {
            "commit": self.commit,
            "status": self.status,
            "required": self.required,
            "reason": self.reason,
            "records": [r.to_json(with_statement) for r in self.records],
        }


def _same_person(recorded: Person, actual: dict[str, str]) -> bool:
    if recorded.name != actual["name"] or recorded.email != actual["email"]:
        return False
    a, b = parse_rfc3339(recorded.time), parse_rfc3339(actual["time"])
    return a is not None and b is not None and a == b and a.utcoffset() == b.utcoffset()


def content_difference(rec: CommitFacts, commit: pygit2.Commit) -> str | None:
    """What of the commit a record's `commit` object gets wrong, or None."""
    facts = commit_facts(commit)
    if rec.tree != facts["tree"]:
        return "tree differs from the commit"
    if list(rec.parents) != facts["parents"]:
        return "parents differs from the commit"
    for key, person in (("author", rec.author), ("committer", rec.committer)):
        if not _same_person(person, facts[key]):
            return f"{key} differs from the commit"
    return None


def roles_for(rec: Typed) -> tuple[str, ...]:
    """The roles that may sign a record: authors their commits, maintainers backfill and repair, source the forge's
    commits and branch updates."""
    if isinstance(rec, Review):
        return ("reviewer",)
    if isinstance(rec, SourceProvenance):
        return ("source",)
    trigger = rec.trigger
    if trigger == "forge":
        return ("source",)
    if trigger in ("backfill", "repair"):
        return ("maintainer", "author")
    return ("author",)


class Verifier:
    """Checks records against a policy, in process: signatures through the policy's keys only."""

    def __init__(self, repo: Repo, policy: Policy) -> None:
        self.repo = repo
        self.policy = policy
        self._verifiers: dict[str, SignatureVerifier] = {}
        self._protected: set[str] | None = None
        self._now = int(time.time())
        self._batch: set[str] = set()  # the commits whose records are being checked (for first_held's one walk)
        self._held: dict[tuple[str, bytes], int] | None = None
        self._held_for: set[str] = set()
        self._merged_states: dict[str, KeyState] = {}
        self._states_of = 0

    def in_protected_history(self, commit: str) -> bool:
        """Whether COMMIT is the policy's revision or one of its ancestors (read once, when first asked)."""
        if self._protected is None:
            anchor = self.policy.anchor
            out = self.repo.git("rev-list", anchor, "--").stdout.decode().split() if anchor else []
            self._protected = set(out)
        return commit in self._protected

    def close(self) -> None:
        """Nothing to release (kept for callers that use it as a context manager)."""

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def signatures(self, kind: str = "openpgp") -> SignatureVerifier:
        """The verifier of KIND holding the policy's keys of that kind (made on first use)."""
        if kind not in self._verifiers:
            from srcprov.signing import verifier_for

            self._verifiers[kind] = verifier_for(kind, self.policy.keys_of_kind(kind))
        return self._verifiers[kind]

    def check_signatures(self, env: Envelope) -> list[SigCheck]:
        """What each of an envelope's signatures is over its PAE, each checked by the verifier of the kind its
        keyid names (an unauthenticated hint: a signature of another kind fails there)."""
        from srcprov.signing import kind_of_keyid

        data = env.pae()
        return [self.signatures(kind_of_keyid(s.keyid)).verify(data, s.sig, s.keyid) for s in env.signatures]

    def _states(self) -> Mapping[str, KeyState]:
        """Lifecycle facts of every key of the verifiers made so far (the checks being judged came from them)."""
        if self._states_of != len(self._verifiers):
            self._merged_states = {k: st for v in self._verifiers.values() for k, st in v.key_states.items()}
            self._states_of = len(self._verifiers)
        return self._merged_states

    def first_held(self, commit: str, line: bytes) -> int | None:
        """The time of the notes commit that first held LINE in COMMIT's note (SSH and PEM signatures state no
        time of their own), or None. The notes history is walked once, for every commit of the batch."""
        if self._held is None or commit.lower() not in self._held_for:
            from srcprov.notes import first_held_times

            self._held_for = set(self._batch) | {commit.lower()}
            self._held = first_held_times(self.repo, self._held_for)
        return self._held.get((commit.lower(), line))

    def judge_envelope(self, env: Envelope, roles: tuple[str, ...], *, email: str | None = None,
                       not_before: int | None = None, signed_at: int | None = None) -> Judgement:
        """The best verdict among an envelope's signatures for ROLES (an attestation: no commit it describes).

        SIGNED_AT stands for the time of signatures that state none (SSH, PEM): for an attestation, the time
        its signed statement gives (as an OpenPGP signature's own time, the signer's word)."""
        return self.judge_checks(self.check_signatures(env), roles, email=email, not_before=not_before,
                                 signed_at=signed_at)

    def judge_checks(self, checks: list[SigCheck], roles: tuple[str, ...], *, email: str | None = None,
                     not_before: int | None = None, commit: str | None = None,
                     signed_at: int | None = None) -> Judgement:
        """The best verdict among already verified signatures (of a record describing COMMIT, when given)."""
        states = self._states()

        def in_history() -> bool:
            return commit is not None and self.in_protected_history(commit)

        protected = in_history if self.policy.anchor is not None else None
        return best_judgement(judge_signature(self.policy, c, roles, states, email=email, not_before=not_before,
                                              signed_at=signed_at, now=self._now, protected=protected)
                              for c in checks)

    def check_lines(
        self, items: list[tuple[str, bytes]], progress: Callable[[int, int], None] | None = None
    ) -> list[RecordResult]:
        """A RecordResult for each (commit id it is attached to, record line)."""
        out = []
        self._batch = {cid.lower() for cid, _ in items}
        for i, (cid, line) in enumerate(items):
            out.append(self.check_line(cid, line))
            if progress is not None and (i + 1) % 200 == 0:
                progress(i + 1, len(items))
        if progress is not None and items:
            progress(len(items), len(items))
        return out

    def check_line(self, attached_to: str, line: bytes) -> RecordResult:
        """One record's status, as attached to the note of ATTACHED_TO."""
        import pygit2

        r = RecordResult(line, RecordStatus.MALFORMED)
        try:
            env = parse_envelope(line)
            stmt = parse(env, PREDICATES)
        except Malformed as e:
            r.reason = str(e)
            if isinstance(e, PredicateMalformed):
                r.predicate_type = e.predicate_type
            return r
        rec = stmt.typed
        assert rec is not None  # parse() types every predicate of PREDICATES
        r.predicate_type, r._statement, r.typed = stmt.predicate_type, stmt.document, rec
        r.facts = record_facts(rec)
        if not env.signatures:
            r.status, r.reason = RecordStatus.BAD_SIGNATURE, "record is not signed"
            return r
        roles = roles_for(rec)
        try:
            commit = self.repo.pg[attached_to]
            if not isinstance(commit, pygit2.Commit):
                commit = None
        except (KeyError, ValueError):
            commit = None
        not_before = commit.committer.time if commit is not None else None
        if isinstance(rec, CommitProvenance):
            email = commit.committer.raw_email.decode("utf-8", "backslashreplace") if commit is not None else None
        elif isinstance(rec, Review):
            email = rec.reviewer.email
        else:
            email = None  # a branch update speaks for no person
        checks = self.check_signatures(env)
        # SSH and PEM signatures state no time: theirs is the notes commit's that first held the record.
        signed_at = (self.first_held(attached_to, line)
                     if any(c.created is None and c.status != SigStatus.BAD for c in checks) else None)
        j = self.judge_checks(checks, roles, email=email, not_before=not_before, commit=attached_to,
                              signed_at=signed_at)
        email_problem = None
        if not j.trusted and not j.bad and email is not None:
            # Is it the signer, or only the identity the record speaks for? The latter ranks after
            # subject and content mismatches (a copied record is named as one).
            alone = self.judge_checks(checks, roles, not_before=not_before, commit=attached_to, signed_at=signed_at)
            if alone.trusted:
                email_problem, j = j.reason, alone
        r.signer = j.keyid
        if not j.trusted:
            r.status = RecordStatus.BAD_SIGNATURE if j.bad else RecordStatus.UNTRUSTED_SIGNER
            r.reason = j.reason
            return r
        subj = stmt.subject_commits()
        # A branch update describes the tip it moved the branch to.
        named_id = rec.commit.id if isinstance(rec, CommitProvenance) else rec.after if isinstance(
            rec, SourceProvenance) else rec.commit_id
        if attached_to not in subj or named_id != attached_to:
            r.status = RecordStatus.SUBJECT_MISMATCH
            named = named_id if named_id != attached_to else next((x for x in subj if x), "?")
            r.reason = f"record names {named[:12]}, not this commit"
            return r
        if commit is None:
            r.status, r.reason = RecordStatus.CONTENT_MISMATCH, "commit not in this repository"
            return r
        if isinstance(rec, CommitProvenance):
            diff = content_difference(rec.commit, commit)
        elif isinstance(rec, Review):
            diff = None if rec.tree == str(commit.tree_id) else "tree differs from the commit"
        else:
            diff = None
        if diff:
            r.status, r.reason = RecordStatus.CONTENT_MISMATCH, diff
            return r
        if email_problem:
            r.status, r.reason = RecordStatus.UNTRUSTED_SIGNER, email_problem
            return r
        r.status = RecordStatus.VERIFIED
        r.stable_until = j.stable_until
        return r


def required_commits(repo: Repo, policy: Policy, commits: list[str]) -> set[str]:
    """The commits the policy requires records for: all but require.since and its ancestors."""
    since = policy.require.since
    if not since or not commits:
        return set(commits)
    try:
        base = str(repo.resolve_commit(since).id)
    except SrcprovError as e:
        raise SrcprovError(f"policy [require] since: {e}") from None
    # Every commit not reachable from `since` needs a record, also one on a branch forked before it
    # and merged later (an --ancestry-path test would let such a branch through unrecorded).
    proc = repo.git("rev-list", "--stdin", input=(f"^{base}\n" + "\n".join(commits) + "\n").encode())
    outside = set(proc.stdout.decode().split())
    return {c for c in commits if c in outside}


def _approvals(cr: CommitResult, policy: Policy, people: set[str], provenance_signers: set[str | None]) -> int:
    """Approving reviews by reviewers other than the commit's author, one per person, the latest counting.

    PEOPLE are the commit's author and committer emails. A review does not count when its reviewer email is one
    of them, when the reviewer's policy entry lists one of them (the same person under another address), or when
    its key signed the commit's provenance. Reviews are grouped by reviewer email, so one person with two listed
    keys approves once; on equal times a rejection wins.
    """
    latest: dict[str, tuple[float, int, str]] = {}
    for r in cr.records:
        if r.predicate_type != REVIEW or r.status != RecordStatus.VERIFIED:
            continue
        email = r.facts["email"].lower()
        entry = policy.listed(r.signer)
        listed = {e.lower() for e in entry.emails} if entry is not None else set()
        if r.signer in provenance_signers or email in people or listed & people:
            continue  # a review by the commit's author does not count
        at = parse_rfc3339(r.facts["at"])
        when = at.timestamp() if at is not None else float("-inf")
        rank = (when, 1 if r.facts["verdict"] == "rejected" else 0, r.facts["verdict"])
        if email not in latest or latest[email][:2] < rank[:2]:
            latest[email] = rank
    return sum(1 for *_, verdict in latest.values() if verdict == "approved")


def _checks_problem(policy: Policy, ran: dict[str, int | None]) -> str | None:
    for c in policy.checks:
        if not c.required:
            continue
        if c.name not in ran:
            return f"required check {c.name!r} did not run before the commit"
        if ran[c.name] != 0:
            return f"required check {c.name!r} failed (exit code {ran[c.name]})"
    return None


def commit_status(repo: Repo, policy: Policy, cr: CommitResult) -> None:
    """Set a commit's status from its records' statuses and the policy's requirements."""
    best = cr.best
    if best is None:
        cr.status, cr.reason = CommitStatus.MISSING, "no commit-provenance record"
        return
    if best.status != RecordStatus.VERIFIED:
        cr.status, cr.reason = CommitStatus(best.status), best.reason
        return
    facts = best.facts
    if policy.require.backfilled == "deny" and facts["trigger"] == "backfill":
        cr.status, cr.reason = CommitStatus.BACKFILL_DENIED, "the policy denies backfilled records"
        return
    if not facts["merge"] and facts["trigger"] != "forge":
        problem = _checks_problem(policy, facts["checks"])
        if problem:
            cr.status, cr.reason = CommitStatus.UNCHECKED, problem
            return
    need = policy.require.reviews
    # Any verified record that says AI wrote some of it makes it AI work: a second record cannot unsay it.
    if any(_says_ai(r.facts) for r in cr.records
           if r.predicate_type == COMMIT_PROVENANCE and r.status == RecordStatus.VERIFIED):
        need = max(need, policy.require.ai_reviews)
    # The source key writes a forge record only for a commit derived from commits that verified, reviews
    # included: the pull request's reviews are the forge-made commit's.
    if need and facts["trigger"] != "forge":
        commit = repo.commit(cr.commit)
        people = {p.raw_email.decode("utf-8", "backslashreplace").lower() for p in (commit.author, commit.committer)}
        signers = {r.signer for r in cr.records if r.predicate_type == COMMIT_PROVENANCE and r.status == RecordStatus.VERIFIED}
        approvals = _approvals(cr, policy, people, signers)
        if approvals < need:
            cr.status = CommitStatus.UNREVIEWED
            cr.reason = f"{approvals} of {need} approving review(s) by reviewers other than the author"
            return
    cr.status, cr.reason = CommitStatus.VERIFIED, ""


def _says_ai(facts: Mapping[str, Any]) -> bool:
    origin = facts.get("origin")
    return (isinstance(origin, str) and origin.startswith("ai-")) or bool(facts.get("aiLines"))


def verify_commits(
    repo: Repo,
    policy: Policy,
    commits: list[str],
    verifier: Verifier | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[CommitResult]:
    """Verify every record of COMMITS in one pass and give each commit its status.

    What was concluded per (commit, note blob) is cached under the policy's digest: an unchanged note
    under an unchanged policy is not verified again.
    """
    from srcprov.trust.cache import VerdictCache

    notes = list_notes(repo, only=commits)
    cache = VerdictCache(repo, policy)
    items: list[tuple[str, bytes]] = []
    owners: list[CommitResult] = []
    results = []
    todo: list[tuple[CommitResult, NoteEntry]] = []
    for cid in commits:
        entry = notes.get(cid)
        cr = CommitResult(cid, CommitStatus.MISSING)
        results.append(cr)
        if entry is None:
            continue
        # Only a note with one entry and a size within bounds was ever cached: no need to read it now.
        cached = None if entry.ambiguous or entry.blob is None else cache.get(cid, entry.blob)
        if cached is not None:
            cr.note_blob = entry.blob
            cr.records.extend(cached)
            continue
        todo.append((cr, entry))
    sizes = blob_sizes(repo, (e.blob for _, e in todo if e.blob is not None)) if len(todo) > 8 else {}
    for cr, entry in todo:
        cid = cr.commit
        note = load_note(repo, entry, sizes.get(entry.blob or ""))
        cr.note_blob = note.blob
        if note.malformed:
            cr.records.append(RecordResult(None, RecordStatus.MALFORMED, reason=note.malformed))
        for line in note.lines:
            items.append((cid, line))
            owners.append(cr)
    v = verifier or Verifier(repo, policy)
    step = None
    if progress is not None:
        cached_n = sum(len(cr.records) for cr in results)
        total = cached_n + len(items)
        progress(cached_n, total)

        def step(done: int, _n: int) -> None:
            progress(cached_n + done, total)

    fresh: dict[int, CommitResult] = {}
    for cr, rr in zip(owners, v.check_lines(items, step), strict=True):
        cr.records.append(rr)
        fresh[id(cr)] = cr
    for cr in fresh.values():
        if cr.note_blob is not None:
            cache.put(cr.commit, cr.note_blob, cr.records)
    cache.save()
    required = required_commits(repo, policy, commits)
    for cr in results:
        cr.required = cr.commit in required
        commit_status(repo, policy, cr)
    return results


def verdict_ok(results: list[CommitResult], strict: bool = False) -> bool:
    """Exit 0 only when every required commit is verified (and, strictly, no record is bad)."""
    if any(cr.required and cr.status != CommitStatus.VERIFIED for cr in results):
        return False
    if strict and any(r.status != RecordStatus.VERIFIED for cr in results for r in cr.records):
        return False
    return True
